package nn

import (
	"math"

	"github.com/furious-lab/furious/tensor"
)

// RoPE applies rotary position embeddings to x (..., L, d), d even, with
// interleaved pairs (rotary_embedding_torch's default): for position t and
// pair i, ω_i = θ^(−2i/d) and
//
//	(x_{2i}, x_{2i+1}) → (x_{2i} cos tω_i − x_{2i+1} sin tω_i, x_{2i} sin tω_i + x_{2i+1} cos tω_i)
//
// (tensor.Rotary). The backward pass rotates the gradient by −tω_i. θ is
// 10000 in the paper's softmax baseline.
func RoPE(x *Var, theta float64) *Var {
	xs := x.Value.Shape()
	if len(xs) < 2 || xs[len(xs)-1]%2 != 0 {
		tensor.ShapeMismatch("nn.RoPE", "x", xs, []int{-1, -1}, "(want (..., L, d) with d even)")
	}
	L, d := xs[len(xs)-2], xs[len(xs)-1]
	cos, sin := make([]float64, L*d/2), make([]float64, L*d/2)
	for t := 0; t < L; t++ {
		for i := 0; i < d/2; i++ {
			a := float64(t) * math.Pow(theta, -2*float64(i)/float64(d))
			cos[t*d/2+i], sin[t*d/2+i] = math.Cos(a), math.Sin(a)
		}
	}
	dt := x.Value.DType()
	ct, st := fromData(dt, cos, []int{L, d / 2}), fromData(dt, sin, []int{L, d / 2})
	y := tensor.Rotary(x.Value, ct, st)
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Rotary(g, ct, tensor.Neg(st))}
	})
}
