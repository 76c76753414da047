package dsl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/furious-lab/furious/display"
	"github.com/furious-lab/furious/tensor"
)

// syncBuf is a bytes.Buffer safe for the session's goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newSession(t *testing.T) (*Session, *syncBuf, *syncBuf) {
	t.Helper()
	var out, errb syncBuf
	s, err := New(Options{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader("")})
	if err != nil {
		t.Fatal(err)
	}
	return s, &out, &errb
}

// run evaluates a cell and returns its text/plain result ("" when none).
func run(t *testing.T, s *Session, cell string) string {
	t.Helper()
	d, ok, err := s.Eval(context.Background(), cell)
	if err != nil {
		t.Fatalf("cell %q: %v", cell, err)
	}
	if !ok {
		return ""
	}
	txt, _ := d.Data[display.MIMEText].(string)
	return txt
}

func TestEvalCells(t *testing.T) {
	s, out, _ := newSession(t)
	cases := []struct{ cell, want string }{
		{"1+1", "2"},
		{"x := 40\nx + 2", "42"},
		{"import \"strings\"\nfunc shout(s string) string { return strings.ToUpper(s) + \"!\" }\nshout(\"hi\")", `"HI!"`},
		{"func f() int { return 1 }", ""},
		{"func f() int { return 2 }\nf()", "2"},
		{"var y = 5\ny * 2", "10"},
		{"import \"fmt\"\nfmt.Println(\"printed\")", ""},
		{"type P struct{ X, Y int }\np := P{1, 2}\np", "{1 2}"},
		{"type P struct{ X, Y int }\np.X", "1"},
		{"import \"math\"\nmath.Sqrt(16)", "4"},
		{"import \"gonum.org/v1/gonum/mat\"\nm := mat.NewDense(2, 2, []float64{1, 2, 3, 4})\nmat.Det(m)", "-2"},
		{"t := tensor.New(tensor.Float32, 2, 3)\nt.Len()", "6"},
		{"for i := 0; i < 3; i++ { x++ }\nx", "43"},
		{"go func() { fmt.Println(\"from goroutine\") }()\ntime := 1\ntime", "1"},
	}
	for _, c := range cases {
		if got := run(t, s, c.cell); got != c.want {
			t.Errorf("cell %q = %q, want %q", c.cell, got, c.want)
		}
	}
	if !strings.Contains(out.String(), "printed\n") {
		t.Errorf("stdout %q lacks the printed line", out.String())
	}
}

type htmlCell struct{}

func TestRenderInterpretedMethods(t *testing.T) {
	s, _, _ := newSession(t)
	d, ok, err := s.Eval(context.Background(), "type H struct{}\nfunc (H) HTML() string { return \"<b>hi</b>\" }\nH{}")
	if err != nil || !ok {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	if d.Data[display.MIMEHTML] != "<b>hi</b>" {
		t.Errorf("bundle %v lacks the HTML", d.Data)
	}
	d, ok, err = s.Eval(context.Background(), "display.Markdown(\"# T\")")
	if err != nil || !ok || d.Data[display.MIMEMarkdown] != "# T" {
		t.Errorf("display.Markdown: %v %v %v", d.Data, ok, err)
	}
}

func TestErrorsKeepState(t *testing.T) {
	s, _, _ := newSession(t)
	run(t, s, "z := 7")
	_, _, err := s.Eval(context.Background(), "a := 1\nb := undefinedName + 2")
	var e *Error
	if !errors.As(err, &e) || e.Name != "CompileError" || !strings.Contains(e.Value, "cell 2:6: undefined: undefinedName") {
		t.Fatalf("compile error = %#v, want CompileError at cell 2:", err)
	}
	_, _, err = s.Eval(context.Background(), "func boom() { panic(\"deep\") }\n\nboom()")
	if !errors.As(err, &e) || e.Name != "panic" || e.Value != "deep" {
		t.Fatalf("panic error = %#v", err)
	}
	if !strings.Contains(strings.Join(e.Traceback, "\n"), "cell 1:") {
		t.Errorf("traceback %q has no cell position", e.Traceback)
	}
	if got := run(t, s, "z"); got != "7" {
		t.Errorf("after errors z = %q", got)
	}
	_, _, err = s.Eval(context.Background(), "type P struct{A int}")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Eval(context.Background(), "type P struct{A, B int}")
	if !errors.As(err, &e) || !strings.Contains(e.Value, "restart") {
		t.Errorf("type redefinition error = %v", err)
	}
}

func TestInterrupt(t *testing.T) {
	s, _, _ := newSession(t)
	run(t, s, "n := 3")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(200 * time.Millisecond); cancel() }()
	start := time.Now()
	_, _, err := s.Eval(ctx, "for { n++ }")
	var e *Error
	if !errors.As(err, &e) || e.Name != "Interrupted" {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 1200*time.Millisecond {
		t.Errorf("interrupt took %v", d)
	}
	if got := run(t, s, "n > 3"); got != "true" {
		t.Errorf("n > 3 = %q after interrupt", got)
	}
}

// A panic in a goroutine started by a function literal or by name, or in
// a callback that compiled code runs on its own goroutine, fails the
// running cell naming where it came from, and the session goes on.
func TestGoroutinePanicIsRecovered(t *testing.T) {
	s, _, errb := newSession(t)
	run(t, s, "import \"time\"\nkeep := 41\nfunc boomG(s string) { panic(s) }")
	for _, c := range []struct{ cell, want string }{
		{"go func() { panic(\"in literal\") }()\ntime.Sleep(100 * time.Millisecond)", "the goroutine started at cell 1:1: in literal"},
		{"go boomG(\"by name\")\ntime.Sleep(100 * time.Millisecond)", "goroutine boomG started at cell 1:1: by name"},
		{"fs := []func(string){boomG}\ngo fs[0](\n\t\"from a slice\",\n)\ntime.Sleep(100 * time.Millisecond)", "the goroutine started at cell 2:1: from a slice"},
		{"mk := func() func() { return func() { panic(\"made by a call\") } }\nfor i := 0; i < 2; i++ { go mk()() }\ntime.Sleep(100 * time.Millisecond)",
			"the goroutine started at cell 2:26: made by a call"},
		{"time.AfterFunc(10*time.Millisecond, func() { panic(\"callback\") })\ntime.Sleep(100 * time.Millisecond)",
			"passed to time.AfterFunc: callback"},
		{"hv := func() { panic(\"by a variable\") }\ntime.AfterFunc(10*time.Millisecond, hv)\ntime.Sleep(100 * time.Millisecond)",
			"function hv passed to time.AfterFunc at cell 2:37: by a variable"},
		{"type boomer struct{ s string }\nfunc (b boomer) boom() { panic(b.s) }\nbm := boomer{\"by a method value\"}\n" +
			"time.AfterFunc(10*time.Millisecond, bm.boom)\ntime.Sleep(100 * time.Millisecond)",
			"panic in a function passed to time.AfterFunc: by a method value"},
		{"import \"context\"\nctx, cancel := context.WithCancel(context.Background())\n" +
			"mkBoom := func() func() { return func() { panic(\"made by a call\") } }\ncontext.AfterFunc(ctx, mkBoom())\ncancel()\ntime.Sleep(100 * time.Millisecond)",
			"panic in a function passed to context.AfterFunc: made by a call"},
	} {
		_, _, err := s.Eval(context.Background(), c.cell)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.cell, err, c.want)
		}
		if !strings.Contains(errb.String(), c.want) {
			t.Errorf("stderr %q lacks %q", errb.String(), c.want)
		}
		if got := run(t, s, "keep + 1"); got != "42" {
			t.Errorf("after %q: keep + 1 = %q", c.cell, got)
		}
	}
	// A function of the session passed by name as a callback is guarded
	// too, and still works as itself.
	run(t, s, "func boomCB() { panic(\"named callback\") }\nfunc upper(r rune) rune { return r - 32 }")
	_, _, err := s.Eval(context.Background(), "time.AfterFunc(10*time.Millisecond, boomCB)\ntime.Sleep(100 * time.Millisecond)")
	if err == nil || !strings.Contains(err.Error(), "function boomCB passed to time.AfterFunc at cell 1:37: named callback") {
		t.Errorf("named callback: %v", err)
	}
	if got := run(t, s, "import \"strings\"\nstrings.Map(upper, \"abc\")"); got != `"ABC"` {
		t.Errorf("strings.Map(upper, ...) = %q", got)
	}
	// The arguments of a go statement are evaluated by the statement.
	run(t, s, "ch := make(chan int, 3)\nfunc send(c chan int, v int) { c <- v }")
	if got := run(t, s, "for i := 0; i < 3; i++ { go send(ch, i*10) }\nsum := 0\nfor j := 0; j < 3; j++ { sum += <-ch }\nsum"); got != "30" {
		t.Errorf("sum of the goroutines' values %q, want 30", got)
	}
	// A panic in a callback called on the cell's goroutine is the cell's panic.
	_, _, err = s.Eval(context.Background(), "import \"sort\"\nxs := []int{3, 1, 2}\nsort.Slice(xs, func(i, j int) bool { panic(\"in less\") })")
	if err == nil || !strings.Contains(err.Error(), "in less") {
		t.Errorf("sort.Slice callback panic: %v", err)
	}
}

// A compiled call (time.Sleep) cannot be stopped, but the cell returns
// after the grace period (interruptGrace), the statements after the call
// never run, and the error says that closures kept from before no longer run.
func TestInterruptCompiledCall(t *testing.T) {
	s, _, _ := newSession(t)
	run(t, s, "import \"time\"\nm := 1")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	start := time.Now()
	_, _, err := s.Eval(ctx, "time.Sleep(1500 * time.Millisecond)\nm = 2")
	var e *Error
	if !errors.As(err, &e) || e.Name != "Interrupted" || time.Since(start) > 100*time.Millisecond+interruptGrace+400*time.Millisecond {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
	if !strings.Contains(strings.Join(e.Traceback, "\n"), "no longer run") {
		t.Errorf("a forced stop's traceback does not warn about stale closures: %q", e.Traceback)
	}
	time.Sleep(1700 * time.Millisecond)
	if got := run(t, s, "m"); got != "1" {
		t.Errorf("m = %s: the interrupted cell went on after its sleep", got)
	}
}

func TestCompleteAndInspect(t *testing.T) {
	s, _, _ := newSession(t)
	run(t, s, "type Rec struct{ Alpha int; beta string }\nfunc (r Rec) Sum() int { return r.Alpha }\nfunc (r *Rec) Reset() {}\nrv := Rec{1, \"x\"}")
	m, start, end := s.Complete("rv.", 3)
	for _, want := range []string{"Alpha", "beta", "Sum", "Reset"} {
		if !contains(m, want) {
			t.Errorf("rv. completions %v lack %s", m, want)
		}
	}
	if start != 3 || end != 3 {
		t.Errorf("range %d..%d", start, end)
	}
	if m, _, _ := s.Complete("é := 1; strings.HasP", 20); len(m) != 1 || m[0] != "HasPrefix" {
		t.Errorf("strings.HasP: %v", m)
	}
	if txt, ok := s.Inspect("strings.HasPrefix", 9); !ok || !strings.Contains(txt, "func HasPrefix(s, prefix string) bool") {
		t.Errorf("inspect: %v %q", ok, txt)
	}
	if txt, ok := s.Inspect("len", 1); !ok || !strings.Contains(txt, "func len(") {
		t.Errorf("inspect builtin: %v %q", ok, txt)
	}
	for code, want := range map[string]string{"x := 1": "complete", "func f() {": "incomplete", "x := )": "invalid",
		"s := `a": "incomplete", "for i := 0; i < 3; i++ {": "incomplete", "a := 1 +": "incomplete"} {
		if got, _ := IsComplete(code); got != want {
			t.Errorf("IsComplete(%q) = %s, want %s", code, got, want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// An interrupt reaches compiled primitives through tensor.Interrupt: a long
// ssd call stops at its next chunk, and the next cell runs normally.
func TestInterruptReachesCompiledPrimitives(t *testing.T) {
	s, _, _ := newSession(t)
	run(t, s, "q := tensor.NewRNG(1).Randn(1, 8, 4096, 64)")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	// Calls enough that the cell cannot end by itself around the cancel
	// (one call alone sometimes finished just as it came, before the
	// watcher ran, and the flag was rightly never raised).
	_, _, err := s.Eval(ctx, "for i := 0; i < 1000; i++ {\n\ty := ssd.Quadratic(q, q, q, nil, ssd.Options{Order: 2})\n\t_ = y\n}")
	var e *Error
	if !errors.As(err, &e) || e.Name != "Interrupted" {
		t.Fatalf("err = %v", err)
	}
	if !tensor.Interrupted() {
		t.Fatal("the interrupt did not reach tensor.Interrupt")
	}
	if got := run(t, s, "q.Dim(2)"); got != "4096" || tensor.Interrupted() {
		t.Fatalf("next cell: %q, flag still set: %v", got, tensor.Interrupted())
	}
}

// A runner that cancels each cell's context as the cell ends must not leave
// an interrupt behind for the next cell: once stop has returned, the watcher
// must not raise the flag. (Before the fix, a watcher that had not yet run
// saw both channels ready and chose at random: about half the iterations.)
func TestCancelAfterCellDoesNotInterruptTheNext(t *testing.T) {
	for i := 0; i < 200; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		stop := watchInterrupt(ctx)
		stop()
		cancel()
		time.Sleep(50 * time.Microsecond)
		if tensor.Interrupted() {
			tensor.ClearInterrupt()
			t.Fatalf("iteration %d: a cancel after stop raised the interrupt flag", i)
		}
	}
}

// Statements joined by ';' on one line stay separate statements, also next
// to a declaration that is hoisted out of the line.
func TestSemicolonsOnOneLine(t *testing.T) {
	s, _, _ := newSession(t)
	for cell, want := range map[string]string{
		"x := 1; x = 2\nx": "2",
		"type P struct{ A int }\nvar b P; b.A = 3\nb.A": "3",
		"c := 1; c++; c++\nc":                           "3",
	} {
		if got := run(t, s, cell); got != want {
			t.Errorf("%q = %q, want %q", cell, got, want)
		}
	}
}

// A cell ending in a call with no results shows nothing, not a stale value
// of an earlier cell (yaegi returns one for compiled void functions).
func TestVoidCallShowsNoResult(t *testing.T) {
	s, _, _ := newSession(t)
	run(t, s, "bar := display.NewProgress(2, \"x\")\nbar")
	for _, cell := range []string{"import \"sort\"\nxs := []int{2, 1}\nsort.Ints(xs)", "func() {}()", "bar.Add(1)"} {
		if _, ok, err := s.Eval(context.Background(), cell); ok || err != nil {
			t.Errorf("%q: result shown (%v) or error %v", cell, ok, err)
		}
	}
	if got := run(t, s, "xs[0]"); got != "1" {
		t.Errorf("sort.Ints did not run: xs[0] = %s", got)
	}
}

// Recursion deeper than the limit fails naming the function, in the cell's
// goroutine and in a goroutine it started; the session goes on.
func TestRecursionLimit(t *testing.T) {
	s, _, _ := newSession(t)
	s.guard.maxDepth = 2000
	run(t, s, "keep := 1\nfunc rec(n int) int { return rec(n+1) + 1 }\nfunc even(n int) bool { if n == 0 { return true }; return odd(n-1) }\nfunc odd(n int) bool { if n == 0 { return false }; return even(n-1) }")
	start := time.Now()
	_, _, err := s.Eval(context.Background(), "rec(0)")
	if err == nil || !strings.Contains(err.Error(), "recursion too deep: rec") {
		t.Fatalf("rec(0): %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the recursion limit took %v", d)
	}
	if got := run(t, s, "even(1000)"); got != "true" {
		t.Errorf("even(1000) = %q", got)
	}
	if got := run(t, s, "keep + 1"); got != "2" {
		t.Errorf("keep + 1 = %q", got)
	}
	// The limit is per goroutine: many goroutines recursing at once, more
	// calls in all than the limit, are fine.
	run(t, s, "import (\"sync\"; \"time\")\nfunc down(n int) int { if n == 0 { time.Sleep(50 * time.Millisecond); return 0 }; return down(n-1) + 1 }")
	if got := run(t, s, "var wg sync.WaitGroup\nvar mu sync.Mutex\ntotal := 0\n"+
		"for i := 0; i < 50; i++ { wg.Add(1); go func() { defer wg.Done(); v := down(100); mu.Lock(); total += v; mu.Unlock() }() }\n"+
		"wg.Wait()\ntotal"); got != "5000" {
		t.Errorf("50 goroutines recursing 100 deep: total %q, want 5000", got)
	}
	run(t, s, "go rec(0)")
	start = time.Now()
	for {
		s.guard.mu.Lock()
		p := strings.Join(s.guard.panics, "\n")
		s.guard.mu.Unlock()
		if strings.Contains(p, "goroutine rec started at cell 1:1: recursion too deep: rec") {
			t.Logf("the goroutine's recursion stopped after %v", time.Since(start))
			break
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("go rec(0): no panic reported: %q", p)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// make beyond the memory limit fails naming the size; the session goes on.
func TestMakeBeyondMemory(t *testing.T) {
	s, _, _ := newSession(t)
	run(t, s, "keep := 1")
	_, _, err := s.Eval(context.Background(), "x := make([]float64, 1<<36)\nlen(x)")
	if err == nil || !strings.Contains(err.Error(), "make([]float64, 1<<36) needs 512.0 GiB") {
		t.Fatalf("make 1<<36: %v", err)
	}
	old := tensor.SetMemoryLimit(1 << 20)
	defer tensor.SetMemoryLimit(old)
	_, _, err = s.Eval(context.Background(), "n := 1 << 18\nm := make(map[int64]int64, n)")
	if err == nil || !strings.Contains(err.Error(), "4.0 MiB, more than the limit of 1.0 MiB") {
		t.Errorf("make map: %v", err)
	}
	_, _, err = s.Eval(context.Background(), "small := []int64{1}\nbig := make([]int64, 1<<17)\nsmall = append(small, big...)")
	if err == nil || !strings.Contains(err.Error(), "append(small, big...) needs 1.0 MiB, more than the limit of 1.0 MiB") {
		t.Errorf("append beyond the limit: %v", err)
	}
	if got := run(t, s, "small = append(small, 2, 3)\nsmall = append(small, small...)\nlen(small)"); got != "6" {
		t.Errorf("appends within the limit: len %q, want 6", got)
	}
	if got := run(t, s, "y := make([]byte, 10, 1000)\nlen(y) + cap(y) + keep"); got != "1011" {
		t.Errorf("small make: %q", got)
	}
}

// Help comes from the documentation embedded in the binary: with no source
// tree (GOROOT pointing nowhere, run outside the module) ssd.Chunked? still
// answers; Shift-Tab inside a call's parentheses inspects the callee;
// pkg.Var.Method and value.Method show the method; completion after
// "pkg.Var." and "value." lists fields and methods.
func TestHelpWithoutSource(t *testing.T) {
	t.Setenv("GOROOT", t.TempDir())
	t.Chdir(t.TempDir())
	s, _, _ := newSession(t)
	for _, c := range []struct {
		code   string
		cursor int
		want   string
	}{
		{"ssd.Chunked", 11, "func Chunked("},
		{"x := ssd.Chunked(", 17, "func Chunked("},
		{"y := strings.Repeat(\"a\", ", 25, "func Repeat(s string, count int) string"},
		{"ssd.TwoMamba.Memory", 19, "func (v Variant) Memory("},
		{"fmt", 3, "package fmt"},
		{"len", 3, "func len(v Type) int"},
	} {
		if txt, ok := s.Inspect(c.code, c.cursor); !ok || !strings.Contains(txt, c.want) {
			t.Errorf("Inspect(%q, %d) = %v %q, want %q", c.code, c.cursor, ok, txt, c.want)
		}
	}
	run(t, s, "v := ssd.TwoMamba")
	if txt, ok := s.Inspect("v.Memory", 8); !ok || !strings.Contains(txt, "func (v Variant) Memory(") {
		t.Errorf("value.Method: %v %q", ok, txt)
	}
	for _, code := range []string{"ssd.TwoMamba.", "v."} {
		m, _, _ := s.Complete(code, len(code))
		if !slices.Contains(m, "Memory") || !slices.Contains(m, "Options") {
			t.Errorf("Complete(%q) = %v, want Memory and Options among them", code, m)
		}
	}
}

// Issue 16: interrupting a cell that runs nn.Trainer.Run and running Run
// again in the next cell resumes training with the same callbacks. The
// OnProgress literal is kept in a field; before the grace period, yaegi's
// stop at the interrupt made it (and every such closure) silently do
// nothing afterwards, so progress bars and live plots froze. Now the
// interrupt reaches Run through tensor.Interrupt, the cell stops by itself
// and no closure dies.
func TestInterruptedTrainerResumesWithItsCallbacks(t *testing.T) {
	s, _, errb := newSession(t)
	run(t, s, `import "context"
import "time"
w := nn.Param(tensor.Zeros64(3))
steps, seen, reports := 0, 0, 0
tr := nn.NewTrainer([]*nn.Var{w}, nn.Schedule{Peak: 1e-2, Total: 120}, func(i int) (*nn.Var, int) {
	steps++
	time.Sleep(2 * time.Millisecond)
	return nn.Sum(nn.Square(nn.AddScalar(w, -1))), 1
})
tr.EvalEvery = 10
tr.Eval = func() float64 { return nn.Sum(nn.Square(nn.AddScalar(w, -1))).Item() }
tr.OnProgress = func(p nn.Progress) { seen, reports = p.Step, reports+1 }
square := func(x int) int { return x * x }`)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	_, _, err := s.Eval(ctx, "err := tr.Run(context.Background())\nif err != nil {\n\tpanic(err)\n}")
	var e *Error
	if !errors.As(err, &e) || e.Name != "Interrupted" {
		t.Fatalf("interrupted Run: %v", err)
	}
	first := run(t, s, `fmt.Sprint(tr.Done(), seen, reports)`)
	var done, seen0, reports0 int
	fmt.Sscan(strings.Trim(first, `"`), &done, &seen0, &reports0)
	if done == 0 || done >= 120 || seen0 != done || reports0 != done {
		t.Fatalf("after the interrupt: done, seen, reports = %s; want one report per whole step, stopped early", first)
	}
	if got := run(t, s, `err := tr.Run(context.Background()); fmt.Sprint(err, tr.Done(), seen, reports, len(tr.History), square(7))`); got != `"<nil> 120 120 120 120 49"` {
		t.Fatalf("resumed Run: err, done, last reported step, reports, history, a closure kept from before = %s; want <nil> 120 120 120 120 49\nstderr: %s", got, errb.String())
	}
	if got := run(t, s, `n := 0
for _, r := range tr.History {
	if !math.IsNaN(r.TestLoss) {
		n++
	}
}
n`); got != "12" {
		t.Fatalf("%s evaluations recorded, want 12 (every 10 steps, none lost to the interrupt)", got)
	}
}
