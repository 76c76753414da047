package nn

import (
	"github.com/furious-lab/furious/tensor"
	"slices"
)

// Var is a node of the autograd graph: a value, its gradient after
// Backward, and how to send a gradient back to the nodes it was computed
// from. Leaves are made with Param (trainable) or Const (not trainable);
// every op in this package returns a new Var.
type Var struct {
	Value *tensor.Tensor // the forward value
	Grad  *tensor.Tensor // dL/dValue after Backward (same shape and dtype); nil before
	Name  string         // optional, used by Params, safetensors and error messages

	requiresGrad bool
	leaf         bool
	parents      []*Var
	back         BackwardFunc
}

// BackwardFunc maps the gradient g of an op's output (same shape as the
// output) to one gradient per parent, in parent order; a nil entry means
// "no gradient for this parent". It must not modify g.
type BackwardFunc func(g *tensor.Tensor) []*tensor.Tensor

// gradOff counts nested NoGrad calls. Not safe for concurrent graphs.
var gradOff int

// NoGrad runs f with graph recording off: ops inside return Vars with no
// parents and no gradient (evaluation, optimiser updates).
func NoGrad(f func()) {
	gradOff++
	defer func() { gradOff-- }()
	f()
}

// GradEnabled reports whether ops currently record the graph.
func GradEnabled() bool { return gradOff == 0 }

// Param wraps t as a trainable leaf: Backward fills its Grad. A float32 t
// is moved to the device tensor.SetDevice chose (FURIOUS_DEVICE), so a
// model built there trains there; by default it stays where it is.
func Param(t *tensor.Tensor) *Var { return &Var{Value: placed(t), requiresGrad: true, leaf: true} }

// NamedParam is Param with a name (used by safetensors and optimisers).
func NamedParam(name string, t *tensor.Tensor) *Var {
	v := Param(t)
	v.Name = name
	return v
}

// Const wraps t as a leaf that needs no gradient (inputs, masks).
func Const(t *tensor.Tensor) *Var { return &Var{Value: t, leaf: true} }

// RequiresGrad reports whether a gradient flows to v.
func (v *Var) RequiresGrad() bool { return v.requiresGrad }

// Shape returns the shape of v's value.
func (v *Var) Shape() []int { return v.Value.Shape() }

// DType returns the dtype of v's value.
func (v *Var) DType() tensor.DType { return v.Value.DType() }

// Item returns the value of a one-element Var (a loss).
func (v *Var) Item() float64 {
	if v.Value.Len() != 1 {
		tensor.ShapeMismatch("nn.Var.Item", "v", v.Value.Shape(), []int{}, "(want one element)")
	}
	return v.Value.Data()[0]
}

// ZeroGrad drops v's gradient.
func (v *Var) ZeroGrad() { v.Grad = nil }

// NewOp records an op: value computed from parents, back sending the output
// gradient to them. When no parent needs a gradient, or inside NoGrad, the
// result is a constant and back is never called. Packages outside nn (ssd
// primitives, custom layers) add differentiable ops through NewOp. After
// tensor.Interrupt (the notebook's interrupt) it panics with an *tensor.Error
// matching tensor.ErrInterrupted, so a forward pass stops between ops.
func NewOp(value *tensor.Tensor, parents []*Var, back BackwardFunc) *Var {
	tensor.CheckInterrupt("nn (forward)") // the notebook's interrupt stops a forward pass between ops
	out := &Var{Value: value}
	if gradOff > 0 {
		return out
	}
	for _, p := range parents {
		if p != nil && p.requiresGrad {
			out.requiresGrad = true
			break
		}
	}
	if out.requiresGrad {
		out.parents = parents
		out.back = back
	}
	return out
}

// Backward computes dv/dx for every leaf x that requires a gradient and adds
// it to x.Grad (gradients accumulate across calls until ZeroGrad). v must
// have one element. Intermediate gradients are released, and so is the
// graph: call Backward once per forward pass. tensor.Interrupt stops it
// between ops (a panic matching tensor.ErrInterrupted); leaves may then hold
// part of the gradient, which the next ZeroGrad clears.
func (v *Var) Backward() {
	if v.Value.Len() != 1 {
		tensor.ShapeMismatch("nn.Var.Backward", "v", v.Value.Shape(), []int{}, "(Backward starts from a one-element loss)")
	}
	seed := tensor.New(v.Value.DType(), v.Value.Shape()...).Fill(1).OnDeviceOf(v.Value)
	v.BackwardWith(seed)
}

// BackwardWith is Backward seeded with g = dL/dv (same shape as v) instead
// of 1, for a non-scalar v.
func (v *Var) BackwardWith(g *tensor.Tensor) {
	checkSame("nn.Var.BackwardWith", "g", g, v.Value)
	if !v.requiresGrad {
		return
	}
	order := topo(v)
	grads := map[*Var]*tensor.Tensor{v: g}
	owned := map[*Var]bool{} // grads[p] was allocated by the accumulation below
	if v.leaf {
		accumLeaf(v, g)
		return
	}
	for i := len(order) - 1; i >= 0; i-- {
		tensor.CheckInterrupt("nn.Var.Backward") // between ops; leaves may then hold partial gradients
		n := order[i]
		gn := grads[n]
		delete(grads, n)
		if gn == nil || n.back == nil {
			continue
		}
		pg := n.back(gn)
		for j, p := range n.parents {
			if p == nil || !p.requiresGrad || j >= len(pg) || pg[j] == nil {
				continue
			}
			checkSame("nn.backward", "gradient of parent", pg[j], p.Value)
			if p.leaf {
				accumLeaf(p, pg[j])
				continue
			}
			switch old, ok := grads[p]; {
			case !ok:
				grads[p] = pg[j]
			case owned[p]: // a sum made here, shared with nothing: add in place
				tensor.Axpy(1, pg[j], old)
			default:
				grads[p] = tensor.Add(old, pg[j])
				owned[p] = true
			}
		}
		n.back, n.parents = nil, nil
	}
}

// accumLeaf adds g to the leaf's gradient (a copy of g the first time, so
// that p.Grad never shares data with a graph tensor).
func accumLeaf(p *Var, g *tensor.Tensor) {
	if p.Grad == nil {
		p.Grad = g.Clone()
		return
	}
	tensor.Axpy(1, g, p.Grad)
}

// topo returns the non-leaf nodes reachable from v in topological order
// (parents before children), iteratively to allow deep graphs.
func topo(v *Var) []*Var {
	var order []*Var
	seen := map[*Var]bool{}
	type frame struct {
		n *Var
		i int
	}
	stack := []frame{{v, 0}}
	seen[v] = true
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.i < len(f.n.parents) {
			p := f.n.parents[f.i]
			f.i++
			if p != nil && p.requiresGrad && !p.leaf && !seen[p] {
				seen[p] = true
				stack = append(stack, frame{p, 0})
			}
			continue
		}
		order = append(order, f.n)
		stack = stack[:len(stack)-1]
	}
	return order
}

func checkSame(op, arg string, got, want *tensor.Tensor) {
	gs, ws := got.Shape(), want.Shape()
	if !slices.Equal(gs, ws) {
		tensor.ShapeMismatch(op, arg, gs, ws, "")
	}
	if got.DType() != want.DType() {
		tensor.Errorf(op, arg, "has dtype %s, want %s", got.DType(), want.DType())
	}
}
