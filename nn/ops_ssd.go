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

// LogDecay is the block's per-step log-decay a (B, H, L) from its
// pre-activation x (B, H, L) (spec §a); the forward is ssd.LogDecay:
//
//	"softplus":   a = −softplus(x)                     da/dx = −σ(x)
//	"forget":     a = log σ(x) = −softplus(−x)         da/dx = σ(−x)
//	"discretize": a = −exp(A_log_h)·softplus(x + b_h)  da/dx = da/db_h = −exp(A_log_h)·σ(x + b_h), da/dA_log_h = a
//
// aLog (H) is needed by "discretize" only; dtBias (H) or nil is its dt bias.
func LogDecay(kind string, x, aLog, dtBias *Var) *Var {
	const op = "nn.LogDecay"
	xs := x.Value.Shape()
	tensor.CheckShape(op, "x", xs, "(want (B, H, L))", -1, -1, -1)
	H, L := xs[1], xs[2]
	var a *tensor.Tensor
	switch kind {
	case "softplus":
		a = ssd.LogDecay(ssd.MaskSoftplus, x.Value, nil, nil)
	case "forget":
		a = ssd.LogDecay(ssd.MaskForget, x.Value, nil, nil)
	case "discretize":
		if aLog == nil {
			tensor.Errorf(op, "aLog", "is nil; the discretize mask needs A_log (H)")
		}
		a = ssd.LogDecay(ssd.MaskOriginal, x.Value, aLog.Value, valueOf(dtBias))
	default:
		tensor.Errorf(op, "kind", "%q is not softplus, forget or discretize", kind)
	}
	return NewOp(a, []*Var{x, aLog, dtBias}, func(g *tensor.Tensor) []*tensor.Tensor {
		xd, gd, ad := x.Value.Data(), g.Data(), a.Data()
		dx := make([]float64, len(xd))
		out := make([]*tensor.Tensor, 3)
		switch kind {
		case "softplus":
			for i, v := range xd {
				dx[i] = -sigmoid(v) * gd[i]
			}
		case "forget":
			for i, v := range xd {
				dx[i] = sigmoid(-v) * gd[i]
			}
		default:
			al := aLog.Value.Data()
			var bias []float64
			if dtBias != nil {
				bias = dtBias.Value.Data()
			}
			dal, db := make([]float64, H), make([]float64, H)
			for i, v := range xd {
				h := (i / L) % H
				if bias != nil {
					v += bias[h]
				}
				dx[i] = -math.Exp(al[h]) * sigmoid(v) * gd[i]
				db[h] += dx[i]
				dal[h] += ad[i] * gd[i]
			}
			out[1] = fromData(g.DType(), dal, []int{H})
			if dtBias != nil {
				out[2] = fromData(g.DType(), db, []int{H})
			}
		}
		out[0] = fromData(g.DType(), dx, xs)
		return out
	})
}
