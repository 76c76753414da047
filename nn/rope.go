package nn

import (
	"fmt"
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
	table := func(sign float64, f func(float64) float64) func() *tensor.Tensor {
		return func() *tensor.Tensor {
			out := make([]float64, L*d/2)
			for t := 0; t < L; t++ {
				for i := 0; i < d/2; i++ {
					out[t*d/2+i] = sign * f(float64(t)*math.Pow(theta, -2*float64(i)/float64(d)))
				}
			}
			return fromData(x.Value.DType(), out, []int{L, d / 2})
		}
	}
	key := fmt.Sprintf("rope %d %d %g", L, d, theta)
	ct := constOn(key+" cos", x.Value, table(1, math.Cos))
	st := constOn(key+" sin", x.Value, table(1, math.Sin))
	y := tensor.Rotary(x.Value, ct, st)
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Rotary(g, ct, constOn(key+" -sin", x.Value, table(-1, math.Sin)))}
	})
}
