package nn

import (
	"math"

	"github.com/furious-lab/furious/tensor"
)

// RoPE applies rotary position embeddings to x (..., L, d), d even, with
// interleaved pairs (rotary_embedding_torch's default): for position t and
// pair i, ω_i = θ^(−2i/d) and
//
//	(x_{2i}, x_{2i+1}) → (x_{2i} cos tω_i − x_{2i+1} sin tω_i, x_{2i} sin tω_i + x_{2i+1} cos tω_i).
//
// The backward pass rotates the gradient by −tω_i. θ is 10000 in the paper's
// softmax baseline.
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
	rot := func(in []float64, sign float64) []float64 {
		out := make([]float64, len(in))
		for r := 0; r < len(in)/d; r++ {
			t := r % L
			for i := 0; i < d/2; i++ {
				c, s := cos[t*d/2+i], sign*sin[t*d/2+i]
				x1, x2 := in[r*d+2*i], in[r*d+2*i+1]
				out[r*d+2*i], out[r*d+2*i+1] = x1*c-x2*s, x1*s+x2*c
			}
		}
		return out
	}
	y := fromData(x.Value.DType(), rot(x.Value.Data(), 1), xs)
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{fromData(g.DType(), rot(g.Data(), -1), xs)}
	})
}
