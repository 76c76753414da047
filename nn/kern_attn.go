package nn

// Helpers used by attention.go/chunked.go/decode.go until the attention
// maths moves to ssd (then this file goes): thin wrappers of package tensor
// and backend/cpu, with no kernel of their own. gemm is backend/cpu's Sgemm
// or Dgemm (after the active backend's offer, gemmAccel), parallelFor is
// backend/cpu's ParallelFor.

import (
	"math"
	"runtime"

	"github.com/furious-lab/furious/backend/cpu"
	"github.com/furious-lab/furious/tensor"
)

// float is the element type of the attention kernels (backend/cpu's Float).
type float = cpu.Float

// like returns a zero tensor with t's dtype and the given shape.
func like(t *tensor.Tensor, shape ...int) *tensor.Tensor { return tensor.New(t.DType(), shape...) }

// zerosLike returns a zero tensor with t's dtype and shape.
func zerosLike(t *tensor.Tensor) *tensor.Tensor { return tensor.New(t.DType(), t.Shape()...) }

// numel is the number of elements of shape.
func numel(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

// addNew returns a + b (same shape and dtype).
func addNew(a, b *tensor.Tensor) *tensor.Tensor { return tensor.Add(a, b) }

// scaleNew returns c·x.
func scaleNew(x *tensor.Tensor, c float64) *tensor.Tensor { return tensor.Scale(x, c) }

// mapNew returns f applied to every element of x.
func mapNew(x *tensor.Tensor, f func(float64) float64) *tensor.Tensor { return tensor.Apply(x, f) }

// cumsumT returns the (reverse, when reverse) cumulative sum of t viewed as
// (outer, n, inner) over n.
func cumsumT(t *tensor.Tensor, outer, n, inner int, reverse bool) *tensor.Tensor {
	v := t.Reshape(outer, n, inner)
	if reverse {
		return tensor.CumsumReverse(v, 1).Reshape(t.Shape()...)
	}
	return tensor.Cumsum(v, 1).Reshape(t.Shape()...)
}

// gemm computes C = alpha·op(A)·op(B) + beta·C for row-major slices with
// op(A) m×k, op(B) k×n, C m×n (lda, ldb, ldc are the row lengths): on a
// non-CPU active backend when it takes the product (gemmAccel), else with
// backend/cpu's Sgemm or Dgemm.
func gemm[T float](tA, tB bool, m, n, k int, alpha float64, a []T, lda int, b []T, ldb int, beta float64, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if gemmAccel(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	switch av := any(a).(type) {
	case []float32:
		cpu.Sgemm(tA, tB, m, n, k, float32(alpha), av, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		cpu.Dgemm(tA, tB, m, n, k, alpha, av, lda, any(b).([]float64), ldb, beta, any(c).([]float64), ldc)
	}
}

// parallelFor runs f(0..n−1) on up to GOMAXPROCS goroutines.
func parallelFor(n int, f func(i int)) { cpu.ParallelFor(n, runtime.GOMAXPROCS(0), f) }

// slice64 is t's float64 data, nil for a nil t.
func slice64(t *tensor.Tensor) []float64 {
	if t == nil {
		return nil
	}
	return t.Float64s()
}

// slice32 is t's float32 data, nil for a nil t.
func slice32(t *tensor.Tensor) []float32 {
	if t == nil {
		return nil
	}
	return t.Float32s()
}

// fromData returns a tensor of dtype and shape holding data (copied/rounded).
func fromData(dt tensor.DType, data []float64, shape []int) *tensor.Tensor {
	t := tensor.FromFloat64(data, shape...)
	if dt == tensor.Float64 {
		return t
	}
	return t.As(dt)
}

// softplus(x) = log(1 + eˣ) without overflow: max(x, 0) + log1p(e^{−|x|}).
func softplus(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }
