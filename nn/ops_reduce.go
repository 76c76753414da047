package nn

import (
	"github.com/furious-lab/furious/tensor"
)

// Sum returns Σ x over all elements, shape ().
func Sum(x *Var) *Var {
	var s float64
	if x.Value.DType() == tensor.Float64 {
		for _, v := range x.Value.Float64s() {
			s += v
		}
	} else {
		for _, v := range x.Value.Float32s() {
			s += float64(v)
		}
	}
	out := like(x.Value)
	out.Fill(s)
	return NewOp(out, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{zerosLike(x.Value).Fill(g.Data()[0])}
	})
}

// Mean returns the mean of all elements of x, shape ().
func Mean(x *Var) *Var { return Scale(Sum(x), 1/float64(x.Value.Len())) }

// SumAxis sums x over axis, removing it: (B, L, D) with axis −1 → (B, L).
func SumAxis(x *Var, ax int) *Var {
	xs := x.Value.Shape()
	ax = axis("nn.SumAxis", ax, len(xs))
	outer, n, inner := split3(xs, ax)
	os := append(append([]int{}, xs[:ax]...), xs[ax+1:]...)
	out := like(x.Value, os...)
	for t := 0; t < n; t++ {
		copyBlock(out, x.Value, outer, inner, 1, 0, n, t, 1, true)
	}
	return NewOp(out, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		gx := like(g, xs...)
		for t := 0; t < n; t++ {
			copyBlock(gx, g, outer, inner, n, t, 1, 0, 1, false)
		}
		return []*tensor.Tensor{gx}
	})
}

// MeanAxis averages x over axis, removing it.
func MeanAxis(x *Var, ax int) *Var {
	ax = axis("nn.MeanAxis", ax, x.Value.Rank())
	return Scale(SumAxis(x, ax), 1/float64(x.Value.Dim(ax)))
}

// MatMul returns the (batched) matrix product a·b:
// a (..., m, k) · b (..., k, n) → (..., m, n) with equal leading dims, or
// a (..., m, k) · b (k, n) → (..., m, n) with b shared by the batch (a
// linear layer). Gradients: da = g·bᵀ, db = aᵀ·g (summed over a shared b's batch).
func MatMul(a, b *Var) *Var {
	as, bs := a.Value.Shape(), b.Value.Shape()
	if len(as) < 2 || len(bs) < 2 {
		tensor.Errorf("nn.MatMul", "a", "a %s and b %s must both have rank ≥ 2", tensor.ShapeString(as), tensor.ShapeString(bs))
	}
	if a.Value.DType() != b.Value.DType() {
		tensor.Errorf("nn.MatMul", "b", "has dtype %s, want %s (same as a)", b.Value.DType(), a.Value.DType())
	}
	m, k, n := as[len(as)-2], as[len(as)-1], bs[len(bs)-1]
	shared := len(bs) == 2
	want := append([]int{}, as[:len(as)-2]...)
	if shared {
		want = nil
	}
	want = append(want, k, -1)
	tensor.CheckShape("nn.MatMul", "b", bs, "(a is "+tensor.ShapeString(as)+")", want...)
	batch := numel(as[:len(as)-2])
	os := append(append([]int{}, as[:len(as)-2]...), m, n)
	out := like(a.Value, os...)
	if a.Value.DType() == tensor.Float64 {
		matmulFwd(out.Float64s(), a.Value.Float64s(), b.Value.Float64s(), batch, m, k, n, shared)
	} else {
		matmulFwd(out.Float32s(), a.Value.Float32s(), b.Value.Float32s(), batch, m, k, n, shared)
	}
	return NewOp(out, []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		var ga, gb *tensor.Tensor
		if a.requiresGrad {
			ga = like(g, as...)
		}
		if b.requiresGrad {
			gb = like(g, bs...)
		}
		if g.DType() == tensor.Float64 {
			matmulBwd(slice64(ga), slice64(gb), g.Float64s(), a.Value.Float64s(), b.Value.Float64s(), batch, m, k, n, shared)
		} else {
			matmulBwd(slice32(ga), slice32(gb), g.Float32s(), a.Value.Float32s(), b.Value.Float32s(), batch, m, k, n, shared)
		}
		return []*tensor.Tensor{ga, gb}
	})
}

func slice64(t *tensor.Tensor) []float64 {
	if t == nil {
		return nil
	}
	return t.Float64s()
}

func slice32(t *tensor.Tensor) []float32 {
	if t == nil {
		return nil
	}
	return t.Float32s()
}

func matmulFwd[T float](c, a, b []T, batch, m, k, n int, shared bool) {
	if shared {
		gemm(false, false, batch*m, n, k, 1, a, k, b, n, 0, c, n)
		return
	}
	for i := 0; i < batch; i++ {
		gemm(false, false, m, n, k, 1, a[i*m*k:], k, b[i*k*n:], n, 0, c[i*m*n:], n)
	}
}

func matmulBwd[T float](ga, gb, g, a, b []T, batch, m, k, n int, shared bool) {
	if shared {
		if ga != nil { // (batch·m, k) = g (batch·m, n) · bᵀ
			gemm(false, true, batch*m, k, n, 1, g, n, b, n, 0, ga, k)
		}
		if gb != nil { // (k, n) = aᵀ (k, batch·m) · g
			gemm(true, false, k, n, batch*m, 1, a, k, g, n, 0, gb, n)
		}
		return
	}
	for i := 0; i < batch; i++ {
		gi := g[i*m*n:]
		if ga != nil {
			gemm(false, true, m, k, n, 1, gi, n, b[i*k*n:], n, 0, ga[i*m*k:], k)
		}
		if gb != nil {
			gemm(true, false, k, n, m, 1, a[i*m*k:], k, gi, n, 0, gb[i*k*n:], n)
		}
	}
}
