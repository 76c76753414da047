package ssd

import (
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"unsafe"

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

// allFinite reports whether x has no NaN or ±Inf, from the bits: an IEEE
// value is not finite exactly when its exponent field is all ones, and
// adding one at the field's lowest bit carries into the sign bit only
// then, so OR-ing (bits & exponent) + lowest over x sets the sign bit iff
// some value is not finite. float32 values are read two to a uint64 (each
// half's carry stops at its own sign bit): three integer operations per
// pair. ssd.Chunked checks every chunk's output with it: on a 64×64 chunk
// 0.57 µs against 1.3 µs for the float test Σ x·0 it replaced (2-core CI
// machine, 2026-12-06; BenchmarkAllFinite, the old form at 42c7984^).
func allFinite[T float](x []T) bool {
	if len(x) == 0 {
		return true
	}
	if f, ok := any(x).([]float32); ok {
		var acc uint64
		if uintptr(unsafe.Pointer(&f[0]))%8 != 0 { // align the pairs
			acc = uint64(math.Float32bits(f[0])&0x7f800000 + 0x00800000)
			f = f[1:]
		}
		if len(f)%2 == 1 {
			acc |= uint64(math.Float32bits(f[len(f)-1])&0x7f800000 + 0x00800000)
		}
		if len(f) >= 2 {
			acc |= orExponents(unsafe.Slice((*uint64)(unsafe.Pointer(&f[0])), len(f)/2), 0x7f8000007f800000, 0x0080000000800000)
		}
		return acc&0x8000000080000000 == 0
	}
	f := any(x).([]float64)
	u := unsafe.Slice((*uint64)(unsafe.Pointer(&f[0])), len(f))
	return orExponents(u, 0x7ff0000000000000, 0x0010000000000000)&(1<<63) == 0
}

// orExponents is the OR over u of (u_i & mask) + one, four words a step.
func orExponents(u []uint64, mask, one uint64) uint64 {
	var a0, a1, a2, a3 uint64
	i := 0
	for ; i+4 <= len(u); i += 4 {
		w := u[i : i+4 : i+4]
		a0 |= w[0]&mask + one
		a1 |= w[1]&mask + one
		a2 |= w[2]&mask + one
		a3 |= w[3]&mask + one
	}
	for ; i < len(u); i++ {
		a0 |= u[i]&mask + one
	}
	return a0 | a1 | a2 | a3
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
