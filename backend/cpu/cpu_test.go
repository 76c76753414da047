package cpu

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/furious-lab/furious/backend"
)

// naive computes op(A)·op(B) in float64 with explicit loops: the oracle.
func naive(transA, transB bool, m, n, k int, a []float64, lda int, b []float64, ldb int) []float64 {
	c := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for p := 0; p < k; p++ {
				var x, y float64
				if transA {
					x = a[p*lda+i]
				} else {
					x = a[i*lda+p]
				}
				if transB {
					y = b[j*ldb+p]
				} else {
					y = b[p*ldb+j]
				}
				s += x * y
			}
			c[i*n+j] = s
		}
	}
	return c
}

func randSlice(r *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = r.NormFloat64()
	}
	return s
}

func TestGemmMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	// {300, 70, 130} is large enough to be split by rows over goroutines
	// under OpenBLAS (rowSplit), with a last block shorter than the others.
	for _, tc := range []struct{ m, n, k int }{{1, 1, 1}, {3, 5, 7}, {17, 9, 33}, {64, 65, 66}, {300, 70, 130}} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				m, n, k := tc.m, tc.n, tc.k
				lda, ldb := k, n
				if ta {
					lda = m
				}
				if tb {
					ldb = k
				}
				a, b := randSlice(r, m*k), randSlice(r, k*n)
				want := naive(ta, tb, m, n, k, a, lda, b, ldb)
				// beta = 0.5 with C = 2 adds 1 to every entry.
				c64 := make([]float64, m*n)
				c32 := make([]float32, m*n)
				for i := range c64 {
					c64[i], c32[i] = 2, 2
				}
				Dgemm(ta, tb, m, n, k, 1, a, lda, b, ldb, 0.5, c64, n)
				a32, b32 := to32(a), to32(b)
				Sgemm(ta, tb, m, n, k, 1, a32, lda, b32, ldb, 0.5, c32, n)
				for i := range want {
					if d := math.Abs(c64[i] - (want[i] + 1)); d > 1e-12*float64(k) {
						t.Fatalf("Dgemm %v ta=%v tb=%v: entry %d off by %g", tc, ta, tb, i, d)
					}
					if d := math.Abs(float64(c32[i]) - (want[i] + 1)); d > 1e-5*float64(k) {
						t.Fatalf("Sgemm %v ta=%v tb=%v: entry %d off by %g", tc, ta, tb, i, d)
					}
				}
			}
		}
	}
}

func to32(s []float64) []float32 {
	o := make([]float32, len(s))
	for i, v := range s {
		o[i] = float32(v)
	}
	return o
}

func TestGemmEmptyInnerDimensionScalesC(t *testing.T) {
	c := []float32{1, 2, 3, 4}
	Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 3, c, 2)
	for i, v := range c {
		if v != float32(3*(i+1)) {
			t.Fatalf("k=0, beta=3: c[%d] = %g, want %d", i, v, 3*(i+1))
		}
	}
	d := []float64{1, 2}
	Dgemm(false, false, 1, 2, 0, 1, nil, 1, nil, 2, 0, d, 2)
	if d[0] != 0 || d[1] != 0 {
		t.Fatalf("k=0, beta=0: got %v, want zeros", d)
	}
}

func TestParallelCoversEveryIndexOnce(t *testing.T) {
	old := SetThreads(4)
	defer SetThreads(old)
	for _, n := range []int{0, 1, 7, 100, 1001} {
		for _, grain := range []int{0, 1, 10, 5000} {
			hits := make([]atomic.Int32, n)
			Parallel(n, grain, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					hits[i].Add(1)
				}
			})
			for i := range hits {
				if h := hits[i].Load(); h != 1 {
					t.Fatalf("n=%d grain=%d: index %d visited %d times", n, grain, i, h)
				}
			}
		}
	}
}

func TestSetThreads(t *testing.T) {
	old := SetThreads(3)
	defer SetThreads(old)
	if Threads() != 3 {
		t.Fatalf("Threads() = %d after SetThreads(3)", Threads())
	}
	SetThreads(1)
	if d := New().Describe(); !strings.HasSuffix(d, ", 1 thread") {
		t.Fatalf("Describe() with one thread = %q", d)
	}
	if prev := SetThreads(0); prev != 1 || Threads() < 1 {
		t.Fatalf("SetThreads(0) returned %d, Threads() = %d", prev, Threads())
	}
	d := New().Describe()
	if !strings.HasPrefix(d, "cpu: gonum") || !strings.Contains(d, "threads") {
		t.Fatalf("Describe() = %q", d)
	}
	if c := New().Capabilities(); !c.Has("matmul") || !c.Has("silu") || c.Has("fft") {
		t.Fatalf("capabilities: %v", c.Ops)
	}
	if New().Name() != "cpu" || New().Available() != nil || !New().Capabilities().Float64 {
		t.Fatal("CPU backend identity is wrong")
	}
}

func TestMapErrors(t *testing.T) {
	if err := Map32("cosh", 0, []float32{1}, []float32{0}); !errors.Is(err, backend.ErrNotImplemented) {
		t.Fatalf("unknown function: %v", err)
	}
	if err := Map64("exp", 0, []float64{1, 2}, []float64{0}); err == nil || errors.Is(err, backend.ErrNotImplemented) {
		t.Fatalf("length mismatch: %v", err)
	}
	y := make([]float64, 3)
	if err := Map64("scale", -2, []float64{1, 2, 3}, y); err != nil || y[2] != -6 {
		t.Fatalf("scale: %v %v", err, y)
	}
	if err := (CPU{}).MatMul32(false, false, 2, 2, 2, 2, make([]float32, 4), 4, make([]float32, 8), 4, make([]float32, 8)); err == nil {
		t.Fatal("MatMul32 accepted a too-short a")
	}
}

func TestParallelFor(t *testing.T) {
	for _, workers := range []int{0, 1, 3} {
		const n = 1000
		hits := make([]int32, n)
		ParallelFor(n, workers, func(i int) { atomic.AddInt32(&hits[i], 1) })
		for i, h := range hits {
			if h != 1 {
				t.Fatalf("workers %d: index %d ran %d times", workers, i, h)
			}
		}
	}
	ParallelFor(0, 4, func(int) { t.Fatal("fn called for n = 0") })
	func() {
		defer func() {
			if r := recover(); r != "boom 7" {
				t.Fatalf("recovered %v, want the worker's panic", r)
			}
		}()
		ParallelFor(100, 4, func(i int) {
			if i == 7 {
				panic("boom 7")
			}
		})
		t.Fatal("ParallelFor returned after a panic")
	}()
}

// TestSgemmAllocs checks that a small product (one BLAS call, no row
// split) allocates nothing: the chunked forms make thousands of them.
func TestSgemmAllocs(t *testing.T) {
	x, y, c := make([]float32, 64), make([]float32, 64), make([]float32, 64)
	xd, yd, cd := make([]float64, 64), make([]float64, 64), make([]float64, 64)
	if n := testing.AllocsPerRun(100, func() { Sgemm(false, true, 8, 8, 8, 1, x, 8, y, 8, 0, c, 8) }); n != 0 {
		t.Errorf("Sgemm 8×8×8: %v allocations a call, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { Dgemm(true, false, 8, 8, 8, 1, xd, 8, yd, 8, 0, cd, 8) }); n != 0 {
		t.Errorf("Dgemm 8×8×8: %v allocations a call, want 0", n)
	}
}
