package nn

import (
	"math"

	"github.com/furious-lab/furious/tensor"
)

// RMSNorm normalises x over its last dim D and scales by w:
// y = x / √(mean(x²) + eps) ⊙ w, x (..., D), w (D) or nil (no weight).
// Backward with r = 1/√(mean(x²)+eps), x̂ = x·r, ĝ = g ⊙ w:
// dx = r·(ĝ − x̂·mean(ĝ ⊙ x̂)), dw = Σ_rows g ⊙ x̂.
func RMSNorm(x, w *Var, eps float64) *Var {
	xs := x.Value.Shape()
	D := xs[len(xs)-1]
	if w != nil {
		tensor.CheckShape("nn.RMSNorm", "w", w.Value.Shape(), "(the last dim of x "+tensor.ShapeString(xs)+")", D)
	}
	parents := []*Var{x, w}
	var wt *tensor.Tensor
	if w != nil {
		wt = w.Value
	}
	y, r := like(x.Value, xs...), make([]float64, x.Value.Len()/max(D, 1))
	if x.Value.DType() == tensor.Float64 {
		rmsFwd(y.Float64s(), x.Value.Float64s(), slice64(wt), r, D, eps)
	} else {
		rmsFwd(y.Float32s(), x.Value.Float32s(), slice32(wt), r, D, eps)
	}
	return NewOp(y, parents, func(g *tensor.Tensor) []*tensor.Tensor {
		gx := like(g, xs...)
		var gw *tensor.Tensor
		if w != nil && w.requiresGrad {
			gw = like(g, D)
		}
		if g.DType() == tensor.Float64 {
			rmsBwd(slice64(gx), slice64(gw), g.Float64s(), x.Value.Float64s(), slice64(wt), r, D)
		} else {
			rmsBwd(slice32(gx), slice32(gw), g.Float32s(), x.Value.Float32s(), slice32(wt), r, D)
		}
		return []*tensor.Tensor{gx, gw}
	})
}

func rmsFwd[T float](y, x, w []T, r []float64, D int, eps float64) {
	for row := range r {
		xr, yr := x[row*D:(row+1)*D], y[row*D:(row+1)*D]
		var ss float64
		for _, v := range xr {
			ss += float64(v) * float64(v)
		}
		r[row] = 1 / math.Sqrt(ss/float64(D)+eps)
		for i, v := range xr {
			o := float64(v) * r[row]
			if w != nil {
				o *= float64(w[i])
			}
			yr[i] = T(o)
		}
	}
}

func rmsBwd[T float](gx, gw, g, x, w []T, r []float64, D int) {
	for row := range r {
		xr, gr, dr := x[row*D:(row+1)*D], g[row*D:(row+1)*D], gx[row*D:(row+1)*D]
		var dot float64 // Σ ĝ ⊙ x̂
		for i := range xr {
			gh := float64(gr[i])
			if w != nil {
				gh *= float64(w[i])
			}
			xh := float64(xr[i]) * r[row]
			dot += gh * xh
			if gw != nil {
				gw[i] += T(float64(gr[i]) * xh)
			}
		}
		dot /= float64(D)
		for i := range xr {
			gh := float64(gr[i])
			if w != nil {
				gh *= float64(w[i])
			}
			dr[i] = T(r[row] * (gh - float64(xr[i])*r[row]*dot))
		}
	}
}

// Softmax over the last dim: y_i = e^{x_i − max} / Σ_j e^{x_j − max}.
// Backward: dx = y ⊙ (g − Σ_j g_j y_j).
func Softmax(x *Var) *Var {
	xs := x.Value.Shape()
	D := xs[len(xs)-1]
	y := rowwise(x.Value, D, func(in, out []float64) {
		lse := logSumExp(in)
		for i, v := range in {
			out[i] = math.Exp(v - lse)
		}
	})
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{rowwise2(g, y, D, func(g, y, out []float64) {
			var s float64
			for i := range g {
				s += g[i] * y[i]
			}
			for i := range g {
				out[i] = y[i] * (g[i] - s)
			}
		})}
	})
}

// LogSoftmax over the last dim: y_i = x_i − log Σ_j e^{x_j}.
// Backward: dx = g − softmax(x)·Σ_j g_j.
func LogSoftmax(x *Var) *Var {
	xs := x.Value.Shape()
	D := xs[len(xs)-1]
	y := rowwise(x.Value, D, func(in, out []float64) {
		lse := logSumExp(in)
		for i, v := range in {
			out[i] = v - lse
		}
	})
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{rowwise2(g, y, D, func(g, y, out []float64) {
			var s float64
			for _, v := range g {
				s += v
			}
			for i := range g {
				out[i] = g[i] - math.Exp(y[i])*s
			}
		})}
	})
}

// CrossEntropy returns the mean over tokens of −log softmax(logits)[target]:
// logits (..., V), targets one class per row (len = rows). Rows whose target
// equals ignore are skipped (pass a negative ignore, e.g. −100, to skip
// nothing but negative targets). The mean is over the counted rows; with
// none counted the loss is 0. Backward: (softmax − onehot)/count per row.
func CrossEntropy(logits *Var, targets []int, ignore int) *Var {
	ls := logits.Value.Shape()
	V := ls[len(ls)-1]
	rows := logits.Value.Len() / max(V, 1)
	if len(targets) != rows {
		tensor.Errorf("nn.CrossEntropy", "targets", "has %d entries, logits %s have %d rows", len(targets), tensor.ShapeString(ls), rows)
	}
	count := 0
	for _, t := range targets {
		if t == ignore {
			continue
		}
		if t < 0 || t >= V {
			tensor.Errorf("nn.CrossEntropy", "targets", "class %d out of range for %d logits (ignore index %d)", t, V, ignore)
		}
		count++
	}
	lsm := rowwise(logits.Value, V, func(in, out []float64) {
		lse := logSumExp(in)
		for i, v := range in {
			out[i] = v - lse
		}
	})
	lp := lsm.Data()
	var loss float64
	for r, t := range targets {
		if t != ignore {
			loss -= lp[r*V+t]
		}
	}
	if count > 0 {
		loss /= float64(count)
	}
	out := like(logits.Value).Fill(loss)
	return NewOp(out, []*Var{logits}, func(g *tensor.Tensor) []*tensor.Tensor {
		c := g.Data()[0] / float64(max(count, 1))
		gl := make([]float64, len(lp))
		for r, t := range targets {
			if t == ignore {
				continue
			}
			for i := r * V; i < (r+1)*V; i++ {
				gl[i] = c * math.Exp(lp[i])
			}
			gl[r*V+t] -= c
		}
		return []*tensor.Tensor{fromData(logits.Value.DType(), gl, ls)}
	})
}

func logSumExp(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	if math.IsInf(m, -1) {
		return m
	}
	var s float64
	for _, v := range x {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

// fromData returns a tensor of dtype and shape holding data (copied/rounded).
func fromData(dt tensor.DType, data []float64, shape []int) *tensor.Tensor {
	t := tensor.FromFloat64(data, shape...)
	if dt == tensor.Float64 {
		return t
	}
	return t.As(dt)
}

// rowwise applies f to each row of length D of x (in float64) → new tensor.
func rowwise(x *tensor.Tensor, D int, f func(in, out []float64)) *tensor.Tensor {
	in := x.Data()
	out := make([]float64, len(in))
	for r := 0; r+D <= len(in) && D > 0; r += D {
		f(in[r:r+D], out[r:r+D])
	}
	return fromData(x.DType(), out, x.Shape())
}

// rowwise2 is rowwise over two tensors of one shape.
func rowwise2(a, b *tensor.Tensor, D int, f func(a, b, out []float64)) *tensor.Tensor {
	x, y := a.Data(), b.Data()
	out := make([]float64, len(x))
	for r := 0; r+D <= len(x) && D > 0; r += D {
		f(x[r:r+D], y[r:r+D], out[r:r+D])
	}
	return fromData(a.DType(), out, a.Shape())
}
