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
// (B, L, H, d) with perm (0, 2, 1, 3) → (B, H, L, d).
func Permute(x *Var, perm ...int) *Var {
	xs := x.Value.Shape()
	checkPerm("nn.Permute", xs, perm)
	inv := make([]int, len(perm))
	for i, p := range perm {
		inv[p] = i
	}
	return NewOp(permuteT(x.Value, perm), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{permuteT(g, inv)}
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

func permuteT(t *tensor.Tensor, perm []int) *tensor.Tensor {
	s := t.Shape()
	os := make([]int, len(perm))
	for i, p := range perm {
		os[i] = s[p]
	}
	if t.DType() == tensor.Float64 {
		return tensor.FromFloat64(permuteData(t.Float64s(), s, perm), os...)
	}
	return tensor.FromFloat32(permuteData(t.Float32s(), s, perm), os...)
}

// split3 views shape around axis ax as (outer, n, inner).
func split3(shape []int, ax int) (outer, n, inner int) {
	return numel(shape[:ax]), shape[ax], numel(shape[ax+1:])
}

// copyBlock copies, for each of outer rows, cnt·inner elements from src at
// row offset so (row length sn·inner) to dst at offset do (row length dn·inner).
func copyBlock(dst, src *tensor.Tensor, outer, inner, dn, do, sn, so, cnt int, add bool) {
	if dst.DType() == tensor.Float64 {
		copyRows(dst.Float64s(), src.Float64s(), outer, inner, dn, do, sn, so, cnt, add)
	} else {
		copyRows(dst.Float32s(), src.Float32s(), outer, inner, dn, do, sn, so, cnt, add)
	}
}

func copyRows[T float](d, s []T, outer, inner, dn, do, sn, so, cnt int, add bool) {
	for o := 0; o < outer; o++ {
		dd := d[(o*dn+do)*inner : (o*dn+do+cnt)*inner]
		ss := s[(o*sn+so)*inner : (o*sn+so+cnt)*inner]
		if add {
			for i := range dd {
				dd[i] += ss[i]
			}
		} else {
			copy(dd, ss)
		}
	}
}

// Slice returns x[..., start:end, ...] along axis (a copy).
func Slice(x *Var, ax, start, end int) *Var {
	xs := x.Value.Shape()
	ax = axis("nn.Slice", ax, len(xs))
	if start < 0 || end > xs[ax] || start > end {
		tensor.Errorf("nn.Slice", "range", "[%d:%d] out of range for axis %d of %s", start, end, ax, tensor.ShapeString(xs))
	}
	outer, n, inner := split3(xs, ax)
	os := append([]int{}, xs...)
	os[ax] = end - start
	out := like(x.Value, os...)
	copyBlock(out, x.Value, outer, inner, end-start, 0, n, start, end-start, false)
	return NewOp(out, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		gx := like(g, xs...)
		copyBlock(gx, g, outer, inner, n, start, end-start, 0, end-start, false)
		return []*tensor.Tensor{gx}
	})
}

// Concat joins xs along axis; all other dims must agree.
func Concat(ax int, xs ...*Var) *Var {
	if len(xs) == 0 {
		tensor.Errorf("nn.Concat", "xs", "no tensors to join")
	}
	s0 := xs[0].Value.Shape()
	ax = axis("nn.Concat", ax, len(s0))
	os := append([]int{}, s0...)
	os[ax] = 0
	for i, x := range xs {
		s := x.Value.Shape()
		want := append([]int{}, s0...)
		want[ax] = -1
		tensor.CheckShape("nn.Concat", fmt.Sprintf("xs[%d]", i), s, "(all dims but the joined axis must match xs[0])", want...)
		if x.Value.DType() != xs[0].Value.DType() {
			tensor.Errorf("nn.Concat", fmt.Sprintf("xs[%d]", i), "has dtype %s, want %s", x.Value.DType(), xs[0].Value.DType())
		}
		os[ax] += s[ax]
	}
	outer, total, inner := split3(os, ax)
	out := like(xs[0].Value, os...)
	offs := make([]int, len(xs))
	o := 0
	for i, x := range xs {
		n := x.Value.Dim(ax)
		offs[i] = o
		copyBlock(out, x.Value, outer, inner, total, o, n, 0, n, false)
		o += n
	}
	return NewOp(out, xs, func(g *tensor.Tensor) []*tensor.Tensor {
		gs := make([]*tensor.Tensor, len(xs))
		for i, x := range xs {
			if !x.requiresGrad {
				continue
			}
			n := x.Value.Dim(ax)
			gs[i] = like(g, x.Value.Shape()...)
			copyBlock(gs[i], g, outer, inner, n, 0, total, offs[i], n, false)
		}
		return gs
	})
}

// Cumsum returns the inclusive cumulative sum along axis:
// y_t = Σ_{u≤t} x_u. Its gradient is the reverse cumulative sum
// dx_u = Σ_{t≥u} dy_t (how per-step log-decays a_t get their gradient from
// the A-mask cumsum Acs).
func Cumsum(x *Var, ax int) *Var {
	xs := x.Value.Shape()
	ax = axis("nn.Cumsum", ax, len(xs))
	outer, n, inner := split3(xs, ax)
	return NewOp(cumsumT(x.Value, outer, n, inner, false), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{cumsumT(g, outer, n, inner, true)}
	})
}

func cumsumT(t *tensor.Tensor, outer, n, inner int, reverse bool) *tensor.Tensor {
	out := zerosLike(t)
	if t.DType() == tensor.Float64 {
		cumsumData(out.Float64s(), t.Float64s(), outer, n, inner, reverse)
	} else {
		cumsumData(out.Float32s(), t.Float32s(), outer, n, inner, reverse)
	}
	return out
}

func cumsumData[T float](dst, src []T, outer, n, inner int, reverse bool) {
	for o := 0; o < outer; o++ {
		base := o * n * inner
		for i := 0; i < inner; i++ {
			var acc float64
			for s := 0; s < n; s++ {
				t := s
				if reverse {
					t = n - 1 - s
				}
				k := base + t*inner + i
				acc += float64(src[k])
				dst[k] = T(acc)
			}
		}
	}
}

// Embedding gathers rows of table (V, D) for ids; the result has shape
// (shape..., D), where shape defaults to (len(ids)). The gradient is a
// scatter-add into the rows used.
func Embedding(table *Var, ids []int, shape ...int) *Var {
	ts := table.Value.Shape()
	tensor.CheckShape("nn.Embedding", "table", ts, "(want a 2-D (vocab, dim) table)", -1, -1)
	if len(shape) == 0 {
		shape = []int{len(ids)}
	}
	if numel(shape) != len(ids) {
		tensor.Errorf("nn.Embedding", "ids", "has %d ids, shape %s needs %d", len(ids), tensor.ShapeString(shape), numel(shape))
	}
	V, D := ts[0], ts[1]
	for _, id := range ids {
		if id < 0 || id >= V {
			tensor.Errorf("nn.Embedding", "ids", "id %d out of range for a vocabulary of %d", id, V)
		}
	}
	out := like(table.Value, append(append([]int{}, shape...), D)...)
	for i, id := range ids {
		copyBlock(out, table.Value, 1, D, len(ids), i, V, id, 1, false)
	}
	return NewOp(out, []*Var{table}, func(g *tensor.Tensor) []*tensor.Tensor {
		gt := like(g, V, D)
		for i, id := range ids {
			copyBlock(gt, g, 1, D, V, id, len(ids), i, 1, true)
		}
		return []*tensor.Tensor{gt}
	})
}
