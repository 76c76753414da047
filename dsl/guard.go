package dsl

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/furious-lab/furious/tensor"
	"github.com/traefik/yaegi/interp"
)

// The guards: compiled helpers that the rewritten cells call (rewrite.go),
// for the failures yaegi cannot hook. They are imported into every session
// as guardName.
const (
	guardName = "_furious_guard"
	guardPath = "github.com/furious-lab/furious/dsl/guard"
)

// DefaultMaxDepth is the recursion limit when FURIOUS_MAX_DEPTH is unset:
// how deep a goroutine's interpreted calls may nest once a cell's recursive
// function is among them. Without a limit, unbounded recursion runs for
// seconds until Go's 1 GB stack limit ends the process. The limit is kept
// at 10 000 because yaegi recovers and panics again at every interpreted
// level, so unwinding n levels costs O(n²): about 2 s at 10 000 on a 2-core
// machine when it was set, 4.5-5.3 s there on 2026-12-06 (a cell recursing
// without end, descent and unwinding), 0.4 s at 2 000 (TestRecursionLimit).
const DefaultMaxDepth = 10000

// guard is the per-session state the helpers share.
type guard struct {
	calls    atomic.Uint64 // calls of instrumented recursive functions, for sampling
	maxDepth int64
	cellG    atomic.Uint64 // the goroutine running the current cell's statements
	stderr   io.Writer

	mu     sync.Mutex
	panics []string // panics recovered in other goroutines while a cell ran
}

func newGuard(stderr io.Writer) *guard {
	g := &guard{maxDepth: DefaultMaxDepth, stderr: stderr}
	if v, err := strconv.ParseInt(os.Getenv("FURIOUS_MAX_DEPTH"), 10, 64); err == nil && v > 0 {
		g.maxDepth = v
	}
	return g
}

// exports are the helpers as yaegi symbols, and the compiled functions
// that run a function they are given on a goroutine of their own, in place
// of the standard library's (time.AfterFunc, context.AfterFunc).
func (g *guard) exports() interp.Exports {
	return interp.Exports{
		guardPath + "/guard": {
			"Mark":      reflect.ValueOf(g.mark),
			"Recovered": reflect.ValueOf(g.recovered),
			"Enter":     reflect.ValueOf(g.enter),
			"Len":       reflect.ValueOf(g.makeLen),
			"Cap":       reflect.ValueOf(g.appendCap),
		},
		"time/time":       {"AfterFunc": reflect.ValueOf(g.afterFunc)},
		"context/context": {"AfterFunc": reflect.ValueOf(g.contextAfterFunc)},
	}
}

// afterFunc is time.AfterFunc with f guarded on the timer's goroutine, in
// whatever form f came (a method value, a function a call returned), where
// the rewrite (rewrite.go) guards only literals and the session's named
// functions, whose signatures it can see; those report first, with where
// they were written.
func (g *guard) afterFunc(d time.Duration, f func()) *time.Timer {
	return time.AfterFunc(d, g.guarded(f, "a function passed to time.AfterFunc"))
}

// contextAfterFunc is context.AfterFunc with f guarded as afterFunc does.
func (g *guard) contextAfterFunc(ctx context.Context, f func()) (stop func() bool) {
	return context.AfterFunc(ctx, g.guarded(f, "a function passed to context.AfterFunc"))
}

// guarded is f with its panic handled by recovered.
func (g *guard) guarded(f func(), where string) func() {
	return func() {
		defer func() { g.recovered(recover(), where) }()
		f()
	}
}

// goid is the running goroutine's id, read from its stack header
// ("goroutine 18 [running]:"). Only called once per cell and on a panic.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		n, _ := strconv.ParseUint(string(b[:i]), 10, 64)
		return n
	}
	return 0
}

// mark records the goroutine that runs a cell's statements; a rewritten
// cell calls it first.
func (g *guard) mark() { g.cellG.Store(goid()) }

// recovered handles r, recovered by the guard of a goroutine or of a
// function literal that compiled code calls. On the cell's own goroutine
// the panic goes on (it becomes the cell's error as any panic does);
// elsewhere it is printed on stderr with where the function came from and
// kept for the running cell's error.
func (g *guard) recovered(r any, where string) {
	if r == nil {
		return
	}
	if goid() == g.cellG.Load() {
		panic(r)
	}
	msg := fmt.Sprintf("panic in %s: %v", where, r)
	fmt.Fprintln(g.stderr, msg+" (recovered by furious; the session's state is kept)")
	g.mu.Lock()
	g.panics = append(g.panics, msg)
	g.mu.Unlock()
}

// takePanics returns and forgets the panics recovered since the last call.
func (g *guard) takePanics() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := g.panics
	g.panics = nil
	return p
}

// RecursionError is the panic of a call deeper than the recursion limit.
type RecursionError struct {
	Func  string
	Depth int64 // interpreted calls active on the goroutine, about
	Limit int64
}

func (e *RecursionError) Error() string {
	return fmt.Sprintf("recursion too deep: %s called with about %d interpreted calls active on its goroutine, "+
		"more than the limit of %d (FURIOUS_MAX_DEPTH; Go's stack would overflow, a fatal error)", e.Func, e.Depth, e.Limit)
}

// sampleEvery is how often (in calls of recursive functions) enter looks
// at the depth of the calling goroutine.
const sampleEvery = 256

// stackBase is about how many Go frames a goroutine running interpreted
// code has below its first interpreted call; each interpreted call adds 2
// (yaegi v0.16: runCfg and the call closure).
const stackBase, framesPerCall = 64, 2

var callerBufs = sync.Pool{New: func() any { return new([]uintptr) }}

// enter is called first by the cell's recursive function name. Every
// sampleEvery calls it counts the Go frames of the calling goroutine
// (runtime.Callers, stopped at the limit) and panics with a
// *RecursionError when they stand for more than maxDepth interpreted
// calls. No matching exit is needed, so the cost per call is one atomic
// add and a compiled call.
func (g *guard) enter(name string) {
	if g.calls.Add(1)%sampleEvery != 0 {
		return
	}
	limit := int(stackBase + framesPerCall*g.maxDepth)
	bp := callerBufs.Get().(*[]uintptr)
	if len(*bp) < limit+1 {
		*bp = make([]uintptr, limit+1)
	}
	n := runtime.Callers(1, (*bp)[:limit+1])
	callerBufs.Put(bp)
	if n > limit {
		panic(&RecursionError{Func: name, Depth: int64(n-stackBase) / framesPerCall, Limit: g.maxDepth})
	}
}

// MemoryError is the panic of a make or append larger than FURIOUS_MEM_LIMIT
// (tensor.SetMemoryLimit) or than the memory available.
type MemoryError struct {
	Call  string // the make call, e.g. "make([]float64, 1<<36)"
	Bytes int64
	Msg   string
}

func (e *MemoryError) Error() string {
	return fmt.Sprintf("%s needs %s, %s", e.Call, tensor.FormatBytes(e.Bytes), e.Msg)
}

// appendCap checks that append(s, more...) (more a slice or a string)
// fits the memory limit, and returns cap(s).
func (g *guard) appendCap(s any, more any, call string) int {
	v := reflect.ValueOf(s)
	if v.Kind() != reflect.Slice {
		panic(fmt.Sprintf("%s: first argument of type %T is not a slice", call, s))
	}
	add := 0
	if mv := reflect.ValueOf(more); mv.Kind() == reflect.Slice || mv.Kind() == reflect.String {
		add = mv.Len()
	}
	if n := v.Len() + add; n > v.Cap() {
		g.checkBytes(call, int64(n), int64(v.Type().Elem().Size()))
	}
	return v.Cap()
}

// checkBytes panics with a *MemoryError when n elements of elem bytes are
// more than the limit or the memory available.
func (g *guard) checkBytes(call string, n, elem int64) {
	if elem == 0 {
		elem = 1
	}
	bytes := n * elem
	if n != 0 && bytes/elem != n {
		bytes = 1 << 62
	}
	if lim := tensor.MemoryLimit(); lim > 0 && bytes > lim {
		panic(&MemoryError{Call: call, Bytes: bytes, Msg: "more than the limit of " + tensor.FormatBytes(lim) + " (FURIOUS_MEM_LIMIT, tensor.SetMemoryLimit)"})
	}
	if bytes > 64<<20 {
		if avail := tensor.AvailableMemory(); avail >= 0 && bytes > avail {
			panic(&MemoryError{Call: call, Bytes: bytes, Msg: "more than the " + tensor.FormatBytes(avail) + " of memory available"})
		}
	}
}

// makeLen checks the length or capacity n of make(T, ...) against the
// memory limit and returns it as an int; zero is a nil value of T (for its
// element size) and call the text of the make call.
func (g *guard) makeLen(zero any, n any, call string) int {
	v := reflect.ValueOf(n)
	var c int64
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		c = v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if v.Uint() > 1<<62 {
			c = 1 << 62
		} else {
			c = int64(v.Uint())
		}
	case reflect.Float32, reflect.Float64: // an untyped constant such as 1e6
		c = int64(v.Float())
	default:
		panic(fmt.Sprintf("%s: size argument of type %T", call, n))
	}
	if c < 0 {
		panic(fmt.Sprintf("%s: negative size %d", call, c))
	}
	elem := int64(1)
	if t := reflect.TypeOf(zero); t != nil {
		switch t.Kind() {
		case reflect.Slice, reflect.Chan:
			elem = int64(t.Elem().Size())
		case reflect.Map:
			elem = int64(t.Key().Size() + t.Elem().Size())
		}
	}
	g.checkBytes(call, c, elem)
	if c > int64(^uint(0)>>1) {
		c = int64(^uint(0) >> 1)
	}
	return int(c)
}
