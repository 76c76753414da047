package nn

import (
	"github.com/furious-lab/furious/tensor"
)

// Linear is y = x·W + b: W (in, out), b (out) or nil. Weights are drawn
// U(±1/√in) (PyTorch's default), the bias starts at 0.
type Linear struct {
	W, B *Var
}

// NewLinear returns a Linear layer named name (parameters name+".weight",
// name+".bias") with weights from init.
func NewLinear(init *Init, name string, in, out int, bias bool) *Linear {
	l := &Linear{W: NamedParam(name+".weight", init.Linear(in, out))}
	if bias {
		l.B = NamedParam(name+".bias", init.Full(0, out))
	}
	return l
}

// Forward maps x (..., in) → (..., out).
func (l *Linear) Forward(x *Var) *Var {
	y := MatMul(x, l.W)
	if l.B != nil {
		y = Add(y, l.B)
	}
	return y
}

// Params returns the layer's parameters.
func (l *Linear) Params() []*Var {
	if l.B == nil {
		return []*Var{l.W}
	}
	return []*Var{l.W, l.B}
}

// Embed is a token embedding table W (vocab, dim), drawn N(0, std²).
type Embed struct {
	W *Var
}

// NewEmbed returns an embedding named name (parameter name+".weight").
func NewEmbed(init *Init, name string, vocab, dim int, std float64) *Embed {
	return &Embed{W: NamedParam(name+".weight", init.Normal(std, vocab, dim))}
}

// Forward gathers rows for ids laid out as shape: → (shape..., dim).
func (e *Embed) Forward(ids []int, shape ...int) *Var { return Embedding(e.W, ids, shape...) }

// Params returns the table.
func (e *Embed) Params() []*Var { return []*Var{e.W} }

// Norm is an RMSNorm layer over the last dim with a weight (dim) starting
// at 1: y = x/√(mean(x²)+Eps) ⊙ w.
type Norm struct {
	W   *Var
	Eps float64
}

// NewNorm returns an RMSNorm named name (parameter name+".weight").
func NewNorm(init *Init, name string, dim int, eps float64) *Norm {
	return &Norm{W: NamedParam(name+".weight", init.Full(1, dim)), Eps: eps}
}

// Forward normalises x (..., dim).
func (n *Norm) Forward(x *Var) *Var { return RMSNorm(x, n.W, n.Eps) }

// Params returns the weight.
func (n *Norm) Params() []*Var { return []*Var{n.W} }

// SwiGLU is the gated MLP of Llama: y = Down(silu(Gate x) ⊙ Up x),
// x (..., dim) → hidden (..., hidden) → (..., dim); no biases.
type SwiGLU struct {
	Gate, Up, Down *Linear
}

// NewSwiGLU returns a SwiGLU MLP named name (name+".gate", ".up", ".down").
func NewSwiGLU(init *Init, name string, dim, hidden int) *SwiGLU {
	return &SwiGLU{
		Gate: NewLinear(init, name+".gate", dim, hidden, false),
		Up:   NewLinear(init, name+".up", dim, hidden, false),
		Down: NewLinear(init, name+".down", hidden, dim, false),
	}
}

// Forward maps x (..., dim) → (..., dim).
func (m *SwiGLU) Forward(x *Var) *Var {
	return m.Down.Forward(Mul(SiLU(m.Gate.Forward(x)), m.Up.Forward(x)))
}

// Params returns gate, up and down weights.
func (m *SwiGLU) Params() []*Var {
	return append(append(m.Gate.Params(), m.Up.Params()...), m.Down.Params()...)
}

// CountParams returns the number of scalars in params.
func CountParams(params []*Var) int {
	n := 0
	for _, p := range params {
		n += p.Value.Len()
	}
	return n
}

// Detach returns a Const holding v's value (no gradient flows through it).
func Detach(v *Var) *Var { return Const(v.Value) }

// ParamsByName indexes params by Name; it panics on an empty or repeated name.
func ParamsByName(params []*Var) map[string]*Var {
	m := make(map[string]*Var, len(params))
	for i, p := range params {
		if p.Name == "" {
			tensor.Errorf("nn.ParamsByName", "params", "parameter %d %s has no name", i, tensor.ShapeString(p.Value.Shape()))
		}
		if _, dup := m[p.Name]; dup {
			tensor.Errorf("nn.ParamsByName", "params", "name %q is used twice", p.Name)
		}
		m[p.Name] = p
	}
	return m
}
