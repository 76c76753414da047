package nn

import (
	"github.com/furious-lab/furious/tensor"
)

// Elementwise ops with NumPy broadcasting (tensor.Add, ...); the gradient of
// a broadcast operand is the output gradient summed back to its shape
// (tensor.SumTo), and the unary functions' gradients are one fused pass
// each (tensor.UnaryGrad).

// broadcast checks that a and b share a dtype and broadcast, naming op.
func broadcast(op string, a, b *Var) {
	tensor.CheckDType(op, "a", a.Value, "b", b.Value)
	tensor.BroadcastShape(op, a.Value.Shape(), b.Value.Shape())
}

// Add returns a + b with numpy broadcasting (shapes aligned on the right,
// size-1 or missing dims stretch): (B, L, D) + (D) → (B, L, D).
func Add(a, b *Var) *Var {
	broadcast("nn.Add", a, b)
	return NewOp(tensor.Add(a.Value, b.Value), []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{sumTo(a, g), sumTo(b, g)}
	})
}

// sumTo is g summed to p's shape when p needs a gradient, else nil.
func sumTo(p *Var, g *tensor.Tensor) *tensor.Tensor {
	if !p.requiresGrad {
		return nil
	}
	return tensor.SumTo(g, p.Value.Shape()...)
}

// Sub returns a − b with broadcasting (see Add).
func Sub(a, b *Var) *Var {
	broadcast("nn.Sub", a, b)
	return NewOp(tensor.Sub(a.Value, b.Value), []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		var gb *tensor.Tensor
		if b.requiresGrad {
			gb = tensor.Neg(tensor.SumTo(g, b.Value.Shape()...))
		}
		return []*tensor.Tensor{sumTo(a, g), gb}
	})
}

// Mul returns a ⊙ b (elementwise) with broadcasting (see Add).
func Mul(a, b *Var) *Var {
	broadcast("nn.Mul", a, b)
	return NewOp(tensor.Mul(a.Value, b.Value), []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		var ga, gb *tensor.Tensor
		if a.requiresGrad {
			ga = tensor.SumTo(tensor.Mul(g, b.Value), a.Value.Shape()...)
		}
		if b.requiresGrad {
			gb = tensor.SumTo(tensor.Mul(g, a.Value), b.Value.Shape()...)
		}
		return []*tensor.Tensor{ga, gb}
	})
}

// Div returns a / b elementwise with broadcasting (see Add). Gradients:
// da = g/b, db = −(g/b)·(a/b), each summed to its operand's shape.
func Div(a, b *Var) *Var {
	broadcast("nn.Div", a, b)
	out := tensor.Div(a.Value, b.Value)
	return NewOp(out, []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		gd := tensor.Div(g, b.Value)
		var gb *tensor.Tensor
		if b.requiresGrad {
			gb = tensor.Neg(tensor.SumTo(tensor.Mul(gd, out), b.Value.Shape()...))
		}
		return []*tensor.Tensor{sumTo(a, gd), gb}
	})
}

// Scale returns c·x.
func Scale(x *Var, c float64) *Var {
	return NewOp(tensor.Scale(x.Value, c), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Scale(g, c)}
	})
}

// AddScalar returns x + c.
func AddScalar(x *Var, c float64) *Var {
	return NewOp(tensor.AddScalar(x.Value, c), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g}
	})
}

// Neg returns −x.
func Neg(x *Var) *Var { return Scale(x, -1) }

// unary records y = f(x) with the gradient tensor.UnaryGrad(name, g, x, y).
func unary(x *Var, name string, f func(*tensor.Tensor) *tensor.Tensor) *Var {
	y := f(x.Value)
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.UnaryGrad(name, g, x.Value, y, 0)}
	})
}

// Exp returns eˣ elementwise; d/dx = eˣ.
func Exp(x *Var) *Var { return unary(x, "exp", tensor.Exp) }

// Log returns ln x elementwise; d/dx = 1/x.
func Log(x *Var) *Var { return unary(x, "log", tensor.Log) }

// Square returns x² elementwise; d/dx = 2x.
func Square(x *Var) *Var { return unary(x, "square", tensor.Square) }

// Sqrt returns √x elementwise; d/dx = 1/(2√x).
func Sqrt(x *Var) *Var { return unary(x, "sqrt", tensor.Sqrt) }

// Softplus returns log(1 + eˣ) (tensor.Softplus); d/dx = σ(x).
func Softplus(x *Var) *Var { return unary(x, "softplus", tensor.Softplus) }

// Sigmoid returns σ(x) = 1/(1 + e⁻ˣ); d/dx = σ(1 − σ).
func Sigmoid(x *Var) *Var { return unary(x, "sigmoid", tensor.Sigmoid) }

// LogSigmoid returns log σ(x) = −softplus(−x); d/dx = σ(−x).
func LogSigmoid(x *Var) *Var { return unary(x, "logsigmoid", tensor.LogSigmoid) }

// SiLU returns x·σ(x); d/dx = σ(x)(1 + x(1 − σ(x))). The backward takes
// σ(x) = y/x from the saved output (σ(0) = 1/2) instead of a second
// exponential.
func SiLU(x *Var) *Var { return unary(x, "silu", tensor.SiLU) }

// ReLU returns max(x, 0); the gradient at 0 is taken as 0.
func ReLU(x *Var) *Var { return unary(x, "relu", tensor.ReLU) }
