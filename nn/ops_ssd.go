package nn

import (
	"fmt"
	"math"
	"sync"

	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// CausalConv1d is the depthwise causal convolution of the block (spec §d,
// step 2), per channel c with kernel width W and zero history:
//
//	y[b,t,c] = bias[c] + Σ_{κ=0}^{W−1} w[c,κ]·x[b, t−(W−1)+κ, c]
//
// x (B, L, C), w (C, W), bias (C) or nil → y (B, L, C); w[:, W−1] hits the
// current token. Forward tensor.CausalConv1d (the values of
// ssd.CausalConv1d without SiLU), backward tensor.CausalConv1dBackward:
// dx[b,s,c] = Σ_κ w[c,κ]·g[b, s+(W−1)−κ, c],
// dw[c,κ] = Σ_{b,t} g[b,t,c]·x[b, t−(W−1)+κ, c], dbias = Σ_{b,t} g.
func CausalConv1d(x, w, bias *Var) *Var {
	const op = "nn.CausalConv1d"
	xs := x.Value.Shape()
	tensor.CheckShape(op, "x", xs, "(want (B, L, C))", -1, -1, -1)
	C := xs[2]
	tensor.CheckShape(op, "w", w.Value.Shape(), "(want (C, W) with x "+tensor.ShapeString(xs)+")", C, -1)
	bt := valueOf(bias)
	if bias != nil {
		tensor.CheckShape(op, "bias", bias.Value.Shape(), "(want (C))", C)
	}
	y := tensor.CausalConv1d(x.Value, w.Value, bt)
	return NewOp(y, []*Var{x, w, bias}, func(g *tensor.Tensor) []*tensor.Tensor {
		dx, dw, db := tensor.CausalConv1dBackward(g, x.Value, w.Value, bias != nil)
		return []*tensor.Tensor{dx, dw, db}
	})
}

// kronIndex holds, for the order-2 feature map of dimension d, the pair
// (I[p], J[p]) and weight c[p] of feature p (row-major upper triangle).
type kronIndex struct {
	I, J []int
	c    []float64
}

var kronIndices sync.Map // d → *kronIndex

// kronOf returns the (cached) pair indices and weights for dimension d.
func kronOf(d int) *kronIndex {
	if k, ok := kronIndices.Load(d); ok {
		return k.(*kronIndex)
	}
	k := &kronIndex{}
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			c := math.Sqrt2
			if i == j {
				c = 1
			}
			k.I, k.J, k.c = append(k.I, i), append(k.J, j), append(k.c, c)
		}
	}
	kronIndices.Store(d, k)
	return k
}

// KronFeature is the symmetric Kronecker feature map of order 2 (spec §b):
// x (..., d) → φ(x) (..., d(d+1)/2) with entries, row-major over the upper
// triangle i ≤ j, φ_(i,j) = c_ij·x_i·x_j, c_ii = 1, c_ij = √2 (i < j), so
// that φ(x)·φ(y) = (x·y)²; the forward is ssd.Feature(x, 2). Backward, with
// ĝ = g ⊙ c gathered per pair (tensor.Gather, tensor.ScatterAdd over the
// last axis): dx = scatter_I(ĝ ⊙ x_J) + scatter_J(ĝ ⊙ x_I), that is
// dx_i = 2·g_(i,i)·x_i + √2·Σ_{j≠i} g_(i,j)·x_j.
func KronFeature(x *Var) *Var {
	xs := x.Value.Shape()
	d := xs[len(xs)-1]
	y := ssd.Feature(x.Value, 2)
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		k := kronOf(d)
		c := constOn(fmt.Sprintf("kron %d", d), g, func() *tensor.Tensor { return tensor.FromFloat64(k.c).As(g.DType()) })
		gc := tensor.Mul(g, c)
		dx := tensor.ScatterAdd(tensor.Mul(gc, tensor.Gather(x.Value, -1, k.J)), -1, k.I, d)
		dx = tensor.Add(dx, tensor.ScatterAdd(tensor.Mul(gc, tensor.Gather(x.Value, -1, k.I)), -1, k.J, d))
		return []*tensor.Tensor{dx}
	})
}

// LogDecay is the block's per-step log-decay a (B, H, L) from its
// pre-activation x (B, H, L) (spec §a); the forward is ssd.LogDecay:
//
//	ssd.MaskSoftplus:  a = −softplus(x)                     da/dx = −σ(x)
//	ssd.MaskForget:    a = log σ(x) = −softplus(−x)         da/dx = σ(−x)
//	ssd.MaskOriginal:  a = −exp(A_log_h)·softplus(x + b_h)  da/dx = da/db_h = −exp(A_log_h)·σ(x + b_h), da/dA_log_h = a
//
// aLog (H) is needed by ssd.MaskOriginal (Mamba-2's discretised mask) only;
// dtBias (H) or nil is its dt bias.
func LogDecay(kind ssd.MaskKind, x, aLog, dtBias *Var) *Var {
	const op = "nn.LogDecay"
	xs := x.Value.Shape()
	tensor.CheckShape(op, "x", xs, "(want (B, H, L))", -1, -1, -1)
	H := xs[1]
	var a *tensor.Tensor
	switch kind {
	case ssd.MaskSoftplus, ssd.MaskForget:
		a = ssd.LogDecay(kind, x.Value, nil, nil)
	case ssd.MaskOriginal:
		if aLog == nil {
			tensor.Errorf(op, "aLog", "is nil; the original (Mamba-2) mask needs A_log (H)")
		}
		a = ssd.LogDecay(kind, x.Value, aLog.Value, valueOf(dtBias))
	default:
		tensor.Errorf(op, "kind", "is %s, want ssd.MaskSoftplus, MaskForget or MaskOriginal (a custom mask is the block's Decay)", kind)
	}
	return NewOp(a, []*Var{x, aLog, dtBias}, func(g *tensor.Tensor) []*tensor.Tensor {
		switch kind {
		case ssd.MaskSoftplus:
			return []*tensor.Tensor{tensor.Neg(tensor.UnaryGrad("softplus", g, x.Value, nil, 0))}
		case ssd.MaskForget:
			return []*tensor.Tensor{tensor.UnaryGrad("logsigmoid", g, x.Value, nil, 0)}
		}
		z := x.Value
		if dtBias != nil {
			z = tensor.Add(z, dtBias.Value.Reshape(H, 1))
		}
		negE := tensor.Neg(tensor.Exp(aLog.Value)).Reshape(H, 1)
		dx := tensor.Mul(tensor.UnaryGrad("softplus", g, z, nil, 0), negE) // −exp(A_log)·σ(z)·g
		out := []*tensor.Tensor{dx, tensor.SumTo(tensor.Mul(a, g), H, 1).Reshape(H), nil}
		if dtBias != nil {
			out[2] = tensor.SumTo(dx, H, 1).Reshape(H)
		}
		return out
	})
}
