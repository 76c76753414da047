package nn

import (
	"math"

	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// CausalConv1d is the depthwise causal convolution of the block (spec §d,
// step 2), per channel c with kernel width W and zero history:
//
//	y[b,t,c] = bias[c] + Σ_{κ=0}^{W−1} w[c,κ]·x[b, t−(W−1)+κ, c]
//
// x (B, L, C), w (C, W), bias (C) or nil → y (B, L, C); w[:, W−1] hits the
// current token; W ≤ 4. The forward is ssd.CausalConv1d. Backward: dx[b,s,c] = Σ_κ w[c,κ]·g[b, s+(W−1)−κ, c],
// dw[c,κ] = Σ_{b,t} g[b,t,c]·x[b, t−(W−1)+κ, c], dbias = Σ_{b,t} g.
func CausalConv1d(x, w, bias *Var) *Var {
	const op = "nn.CausalConv1d"
	xs := x.Value.Shape()
	tensor.CheckShape(op, "x", xs, "(want (B, L, C))", -1, -1, -1)
	B, L, C := xs[0], xs[1], xs[2]
	tensor.CheckShape(op, "w", w.Value.Shape(), "(want (C, W) with x "+tensor.ShapeString(xs)+")", C, -1)
	W := w.Value.Dim(1)
	var bt *tensor.Tensor
	if bias != nil {
		tensor.CheckShape(op, "bias", bias.Value.Shape(), "(want (C))", C)
		bt = bias.Value
	}
	y := ssd.CausalConv1d(x.Value, w.Value, bt, false)
	xd, wd := x.Value.Data(), w.Value.Data()
	return NewOp(y, []*Var{x, w, bias}, func(g *tensor.Tensor) []*tensor.Tensor {
		gd := g.Data()
		dx, dw, db := make([]float64, len(xd)), make([]float64, len(wd)), make([]float64, C)
		for b := 0; b < B; b++ {
			for t := 0; t < L; t++ {
				for c := 0; c < C; c++ {
					gv := gd[(b*L+t)*C+c]
					db[c] += gv
					for k := 0; k < W; k++ {
						if u := t - (W - 1) + k; u >= 0 {
							dx[(b*L+u)*C+c] += wd[c*W+k] * gv
							dw[c*W+k] += xd[(b*L+u)*C+c] * gv
						}
					}
				}
			}
		}
		out := []*tensor.Tensor{fromData(g.DType(), dx, xs), fromData(g.DType(), dw, w.Value.Shape()), nil}
		if bias != nil {
			out[2] = fromData(g.DType(), db, []int{C})
		}
		return out
	})
}

// KronFeature is the symmetric Kronecker feature map of order 2 (spec §b):
// x (..., d) → φ(x) (..., d(d+1)/2) with entries, row-major over the upper
// triangle i ≤ j, φ_(i,j) = c_ij·x_i·x_j, c_ii = 1, c_ij = √2 (i < j), so
// that φ(x)·φ(y) = (x·y)²; the forward is ssd.Feature(x, 2). Backward: dx_i = 2·g_(i,i)·x_i + √2·Σ_{j≠i} g_(i,j)·x_j.
func KronFeature(x *Var) *Var {
	xs := x.Value.Shape()
	d := xs[len(xs)-1]
	D := d * (d + 1) / 2
	rows := x.Value.Len() / max(d, 1)
	y := ssd.Feature(x.Value, 2)
	xd := x.Value.Data()
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		gd := g.Data()
		dx := make([]float64, len(xd))
		for r := 0; r < rows; r++ {
			xr, gr, dr := xd[r*d:(r+1)*d], gd[r*D:(r+1)*D], dx[r*d:(r+1)*d]
			p := 0
			for i := 0; i < d; i++ {
				dr[i] += 2 * gr[p] * xr[i]
				p++
				for j := i + 1; j < d; j++ {
					dr[i] += math.Sqrt2 * gr[p] * xr[j]
					dr[j] += math.Sqrt2 * gr[p] * xr[i]
					p++
				}
			}
		}
		return []*tensor.Tensor{fromData(g.DType(), dx, xs)}
	})
}
