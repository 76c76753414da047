package nn

import (
	"math"

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
// where g is the analytic and n = (L(x+h·e_i) − L(x−h·e_i)) / 2h the
// numeric gradient (the absolute error when both are below 1e-12).
// A few 1e-5 is a good h for O(1) inputs. Inputs are restored afterwards.
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
			r = tensor.Randn64(0x5eed, out.Value.Shape()...)
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
			old := x[j]
			x[j] = old + h
			var lp, lm float64
			NoGrad(func() { lp = loss(constVars(inputs)).Item() })
			x[j] = old - h
			NoGrad(func() { lm = loss(constVars(inputs)).Item() })
			x[j] = old
			num[j] = (lp - lm) / (2 * h)
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
	if !sameShape(a.Shape(), b.Shape()) {
		tensor.ShapeMismatch("nn.RelErr", "b", b.Shape(), a.Shape(), "(same as a)")
	}
	return relErr(a.Data(), b.Data())
}
