package nn

import (
	"fmt"

	"github.com/furious-lab/furious/tensor"
)

// Reshape returns x with a new shape (one dim may be −1); data is shared.
func Reshape(x *Var, shape ...int) *Var {
	xs := x.Value.Shape()
	return NewOp(x.Value.Reshape(shape...), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g.Reshape(xs...)}
	})
}

// Permute reorders the axes of x: out dim i is x dim perm[i].
// (B, L, H, d) with perm (0, 2, 1, 3) → (B, H, L, d). The gradient is the
// inverse permutation of g.
func Permute(x *Var, perm ...int) *Var {
	xs := x.Value.Shape()
	checkPerm("nn.Permute", xs, perm)
	inv := make([]int, len(perm))
	for i, p := range perm {
		inv[p] = i
	}
	return NewOp(x.Value.Permute(perm...), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g.Permute(inv...)}
	})
}

// Transpose swaps axes i and j of x (negative axes count from the end).
func Transpose(x *Var, i, j int) *Var {
	n := x.Value.Rank()
	i, j = axis("nn.Transpose", i, n), axis("nn.Transpose", j, n)
	perm := make([]int, n)
	for k := range perm {
		perm[k] = k
	}
	perm[i], perm[j] = j, i
	return Permute(x, perm...)
}

// checkPerm panics naming op unless perm is a permutation of shape's axes.
func checkPerm(op string, shape, perm []int) {
	ok := len(perm) == len(shape)
	seen := make([]bool, len(shape))
	for _, p := range perm {
		if p < 0 || p >= len(shape) || seen[p] {
			ok = false
			break
		}
		seen[p] = true
	}
	if !ok {
		tensor.Errorf(op, "perm", "%v is not a permutation of the %d axes of %s", perm, len(shape), tensor.ShapeString(shape))
	}
}

// axis resolves a possibly negative axis against rank n.
func axis(op string, a, n int) int {
	if a < 0 {
		a += n
	}
	if a < 0 || a >= n {
		tensor.Errorf(op, "axis", "%d out of range for rank %d", a, n)
	}
	return a
}

// Slice returns x[..., start:end, ...] along axis (a copy). The gradient
// is g scattered back into zeros of x's shape (tensor.ScatterAdd over the
// range), where g lives.
func Slice(x *Var, ax, start, end int) *Var {
	xs := x.Value.Shape()
	ax = axis("nn.Slice", ax, len(xs))
	if start < 0 || end > xs[ax] || start > end {
		tensor.Errorf("nn.Slice", "range", "[%d:%d] out of range for axis %d of %s", start, end, ax, tensor.ShapeString(xs))
	}
	return NewOp(x.Value.Slice(ax, start, end), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		if start == 0 && end == xs[ax] {
			return []*tensor.Tensor{g}
		}
		return []*tensor.Tensor{tensor.Pad(g, ax, start, xs[ax]-end)}
	})
}

// Concat joins xs along axis; all other dims must agree. The gradient of
// each input is its slice of g.
func Concat(ax int, xs ...*Var) *Var {
	if len(xs) == 0 {
		tensor.Errorf("nn.Concat", "xs", "no tensors to join")
	}
	s0 := xs[0].Value.Shape()
	ax = axis("nn.Concat", ax, len(s0))
	vals := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		want := append([]int{}, s0...)
		want[ax] = -1
		tensor.CheckShape("nn.Concat", fmt.Sprintf("xs[%d]", i), x.Value.Shape(), "(all dims but the joined axis must match xs[0])", want...)
		tensor.CheckDType("nn.Concat", "xs[0]", xs[0].Value, fmt.Sprintf("xs[%d]", i), x.Value)
		vals[i] = x.Value
	}
	return NewOp(tensor.Concat(ax, vals...), xs, func(g *tensor.Tensor) []*tensor.Tensor {
		gs := make([]*tensor.Tensor, len(xs))
		o := 0
		for i, x := range xs {
			n := x.Value.Dim(ax)
			if x.requiresGrad {
				gs[i] = g.Slice(ax, o, o+n)
			}
			o += n
		}
		return gs
	})
}

// Cumsum returns the inclusive cumulative sum along axis:
// y_t = Σ_{u≤t} x_u. Its gradient is the reverse cumulative sum
// dx_u = Σ_{t≥u} dy_t (how per-step log-decays a_t get their gradient from
// the A-mask cumsum Acs).
func Cumsum(x *Var, ax int) *Var {
	ax = axis("nn.Cumsum", ax, x.Value.Rank())
	return NewOp(tensor.Cumsum(x.Value, ax), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.CumsumReverse(g, ax)}
	})
}

// Embedding gathers rows of table (V, D) for ids; the result has shape
// (shape..., D), where shape defaults to (len(ids)). The gradient is a
// scatter-add into the rows used (tensor.ScatterAdd).
func Embedding(table *Var, ids []int, shape ...int) *Var {
	ts := table.Value.Shape()
	tensor.CheckShape("nn.Embedding", "table", ts, "(want a 2-D (vocab, dim) table)", -1, -1)
	if len(shape) == 0 {
		shape = []int{len(ids)}
	}
	n := 1
	for _, s := range shape {
		n *= s
	}
	if n != len(ids) {
		tensor.Errorf("nn.Embedding", "ids", "has %d ids, shape %s needs %d", len(ids), tensor.ShapeString(shape), n)
	}
	V, D := ts[0], ts[1]
	for _, id := range ids {
		if id < 0 || id >= V {
			tensor.Errorf("nn.Embedding", "ids", "id %d out of range for a vocabulary of %d", id, V)
		}
	}
	out := tensor.Gather(table.Value, 0, ids).Reshape(append(append([]int{}, shape...), D)...)
	return NewOp(out, []*Var{table}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.ScatterAdd(g.Reshape(len(ids), D), 0, ids, V)}
	})
}
