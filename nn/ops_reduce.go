package nn

import (
	"github.com/furious-lab/furious/tensor"
)

// Sum returns Σ x over all elements, shape ().
func Sum(x *Var) *Var {
	out := tensor.New(x.Value.DType()).Fill(tensor.SumAll(x.Value)).OnDeviceOf(x.Value)
	return NewOp(out, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.BroadcastTo(g, x.Value.Shape()...)}
	})
}

// Mean returns the mean of all elements of x, shape ().
func Mean(x *Var) *Var { return Scale(Sum(x), 1/float64(x.Value.Len())) }

// SumAxis sums x over axis, removing it: (B, L, D) with axis −1 → (B, L).
func SumAxis(x *Var, ax int) *Var {
	xs := x.Value.Shape()
	ax = axis("nn.SumAxis", ax, len(xs))
	return NewOp(tensor.Sum(x.Value, ax, false), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.BroadcastTo(g.Unsqueeze(ax), xs...)}
	})
}

// MeanAxis averages x over axis, removing it.
func MeanAxis(x *Var, ax int) *Var {
	ax = axis("nn.MeanAxis", ax, x.Value.Rank())
	return Scale(SumAxis(x, ax), 1/float64(x.Value.Dim(ax)))
}

// MatMul returns the (batched) matrix product a·b (tensor.MatMulT):
// a (..., m, k) · b (..., k, n) → (..., m, n) with equal leading dims, or
// a (..., m, k) · b (k, n) → (..., m, n) with b shared by the batch (a
// linear layer). Gradients: da = g·bᵀ, db = aᵀ·g (summed over a shared b's
// batch: one GEMM over the stacked rows).
func MatMul(a, b *Var) *Var {
	as, bs := a.Value.Shape(), b.Value.Shape()
	if len(as) < 2 || len(bs) < 2 {
		tensor.Errorf("nn.MatMul", "a", "a %s and b %s must both have rank ≥ 2", tensor.ShapeString(as), tensor.ShapeString(bs))
	}
	tensor.CheckDType("nn.MatMul", "a", a.Value, "b", b.Value)
	k := as[len(as)-1]
	shared := len(bs) == 2
	want := append([]int{}, as[:len(as)-2]...)
	if shared {
		want = nil
	}
	want = append(want, k, -1)
	tensor.CheckShape("nn.MatMul", "b", bs, "(a is "+tensor.ShapeString(as)+")", want...)
	out := tensor.MatMulT(a.Value, b.Value, false, false)
	return NewOp(out, []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		var ga, gb *tensor.Tensor
		if a.requiresGrad {
			ga = tensor.MatMulT(g, b.Value, false, true)
		}
		if b.requiresGrad {
			if shared { // (k, n) = aᵀ (k, batch·m) · g (batch·m, n)
				gb = tensor.MatMulT(a.Value.Reshape(-1, k), g.Reshape(-1, bs[1]), true, false)
			} else {
				gb = tensor.MatMulT(a.Value, g, true, false)
			}
		}
		return []*tensor.Tensor{ga, gb}
	})
}
