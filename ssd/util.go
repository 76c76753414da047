package ssd

import (
	"fmt"
	"math"
	"runtime"
	"sync/atomic"

	"github.com/furious-lab/furious/backend/cpu"
	"github.com/furious-lab/furious/tensor"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// float is the element type of the internal kernels (backend/cpu's one
// constraint); the exported API is not generic (yaegi cannot export
// generics), it dispatches on the tensor dtype.
type float = cpu.Float

// alloc returns a zeroed scratch slice of n elements, allocated through
// tensor.New so that the memory cap applies.
func alloc[T float](n int) []T {
	var z T
	if _, ok := any(z).(float64); ok {
		return any(tensor.New(tensor.Float64, n).Float64s()).([]T)
	}
	return any(tensor.New(tensor.Float32, n).Float32s()).([]T)
}

// data returns the host slice of t as []T.
func data[T float](t *tensor.Tensor) []T {
	var z T
	if _, ok := any(z).(float64); ok {
		return any(t.Float64s()).([]T)
	}
	return any(t.Float32s()).([]T)
}

// newT allocates a tensor of the dtype matching T.
func newT[T float](shape ...int) *tensor.Tensor {
	var z T
	if _, ok := any(z).(float64); ok {
		return tensor.New(tensor.Float64, shape...)
	}
	return tensor.New(tensor.Float32, shape...)
}

// gemm computes C = alpha·op(A)·op(B) + beta·C on row-major slices,
// op(A) m×k, op(B) k×n: backend/cpu's Sgemm or Dgemm (OpenBLAS when
// plugged in).
func gemm[T float](tA, tB bool, m, n, k int, alpha float64, a []T, lda int, b []T, ldb int, beta float64, c []T, ldc int) {
	switch cs := any(c).(type) {
	case []float64:
		cpu.Dgemm(tA, tB, m, n, k, alpha, any(a).([]float64), lda, any(b).([]float64), ldb, beta, cs, ldc)
	case []float32:
		cpu.Sgemm(tA, tB, m, n, k, float32(alpha), any(a).([]float32), lda, any(b).([]float32), ldb, float32(beta), cs, ldc)
	}
}

var workerLimit atomic.Int64

// SetWorkers caps the goroutines that run heads (b, h) in parallel and
// returns the previous cap; 0 means GOMAXPROCS. OpenBLAS runs one thread per
// call (backend/cpu), so heads in parallel do not oversubscribe the cores.
func SetWorkers(n int) int {
	if n < 0 {
		tensor.Errorf("ssd.SetWorkers", "n", "is %d, want ≥ 0", n)
	}
	return int(workerLimit.Swap(int64(n)))
}

// parallel runs fn(i) for i in [0, n) on up to GOMAXPROCS goroutines (or the
// SetWorkers cap) through backend/cpu's ParallelFor, checking for an
// interrupt before each item. A panic in a worker is re-raised in the caller.
func parallel(n int, fn func(i int)) {
	workers := runtime.GOMAXPROCS(0)
	if w := int(workerLimit.Load()); w > 0 && w < workers {
		workers = w
	}
	cpu.ParallelFor(n, workers, func(i int) {
		tensor.CheckInterrupt("ssd")
		fn(i)
	})
}

// checkFinite panics with an ErrNotFinite *tensor.Error naming op when t
// holds a NaN or an Inf.
func checkFinite(op string, t *tensor.Tensor) *tensor.Tensor {
	bad := -1
	if t.DType() == tensor.Float64 {
		if !parAllFinite(t.Float64s()) {
			for i, x := range t.Float64s() {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					bad = i
					break
				}
			}
		}
	} else if !parAllFinite(t.Float32s()) {
		for i, x := range t.Float32s() {
			if x != x || x > math.MaxFloat32 || x < -math.MaxFloat32 {
				bad = i
				break
			}
		}
	}
	if bad >= 0 {
		panic(&tensor.Error{Op: op, Arg: "output", Kind: tensor.ErrNotFinite,
			Msg: fmt.Sprintf("produced %v at %v of shape %s (check the inputs and the decay)",
				t.Data()[bad], unflatten(bad, t.Shape()), tensor.ShapeString(t.Shape()))})
	}
	return t
}

func unflatten(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = i % shape[d]
			i /= shape[d]
		}
	}
	return idx
}

// ipow returns x^p for an integer p ≥ 1.
func ipow(x float64, p int) float64 {
	r := x
	for i := 1; i < p; i++ {
		r *= x
	}
	return r
}

// sameDType panics unless every non-nil tensor has the dtype of ref.
func sameDType(op string, ref *tensor.Tensor, names []string, ts ...*tensor.Tensor) {
	for i, t := range ts {
		if t != nil {
			tensor.CheckDType(op, "q", ref, names[i], t)
		}
	}
}

// f64 converts a []T to a fresh []float64 (used for the log-decays, whose
// sums are always formed in float64).
func f64[T float](x []T) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// scal computes x ← alpha·x.
func scal[T float](alpha float64, x []T) {
	switch xs := any(x).(type) {
	case []float64:
		blas64.Scal(alpha, blas64.Vector{N: len(xs), Inc: 1, Data: xs})
	case []float32:
		blas32.Scal(float32(alpha), blas32.Vector{N: len(xs), Inc: 1, Data: xs})
	}
}

// ger computes A += x yᵀ for A (m×n, row-major, stride n).
func ger[T float](m, n int, x, y, a []T) {
	switch as := any(a).(type) {
	case []float64:
		blas64.Ger(1, blas64.Vector{N: m, Inc: 1, Data: any(x).([]float64)}, blas64.Vector{N: n, Inc: 1, Data: any(y).([]float64)},
			blas64.General{Rows: m, Cols: n, Stride: n, Data: as})
	case []float32:
		blas32.Ger(1, blas32.Vector{N: m, Inc: 1, Data: any(x).([]float32)}, blas32.Vector{N: n, Inc: 1, Data: any(y).([]float32)},
			blas32.General{Rows: m, Cols: n, Stride: n, Data: as})
	}
}

// gemvT computes y = Aᵀ x for A (m×n, row-major): y (n), x (m).
func gemvT[T float](m, n int, a, x, y []T) {
	switch as := any(a).(type) {
	case []float64:
		blas64.Gemv(blas.Trans, 1, blas64.General{Rows: m, Cols: n, Stride: n, Data: as},
			blas64.Vector{N: m, Inc: 1, Data: any(x).([]float64)}, 0, blas64.Vector{N: n, Inc: 1, Data: any(y).([]float64)})
	case []float32:
		blas32.Gemv(blas.Trans, 1, blas32.General{Rows: m, Cols: n, Stride: n, Data: as},
			blas32.Vector{N: m, Inc: 1, Data: any(x).([]float32)}, 0, blas32.Vector{N: n, Inc: 1, Data: any(y).([]float32)})
	}
}

// allFinite reports whether x has no NaN or Inf: x·0 is 0 for finite x and
// NaN otherwise, so four running sums of x·0 stay 0 exactly when all are finite.
func allFinite[T float](x []T) bool {
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * 0
		s1 += x[i+1] * 0
		s2 += x[i+2] * 0
		s3 += x[i+3] * 0
	}
	for ; i < len(x); i++ {
		s0 += x[i] * 0
	}
	return s0+s1+s2+s3 == 0
}

// parAllFinite is allFinite split over the workers for large slices.
func parAllFinite[T float](x []T) bool {
	const piece = 1 << 16
	if len(x) <= piece {
		return allFinite(x)
	}
	var bad atomic.Bool
	parallel((len(x)+piece-1)/piece, func(i int) {
		if !allFinite(x[i*piece : min((i+1)*piece, len(x))]) {
			bad.Store(true)
		}
	})
	return !bad.Load()
}

// tinyFloat32 is where float32 weights are flushed to zero: products of
// subnormal float32 numbers run ~100x slower on x86, and a weight below
// 1e-30 next to the weight 1 of the current token is far below float32 eps.
const tinyFloat32 = 1e-30

// flush rounds p to T, giving 0 for float32 magnitudes below tinyFloat32.
func flush[T float](p float64) T {
	var z T
	if _, ok := any(z).(float32); ok && p < tinyFloat32 && p > -tinyFloat32 {
		return 0
	}
	return T(p)
}

// flushW is flush for a weight kept in float64 (a row multiplier or a GEMM beta).
func flushW[T float](w float64) float64 {
	var z T
	if _, ok := any(z).(float32); ok && w < tinyFloat32 && w > -tinyFloat32 {
		return 0
	}
	return w
}
