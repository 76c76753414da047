package nn

import (
	"math"

	"github.com/furious-lab/furious/tensor"
)

// Add returns a + b with numpy broadcasting (shapes aligned on the right,
// size-1 or missing dims stretch): (B, L, D) + (D) → (B, L, D).
func Add(a, b *Var) *Var {
	out := bcastZip("nn.Add", a.Value, b.Value, func(x, y float64) float64 { return x + y })
	return NewOp(out, []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{reduceTo(g, a.Value.Shape()), reduceTo(g, b.Value.Shape())}
	})
}

// Sub returns a − b with broadcasting (see Add).
func Sub(a, b *Var) *Var {
	out := bcastZip("nn.Sub", a.Value, b.Value, func(x, y float64) float64 { return x - y })
	return NewOp(out, []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{reduceTo(g, a.Value.Shape()), reduceTo(scaleNew(g, -1), b.Value.Shape())}
	})
}

// Mul returns a ⊙ b (elementwise) with broadcasting (see Add).
func Mul(a, b *Var) *Var {
	out := bcastZip("nn.Mul", a.Value, b.Value, func(x, y float64) float64 { return x * y })
	return NewOp(out, []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		var ga, gb *tensor.Tensor
		if a.requiresGrad {
			ga = reduceTo(bcastZip("nn.Mul", g, b.Value, func(x, y float64) float64 { return x * y }), a.Value.Shape())
		}
		if b.requiresGrad {
			gb = reduceTo(bcastZip("nn.Mul", g, a.Value, func(x, y float64) float64 { return x * y }), b.Value.Shape())
		}
		return []*tensor.Tensor{ga, gb}
	})
}

// Div returns a / b elementwise with broadcasting (see Add).
func Div(a, b *Var) *Var {
	out := bcastZip("nn.Div", a.Value, b.Value, func(x, y float64) float64 { return x / y })
	return NewOp(out, []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		var ga, gb *tensor.Tensor
		if a.requiresGrad {
			ga = reduceTo(bcastZip("nn.Div", g, b.Value, func(x, y float64) float64 { return x / y }), a.Value.Shape())
		}
		if b.requiresGrad { // d(a/b)/db = −out/b
			q := bcastZip("nn.Div", out, b.Value, func(x, y float64) float64 { return -x / y })
			gb = reduceTo(zipNew(g, q, func(x, y float64) float64 { return x * y }), b.Value.Shape())
		}
		return []*tensor.Tensor{ga, gb}
	})
}

// Scale returns c·x.
func Scale(x *Var, c float64) *Var {
	return NewOp(scaleNew(x.Value, c), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{scaleNew(g, c)}
	})
}

// AddScalar returns x + c.
func AddScalar(x *Var, c float64) *Var {
	return NewOp(mapNew(x.Value, func(v float64) float64 { return v + c }), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g}
	})
}

// Neg returns −x.
func Neg(x *Var) *Var { return Scale(x, -1) }

// unary records y = f(x) with dy/dx = df(x, y).
func unary(x *Var, f func(float64) float64, df func(x, y float64) float64) *Var {
	y := mapNew(x.Value, f)
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{zip3New(g, x.Value, y, func(g, x, y float64) float64 { return g * df(x, y) })}
	})
}

// Exp returns eˣ elementwise.
func Exp(x *Var) *Var {
	return unary(x, math.Exp, func(_, y float64) float64 { return y })
}

// Log returns ln x elementwise.
func Log(x *Var) *Var {
	return unary(x, math.Log, func(x, _ float64) float64 { return 1 / x })
}

// Square returns x² elementwise.
func Square(x *Var) *Var {
	return unary(x, func(v float64) float64 { return v * v }, func(x, _ float64) float64 { return 2 * x })
}

// Sqrt returns √x elementwise.
func Sqrt(x *Var) *Var {
	return unary(x, math.Sqrt, func(_, y float64) float64 { return 0.5 / y })
}

// Softplus returns log(1 + eˣ), computed stably; d/dx = σ(x).
func Softplus(x *Var) *Var {
	return unary(x, softplus, func(x, _ float64) float64 { return sigmoid(x) })
}

// Sigmoid returns σ(x) = 1/(1 + e⁻ˣ); d/dx = σ(1 − σ).
func Sigmoid(x *Var) *Var {
	return unary(x, sigmoid, func(_, y float64) float64 { return y * (1 - y) })
}

// LogSigmoid returns log σ(x) = −softplus(−x); d/dx = σ(−x).
func LogSigmoid(x *Var) *Var {
	return unary(x, func(v float64) float64 { return -softplus(-v) }, func(x, _ float64) float64 { return sigmoid(-x) })
}

// SiLU returns x·σ(x); d/dx = σ(x)(1 + x(1 − σ(x))). The backward takes
// σ(x) = y/x from the saved output (σ(0) = 1/2) instead of a second
// exponential.
func SiLU(x *Var) *Var {
	return unary(x, func(v float64) float64 { return v * sigmoid(v) }, func(x, y float64) float64 {
		s := 0.5
		if x != 0 {
			s = y / x
		}
		return s * (1 + x*(1-s))
	})
}

// ReLU returns max(x, 0); the gradient at 0 is taken as 0.
func ReLU(x *Var) *Var {
	return unary(x, func(v float64) float64 { return math.Max(v, 0) }, func(x, _ float64) float64 {
		if x > 0 {
			return 1
		}
		return 0
	})
}

// softplus(x) = log(1 + eˣ) without overflow: max(x, 0) + log1p(e^{−|x|}).
func softplus(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }

// sigmoid(x) = 1/(1 + e⁻ˣ), stable for large |x|.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}
