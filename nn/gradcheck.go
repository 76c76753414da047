package nn

import (
	"math"
	"slices"

	"github.com/furious-lab/furious/tensor"
)

// GradCheck compares the gradients Backward computes for f with central
// finite differences, in float64. f maps leaf Vars (made from inputs, which
// must be float64) to an output of any shape; the checked loss is
// L = Σ f(xs) ⊙ R with R a fixed random tensor (seed 0x5eed), so every output
// element contributes. For each input it returns the relative error
//
//	max_i |g_i − n_i| / max(max_i |g_i|, max_i |n_i|)
//
// where g is the analytic and n the numeric gradient (the absolute error
// when both are below 1e-12), n from the fourth-order central difference
//
//	n = (L(x−2h) − 8L(x−h) + 8L(x+h) − L(x+2h)) / 12h   (error O(h⁴))
//
// so that h can be large enough (1e-4 for O(1) inputs) for the rounding
// error ε·|L|/h to stay far below 1e-6 even for small gradients. Inputs
// are restored afterwards.
func GradCheck(f func(xs []*Var) *Var, inputs []*tensor.Tensor, h float64) []float64 {
	for i, in := range inputs {
		if in.DType() != tensor.Float64 {
			tensor.Errorf("nn.GradCheck", "inputs", "input %d is %s; gradient checks run in float64", i, in.DType())
		}
	}
	var r *tensor.Tensor
	loss := func(vs []*Var) *Var {
		out := f(vs)
		if r == nil {
			r = tensor.NewRNG(0x5eed).Randn64(out.Value.Shape()...)
		}
		return Sum(Mul(out, Const(r)))
	}
	vars := make([]*Var, len(inputs))
	for i, in := range inputs {
		vars[i] = Param(in)
	}
	loss(vars).Backward()
	errs := make([]float64, len(inputs))
	for i, in := range inputs {
		x := in.Float64s()
		num := make([]float64, len(x))
		for j := range x {
			num[j] = central(x, j, h, func() float64 { return loss(constVars(inputs)).Item() })
		}
		var ana []float64
		if vars[i].Grad != nil {
			ana = vars[i].Grad.Float64s()
		} else {
			ana = make([]float64, len(x))
		}
		errs[i] = relErr(ana, num)
	}
	return errs
}

func constVars(ts []*tensor.Tensor) []*Var {
	vs := make([]*Var, len(ts))
	for i, t := range ts {
		vs[i] = Const(t)
	}
	return vs
}

// relErr is max|a−b| / max(max|a|, max|b|), or max|a−b| when both maxima
// are below 1e-12.
func relErr(a, b []float64) float64 {
	var d, s float64
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
		s = math.Max(s, math.Max(math.Abs(a[i]), math.Abs(b[i])))
	}
	if s < 1e-12 {
		return d
	}
	return d / s
}

// RelErr is the relative error GradCheck reports, for two tensors of one
// shape (any dtypes): max|a−b| / max(max|a|, max|b|).
func RelErr(a, b *tensor.Tensor) float64 {
	if !slices.Equal(a.Shape(), b.Shape()) {
		tensor.ShapeMismatch("nn.RelErr", "b", b.Shape(), a.Shape(), "(same as a)")
	}
	return relErr(a.Data(), b.Data())
}

// GradCheckParams is GradCheck for a model: loss computes a one-element
// loss from params (float64, changed in place and restored), and the
// result is the relative error per parameter tensor. A tensor whose
// gradient is tiny next to the loss (e.g. A_log when dt ≈ 0.01) is limited
// by rounding, ε·|L|/h, not by the formula; when the error at h exceeds
// 1e-7 the check is repeated at 10h and h/10 and the smallest error is
// reported (a wrong gradient fails at all three). Gradients already in
// params are dropped.
func GradCheckParams(loss func() *Var, params []*Var, h float64) []float64 {
	for i, p := range params {
		if p.Value.DType() != tensor.Float64 {
			tensor.Errorf("nn.GradCheckParams", "params", "parameter %d (%s) is %s; gradient checks run in float64", i, p.Name, p.Value.DType())
		}
		p.Grad = nil
	}
	loss().Backward()
	errs := make([]float64, len(params))
	for i, p := range params {
		x := p.Value.Float64s()
		ana := make([]float64, len(x))
		if p.Grad != nil {
			ana = p.Grad.Float64s()
		}
		errs[i] = math.Inf(1)
		for k, step := range []float64{h, 10 * h, h / 10} {
			if k > 0 && errs[i] <= 1e-7 {
				break
			}
			num := make([]float64, len(x))
			for j := range x {
				num[j] = central(x, j, step, func() float64 { return loss().Item() })
			}
			errs[i] = math.Min(errs[i], relErr(ana, num))
		}
	}
	return errs
}

// central returns the fourth-order central difference of f w.r.t. x[j],
// evaluated without recording a graph; x[j] is restored.
func central(x []float64, j int, h float64, f func() float64) float64 {
	old := x[j]
	at := func(d float64) float64 {
		x[j] = old + d
		var v float64
		NoGrad(func() { v = f() })
		return v
	}
	n := (at(-2*h) - 8*at(-h) + 8*at(h) - at(2*h)) / (12 * h)
	x[j] = old
	return n
}
