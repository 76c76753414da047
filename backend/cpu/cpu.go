package cpu

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/furious-lab/furious/backend"
)

// CPU is the CPU backend. Its zero value is ready to use; all CPU values
// share the package-wide thread setting.
type CPU struct{}

var (
	_ backend.Backend      = CPU{}
	_ backend.Prober       = CPU{}
	_ backend.MatMuler     = CPU{}
	_ backend.Elementwiser = CPU{}
)

// New returns the CPU backend.
func New() CPU { return CPU{} }

// Name returns "cpu".
func (CPU) Name() string { return "cpu" }

// Kind returns backend.CPU.
func (CPU) Kind() backend.Kind { return backend.CPU }

// Describe is one line, e.g. "cpu: gonum + OpenBLAS 0.3.21 (2 BLAS threads),
// 2 threads" or "cpu: gonum pure-Go BLAS, 2 threads".
func (CPU) Describe() string {
	return fmt.Sprintf("cpu: %s, %s", BLAS(), threadsText(Threads(), "threads"))
}

// threadsText is "1 thread" or "n threads" (word is the plural).
func threadsText(n int, word string) string {
	if n == 1 {
		return "1 " + word[:len(word)-1]
	}
	return fmt.Sprintf("%d %s", n, word)
}

// Ops lists the operations the CPU provides: every operation of package
// tensor, by its lower-case name. The CPU is the reference that other
// backends fall back to.
var Ops = []string{
	"matmul",
	"neg", "square", "abs", "relu", "scale", "addscalar", "exp", "log", "sqrt", "softplus", "sigmoid", "logsigmoid", "silu", "apply",
	"add", "sub", "mul", "div", "maximum", "minimum",
	"sum", "mean", "max", "min", "norm",
	"permute", "transpose", "slice", "concat", "cumsum",
	"gather", "scatteradd", "softmax", "logsoftmax", "softmaxbackward", "logsoftmaxbackward",
	"crossentropy", "crossentropygrad", "cumsumreverse", "rmsnorm", "rmsnormbackward", "rotary",
	"unarygrad", "sumto", "broadcastto", "axpy", "adamw", "causalconv1d", "causalconv1dbackward",
}

// Capabilities: float32 and float64, and every operation in Ops.
func (CPU) Capabilities() backend.Capabilities {
	ops := make(map[string]bool, len(Ops))
	for _, op := range Ops {
		ops[op] = true
	}
	return backend.Capabilities{Float32: true, Float64: true, Ops: ops}
}

// Available always returns nil: the CPU backend works on every build.
func (CPU) Available() error { return nil }

var threads atomic.Int64

func init() {
	n := runtime.NumCPU()
	if s := os.Getenv("FURIOUS_THREADS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		} else {
			fmt.Fprintf(os.Stderr, "furious: ignoring FURIOUS_THREADS=%q (want a positive integer)\n", s)
		}
	}
	threads.Store(int64(n))
}

// Threads is the number of goroutines Parallel uses.
func Threads() int { return int(threads.Load()) }

// SetThreads sets the number of goroutines Parallel (and with it the row
// split of large OpenBLAS products) uses; n < 1 means runtime.NumCPU(). It
// returns the previous value.
func SetThreads(n int) int {
	if n < 1 {
		n = runtime.NumCPU()
	}
	return int(threads.Swap(int64(n)))
}

// BLAS describes the BLAS implementation in use, e.g. "gonum + OpenBLAS
// 0.3.21 (2 BLAS threads)" or "gonum pure-Go BLAS".
func BLAS() string { return blasName() }

// HasOpenBLAS reports whether OpenBLAS is installed as gonum's BLAS.
func HasOpenBLAS() bool { return haveOpenBLAS }

// Parallel calls fn on disjoint ranges [lo, hi) covering [0, n), using up to
// Threads() goroutines and never ranges shorter than grain (except the last).
// Small n runs fn(0, n) on the calling goroutine. fn must be safe to run
// concurrently on disjoint ranges.
func Parallel(n, grain int, fn func(lo, hi int)) {
	if grain < 1 {
		grain = 1
	}
	w := Threads()
	if m := n / grain; m < w {
		w = m
	}
	if w <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	chunk := (n + w - 1) / w
	var wg sync.WaitGroup
	for lo := chunk; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	fn(0, min(chunk, n))
	wg.Wait()
}

// ParallelFor calls fn(i) for every i in [0, n) on up to workers goroutines
// (Threads() when workers < 1), handing out indices one at a time so that
// uneven items balance. With one worker it runs in order on the calling
// goroutine. A panic in fn stops the hand-out and is re-raised in the
// caller once every worker has returned.
func ParallelFor(n, workers int, fn func(i int)) {
	if workers < 1 {
		workers = Threads()
	}
	workers = min(workers, n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var (
		wg       sync.WaitGroup
		next     atomic.Int64
		stop     atomic.Bool
		mu       sync.Mutex
		panicked any
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					if panicked == nil {
						panicked = r
					}
					mu.Unlock()
					stop.Store(true)
				}
			}()
			for !stop.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
}
