package nn

// Internal kernels shared by the ops: dtype dispatch, elementwise maps,
// broadcasting, reductions to a shape, and (batched) GEMM through gonum's
// blas32/blas64 (OpenBLAS when it is plugged in behind blas32.Use).
// Generics are unexported: nothing here is visible to notebooks.

import (
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/furious-lab/furious/tensor"
)

type float interface{ ~float32 | ~float64 }

// like returns a zero tensor with t's dtype and the given shape.
func like(t *tensor.Tensor, shape ...int) *tensor.Tensor { return tensor.New(t.DType(), shape...) }

// zerosLike returns a zero tensor with t's dtype and shape.
func zerosLike(t *tensor.Tensor) *tensor.Tensor { return tensor.New(t.DType(), t.Shape()...) }

func numel(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

// ranges calls f(lo, hi) over [0, n) split across GOMAXPROCS goroutines
// when n is large enough to pay for them (elementwise ops are independent).
func ranges(n int, f func(lo, hi int)) {
	const grain = 1 << 15
	parts := min(runtime.GOMAXPROCS(0), n/grain)
	if parts <= 1 {
		f(0, n)
		return
	}
	parallelFor(parts, func(p int) { f(p*n/parts, (p+1)*n/parts) })
}

// mapNew returns f applied to every element of x.
func mapNew(x *tensor.Tensor, f func(float64) float64) *tensor.Tensor {
	out := zerosLike(x)
	if x.DType() == tensor.Float64 {
		o, a := out.Float64s(), x.Float64s()
		ranges(len(o), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				o[i] = f(a[i])
			}
		})
	} else {
		o, a := out.Float32s(), x.Float32s()
		ranges(len(o), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				o[i] = float32(f(float64(a[i])))
			}
		})
	}
	return out
}

// zipNew returns f(a_i, b_i) for two tensors of the same shape and dtype.
func zipNew(a, b *tensor.Tensor, f func(x, y float64) float64) *tensor.Tensor {
	out := zerosLike(a)
	if a.DType() == tensor.Float64 {
		o, x, y := out.Float64s(), a.Float64s(), b.Float64s()
		ranges(len(o), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				o[i] = f(x[i], y[i])
			}
		})
	} else {
		o, x, y := out.Float32s(), a.Float32s(), b.Float32s()
		ranges(len(o), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				o[i] = float32(f(float64(x[i]), float64(y[i])))
			}
		})
	}
	return out
}

// zip3New returns f(a_i, b_i, c_i) for three tensors of one shape and dtype.
func zip3New(a, b, c *tensor.Tensor, f func(x, y, z float64) float64) *tensor.Tensor {
	out := zerosLike(a)
	if a.DType() == tensor.Float64 {
		o, x, y, z := out.Float64s(), a.Float64s(), b.Float64s(), c.Float64s()
		ranges(len(o), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				o[i] = f(x[i], y[i], z[i])
			}
		})
	} else {
		o, x, y, z := out.Float32s(), a.Float32s(), b.Float32s(), c.Float32s()
		ranges(len(o), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				o[i] = float32(f(float64(x[i]), float64(y[i]), float64(z[i])))
			}
		})
	}
	return out
}

// addInto does dst += src (same shape and dtype).
func addInto(dst, src *tensor.Tensor) {
	if dst.DType() == tensor.Float64 {
		d, s := dst.Float64s(), src.Float64s()
		for i := range d {
			d[i] += s[i]
		}
	} else {
		d, s := dst.Float32s(), src.Float32s()
		for i := range d {
			d[i] += s[i]
		}
	}
}

// addNew returns a + b (same shape and dtype).
func addNew(a, b *tensor.Tensor) *tensor.Tensor {
	out := a.Clone()
	addInto(out, b)
	return out
}

// scaleNew returns c·x.
func scaleNew(x *tensor.Tensor, c float64) *tensor.Tensor {
	return mapNew(x, func(v float64) float64 { return c * v })
}

// broadcastShape returns the numpy broadcast of shapes a and b (aligned on
// the right, a size-1 or missing dim stretches), panicking naming op.
func broadcastShape(op string, a, b []int) []int {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			tensor.ShapeMismatch(op, "b", b, a, "(not broadcastable: sizes must match or be 1, aligned on the right)")
		}
	}
	return out
}

// bstrides returns, for an input of shape in broadcast to out, the element
// stride of each out dim in the input (0 on stretched dims).
func bstrides(in, out []int) []int {
	st := make([]int, len(out))
	s := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := len(in) - len(out) + i
		if j >= 0 && in[j] != 1 {
			st[i] = s
		}
		if j >= 0 {
			s *= in[j]
		}
	}
	return st
}

// bcastIndex returns, for every element of out (flat, row-major), the flat
// index of the element of in it reads.
func bcastIndex(in, out []int) []int {
	n := numel(out)
	idx := make([]int, n)
	if slices.Equal(in, out) {
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	if n := numel(in); isSuffix(in, out) { // (D) into (B, L, D): wrap around
		for i := range idx {
			idx[i] = i % n
		}
		return idx
	}
	st := bstrides(in, out)
	cnt := make([]int, len(out))
	off := 0
	for i := 0; i < n; i++ {
		idx[i] = off
		for d := len(out) - 1; d >= 0; d-- {
			cnt[d]++
			off += st[d]
			if cnt[d] < out[d] {
				break
			}
			off -= st[d] * cnt[d]
			cnt[d] = 0
		}
	}
	return idx
}

// bcastZip returns f(a, b) with numpy broadcasting, and the shapes used.
func bcastZip(op string, a, b *tensor.Tensor, f func(x, y float64) float64) *tensor.Tensor {
	if a.DType() != b.DType() {
		tensor.Errorf(op, "b", "has dtype %s, want %s (same as a)", b.DType(), a.DType())
	}
	as, bs := a.Shape(), b.Shape()
	if slices.Equal(as, bs) {
		return zipNew(a, b, f)
	}
	os := broadcastShape(op, as, bs)
	ia, ib := bcastIndex(as, os), bcastIndex(bs, os)
	out := like(a, os...)
	if a.DType() == tensor.Float64 {
		o, x, y := out.Float64s(), a.Float64s(), b.Float64s()
		for i := range o {
			o[i] = f(x[ia[i]], y[ib[i]])
		}
	} else {
		o, x, y := out.Float32s(), a.Float32s(), b.Float32s()
		for i := range o {
			o[i] = float32(f(float64(x[ia[i]]), float64(y[ib[i]])))
		}
	}
	return out
}

// reduceTo sums g (of a broadcast shape) down to shape, the inverse of
// broadcasting: the gradient of an input that was stretched.
func reduceTo(g *tensor.Tensor, shape []int) *tensor.Tensor {
	if slices.Equal(g.Shape(), shape) {
		return g
	}
	idx := bcastIndex(shape, g.Shape())
	out := like(g, shape...)
	if g.DType() == tensor.Float64 {
		o, s := out.Float64s(), g.Float64s()
		for i, v := range s {
			o[idx[i]] += v
		}
	} else {
		o, s := out.Float32s(), g.Float32s()
		for i, v := range s {
			o[idx[i]] += v
		}
	}
	return out
}

// gemm computes C = alpha·op(A)·op(B) + beta·C for row-major slices with
// op(A) m×k, op(B) k×n, C m×n (lda, ldb, ldc are the row lengths).
// Large float32 products go to a non-CPU active backend (gemmAccel).
func gemm[T float](tA, tB bool, m, n, k int, alpha float64, a []T, lda int, b []T, ldb int, beta float64, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if gemmAccel(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	ar, ac, br, bc := m, k, k, n
	if tA {
		ta, ar, ac = blas.Trans, k, m
	}
	if tB {
		tb, br, bc = blas.Trans, n, k
	}
	switch av := any(a).(type) {
	case []float32:
		blas32.Gemm(ta, tb, float32(alpha),
			blas32.General{Rows: ar, Cols: ac, Stride: lda, Data: av},
			blas32.General{Rows: br, Cols: bc, Stride: ldb, Data: any(b).([]float32)},
			float32(beta), blas32.General{Rows: m, Cols: n, Stride: ldc, Data: any(c).([]float32)})
	case []float64:
		blas64.Gemm(ta, tb, alpha,
			blas64.General{Rows: ar, Cols: ac, Stride: lda, Data: av},
			blas64.General{Rows: br, Cols: bc, Stride: ldb, Data: any(b).([]float64)},
			beta, blas64.General{Rows: m, Cols: n, Stride: ldc, Data: any(c).([]float64)})
	}
}

// permuteData returns src (of shape) with its axes reordered: out dim i is
// src dim perm[i].
func permuteData[T float](src []T, shape, perm []int) []T {
	n := len(shape)
	st := make([]int, n)
	s := 1
	for i := n - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	os, ost := make([]int, n), make([]int, n)
	for i, p := range perm {
		os[i], ost[i] = shape[p], st[p]
	}
	out := make([]T, len(src))
	cnt := make([]int, n)
	off := 0
	for i := range out {
		out[i] = src[off]
		for d := n - 1; d >= 0; d-- {
			cnt[d]++
			off += ost[d]
			if cnt[d] < os[d] {
				break
			}
			off -= ost[d] * cnt[d]
			cnt[d] = 0
		}
	}
	return out
}

// parallelFor runs f(0..n−1) on up to GOMAXPROCS goroutines.
func parallelFor(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// isSuffix reports whether in, without leading 1s, is a suffix of out.
func isSuffix(in, out []int) bool {
	for len(in) > 0 && in[0] == 1 {
		in = in[1:]
	}
	if len(in) > len(out) {
		return false
	}
	for i := range in {
		if in[len(in)-1-i] != out[len(out)-1-i] {
			return false
		}
	}
	return true
}
