package tensor

import (
	"fmt"
	"math"
)

// Selection and construction functions a PyTorch or NumPy user reaches for:
// Arange and Linspace (ranges), Tril and Triu (triangles of the last two
// axes), ArgMax and ArgMin along an axis, Where (choice by a condition,
// broadcast), Stack (along a new axis), Index and Take (indexing along an
// axis; Gather is the []int form). Each runs on the CPU for host tensors;
// for resident operands it runs on their device when it is a composition of
// device operations (Stack, Index, Take) and otherwise on the CPU through
// hostFallback, its result moving back to their device (OnDeviceOf).

// Arange returns the float32 vector start, start+step, … up to but
// excluding stop: n = ⌈(stop − start)/step⌉ values x_i = start + i·step
// computed in float64 and rounded once (numpy.arange, torch.arange).
// Arange(0, 5, 1) is [0 1 2 3 4]; a negative step counts down; n ≤ 0 gives
// an empty vector. Placed on the device SetDevice chose.
func Arange(start, stop, step float64) *Tensor {
	return placed(arange("tensor.Arange", Float32, start, stop, step))
}

// Arange64 is Arange in float64.
func Arange64(start, stop, step float64) *Tensor {
	return arange("tensor.Arange64", Float64, start, stop, step)
}

func arange(op string, dt DType, start, stop, step float64) *Tensor {
	if step == 0 || math.IsNaN(step) || math.IsInf(step, 0) {
		Errorf(op, "step", "is %v; want a finite non-zero step", step)
	}
	if math.IsNaN(start) || math.IsInf(start, 0) || math.IsNaN(stop) || math.IsInf(stop, 0) {
		Errorf(op, "range", "[%v, %v) is not finite", start, stop)
	}
	c := math.Max(0, math.Ceil((stop-start)/step))
	if c > 1<<48 {
		Errorf(op, "range", "[%v, %v) in steps of %v has %g values", start, stop, step, c)
	}
	n := int(c)
	t := New(dt, n)
	for i := 0; i < n; i++ {
		t.setFlat(i, start+float64(i)*step)
	}
	return t
}

// Linspace returns n evenly spaced float32 values from start to stop
// inclusive: x_i = start + i·(stop − start)/(n − 1), the last exactly stop
// (numpy.linspace, torch.linspace); n = 1 gives [start], n = 0 an empty
// vector. Placed on the device SetDevice chose.
func Linspace(start, stop float64, n int) *Tensor {
	return placed(linspace("tensor.Linspace", Float32, start, stop, n))
}

// Linspace64 is Linspace in float64.
func Linspace64(start, stop float64, n int) *Tensor {
	return linspace("tensor.Linspace64", Float64, start, stop, n)
}

func linspace(op string, dt DType, start, stop float64, n int) *Tensor {
	if n < 0 {
		Errorf(op, "n", "is %d; want n ≥ 0", n)
	}
	t := New(dt, n)
	if n == 0 {
		return t
	}
	step := 0.0
	if n > 1 {
		step = (stop - start) / float64(n-1)
	}
	for i := 0; i < n; i++ {
		t.setFlat(i, start+float64(i)*step)
	}
	if n > 1 {
		t.setFlat(n-1, stop)
	}
	return t
}

// Tril returns the lower triangle of the last two axes of x (…, m, n):
// y[…, i, j] = x[…, i, j] where j − i ≤ k, else 0. k = 0 keeps the main
// diagonal, k = −1 also drops it, k > 0 keeps k diagonals above it
// (torch.tril, numpy.tril). Kept entries are copied exactly (±Inf and NaN
// included), the others are zeros. Tril(Ones(L, L), 0) is the causal mask.
func Tril(x *Tensor, k int) *Tensor { return triangle("tensor.Tril", x, k, true) }

// Triu returns the upper triangle of the last two axes of x (…, m, n):
// y[…, i, j] = x[…, i, j] where j − i ≥ k, else 0 (torch.triu,
// numpy.triu); Triu(x, 1) is x strictly above the diagonal.
func Triu(x *Tensor, k int) *Tensor { return triangle("tensor.Triu", x, k, false) }

func triangle(op string, x *Tensor, k int, lower bool) *Tensor {
	if len(x.shape) < 2 {
		ShapeMismatch(op, "x", x.shape, []int{-1, -1}, "(needs at least two axes, (…, m, n))")
	}
	hostFallback(op, nil, x)
	y := like(op, x, x.shape)
	m, n := x.shape[len(x.shape)-2], x.shape[len(x.shape)-1]
	if x.dtype == Float64 {
		triangleInto(y.f64, x.f64, m, n, k, lower)
	} else {
		triangleInto(y.f32, x.f32, m, n, k, lower)
	}
	return y.OnDeviceOf(x)
}

// triangleInto copies the kept part of each row of each (m, n) matrix of x
// into the zeroed y: columns [0, i+k] (lower) or [i+k, n) (upper) of row i.
func triangleInto[T float](y, x []T, m, n, k int, lower bool) {
	if m == 0 || n == 0 {
		return
	}
	for base := 0; base < len(x); base += n {
		i := (base / n) % m
		lo, hi := 0, min(n, max(0, i+k+1))
		if !lower {
			lo, hi = min(n, max(0, i+k)), n
		}
		copy(y[base+lo:base+hi], x[base+lo:base+hi])
	}
}

// ArgMax returns the index of the largest element along axis: viewing x as
// (outer, n, inner) around axis, y[o, i] = argmax_j x[o, j, i], the first
// on ties; NaN counts as larger than any number (the first NaN wins), as in
// NumPy and PyTorch. The indices are stored in x's dtype (float32 holds
// integers exactly up to 2²⁴, a larger axis is an error); axis is removed,
// or kept with size 1 when keepdim. Ints() turns them into []int (for
// Gather); Take accepts them as they are. An empty axis is an error.
func ArgMax(x *Tensor, axis int, keepdim bool) *Tensor {
	return argExt("tensor.ArgMax", x, axis, keepdim, true)
}

// ArgMin is ArgMax for the smallest element (NaN still wins, as in NumPy).
func ArgMin(x *Tensor, axis int, keepdim bool) *Tensor {
	return argExt("tensor.ArgMin", x, axis, keepdim, false)
}

func argExt(op string, x *Tensor, axis int, keepdim, isMax bool) *Tensor {
	ax := axisOf(op, axis, x.shape)
	outer, n, inner := split(x.shape, ax)
	if n == 0 {
		panic(&Error{Op: op, Arg: "x", Got: x.Shape(), Msg: fmt.Sprintf("(axis %d is empty: no element to pick)", ax), Kind: ErrShape})
	}
	if x.dtype == Float32 && n > 1<<24 {
		Errorf(op, "x", "axis %d has %d elements; float32 indices are exact up to 2^24: convert x with As(tensor.Float64)", ax, n)
	}
	shape := reducedShape(x.shape, ax, keepdim)
	hostFallback(op, nil, x)
	y := like(op, x, shape)
	if x.dtype == Float64 {
		argExtInto(y.f64, x.f64, outer, n, inner, isMax)
	} else {
		argExtInto(y.f32, x.f32, outer, n, inner, isMax)
	}
	return y.OnDeviceOf(x)
}

// reducedShape is shape without axis ax, or with it set to 1 when keepdim.
func reducedShape(shape []int, ax int, keepdim bool) []int {
	if keepdim {
		out := append([]int{}, shape...)
		out[ax] = 1
		return out
	}
	return append(append([]int{}, shape[:ax]...), shape[ax+1:]...)
}

// argExtInto writes into y (outer, inner), zeroed, the index along the
// middle axis of x (outer, n, inner) of the largest (isMax) or smallest
// value; the first NaN wins, the first extreme wins ties.
func argExtInto[T float](y, x []T, outer, n, inner int, isMax bool) {
	best := make([]T, inner)
	nan := make([]bool, inner)
	for o := 0; o < outer; o++ {
		base := o * n * inner
		yo := y[o*inner : (o+1)*inner]
		copy(best, x[base:base+inner])
		for i, v := range best {
			nan[i] = v != v
		}
		for j := 1; j < n; j++ {
			row := x[base+j*inner : base+(j+1)*inner]
			for i, v := range row {
				switch {
				case nan[i]:
				case v != v:
					nan[i], yo[i] = true, T(j)
				case (isMax && v > best[i]) || (!isMax && v < best[i]):
					best[i], yo[i] = v, T(j)
				}
			}
		}
	}
}

// Ints returns t's values as ints: the indices ArgMax, ArgMin and Arange
// give, for Gather and Take. A value that is not an integer is an error
// naming its position.
func (t *Tensor) Ints() []int {
	d := t.Data()
	out := make([]int, len(d))
	for i, v := range d {
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			Errorf("tensor.Ints", "t", "value %d is %v, not an integer", i, v)
		}
		out[i] = int(v)
	}
	return out
}

// Where returns a where cond is non-zero and b elsewhere, elementwise with
// NumPy broadcasting of all three shapes: y[i] = cond[i] ≠ 0 ? a[i] : b[i]
// (a NaN condition counts as true, as in NumPy). a and b must have one
// dtype, the result's; cond may be float32 or float64 (a mask such as
// Tril(Ones(L, L), 0) or Apply(x, f) with f giving 0 or 1). Where(mask, s,
// Full(math.Inf(-1))) masks attention scores.
func Where(cond, a, b *Tensor) *Tensor {
	const op = "tensor.Where"
	sameDType(op, a, b)
	ab := BroadcastShape(op, a.shape, b.shape)
	shape := broadcastNamed(op, "cond", cond.shape, ab, "(does not broadcast with a and b, which broadcast to that shape)")
	hostFallback(op, nil, cond, a, b)
	mask := make([]bool, cond.Len())
	for i, v := range cond.Data() {
		mask[i] = v != 0
	}
	y := like(op, a, shape)
	if a.dtype == Float64 {
		whereInto(y.f64, mask, a.f64, b.f64, cond.shape, a.shape, b.shape, shape)
	} else {
		whereInto(y.f32, mask, a.f32, b.f32, cond.shape, a.shape, b.shape, shape)
	}
	return y.OnDeviceOf(cond, a, b)
}

// broadcastNamed returns the shape x (argument arg) and other broadcast to,
// panicking with a shape error naming arg, x's shape and other's otherwise.
func broadcastNamed(op, arg string, x, other []int, note string) []int {
	n := max(len(x), len(other))
	out := make([]int, n)
	for i := 1; i <= n; i++ {
		dx, do := 1, 1
		if i <= len(x) {
			dx = x[len(x)-i]
		}
		if i <= len(other) {
			do = other[len(other)-i]
		}
		switch {
		case dx == do || dx == 1:
			out[n-i] = do
		case do == 1:
			out[n-i] = dx
		default:
			ShapeMismatch(op, arg, x, other, note)
		}
	}
	return out
}

// whereInto walks the output (shape out) in row-major order with the
// broadcast strides of cond, a and b.
func whereInto[T float](y []T, cond []bool, a, b []T, sc, sa, sb, out []int) {
	if len(y) == 0 {
		return
	}
	tc, ta, tb := bstrides(sc, out), bstrides(sa, out), bstrides(sb, out)
	r := len(out)
	idx := make([]int, r)
	oc, oa, ob := 0, 0, 0
	for k := range y {
		if cond[oc] {
			y[k] = a[oa]
		} else {
			y[k] = b[ob]
		}
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			oc, oa, ob = oc+tc[d], oa+ta[d], ob+tb[d]
			if idx[d] < out[d] {
				break
			}
			oc, oa, ob = oc-tc[d]*out[d], oa-ta[d]*out[d], ob-tb[d]*out[d]
			idx[d] = 0
		}
	}
}

// Stack joins tensors of one shape and dtype along a new axis: k tensors
// (B, d) stacked at axis 0 give (k, B, d), at axis 1 (B, k, d), at −1
// (B, d, k) (torch.stack, numpy.stack). axis ranges over [−(r+1), r] for
// rank r, like Unsqueeze. It is Concat of the tensors unsqueezed at axis,
// so resident operands are stacked on their device.
func Stack(axis int, ts ...*Tensor) *Tensor {
	const op = "tensor.Stack"
	if len(ts) == 0 {
		Errorf(op, "ts", "needs at least one tensor")
	}
	first := ts[0]
	r := len(first.shape)
	a := axis
	if a < 0 {
		a += r + 1
	}
	if a < 0 || a > r {
		panic(&Error{Op: op, Arg: "axis", Got: first.Shape(), Msg: fmt.Sprintf("(axis %d out of range for a new axis of rank %d, [%d, %d])", axis, r, -(r + 1), r), Kind: ErrShape})
	}
	us := make([]*Tensor, len(ts))
	for i, t := range ts {
		name := fmt.Sprintf("ts[%d]", i)
		CheckDType(op, "ts[0]", first, name, t)
		CheckShape(op, name, t.shape, "(every tensor must have ts[0]'s shape)", first.shape...)
		us[i] = t.Unsqueeze(a)
	}
	mixedDevices(op, ts...)
	return Concat(a, us...)
}

// Index returns x at index i along axis, with that axis removed (x[:, i]
// in NumPy, torch.select): (B, L, d) at axis 1, index −1 gives the last
// step (B, d). Negative i counts from the end of the axis.
func Index(x *Tensor, axis, i int) *Tensor {
	const op = "tensor.Index"
	ax := axisOf(op, axis, x.shape)
	n := x.shape[ax]
	j := i
	if j < 0 {
		j += n
	}
	if j < 0 || j >= n {
		panic(&Error{Op: op, Arg: "i", Got: x.Shape(), Msg: fmt.Sprintf("(index %d out of range for axis %d of size %d)", i, ax, n), Kind: ErrShape})
	}
	return x.Slice(ax, j, j+1).Squeeze(ax)
}

// Take returns x indexed along axis by the index tensor idx (integer
// values, negative counting from the end): NumPy's take, the axis replaced
// by idx's axes, y[o…, j…, i…] = x[o…, idx[j…], i…]. An embedding table
// (V, D) with ids (B, L) at axis 0 gives (B, L, D); a vector with
// ArgMax(v, 0, false) (a scalar) gives the largest element as a scalar.
// Gather is the form with a []int (one axis).
func Take(x *Tensor, axis int, idx *Tensor) *Tensor {
	const op = "tensor.Take"
	ax := axisOf(op, axis, x.shape)
	n := x.shape[ax]
	ids := idx.Ints()
	for j, v := range ids {
		if v < 0 {
			v += n
		}
		if v < 0 || v >= n {
			Errorf(op, "idx", "idx value %d (flat position %d) is out of range for axis %d of size %d (x has shape %s)", ids[j], j, ax, n, ShapeString(x.shape))
		}
		ids[j] = v
	}
	shape := append(append(append([]int{}, x.shape[:ax]...), idx.shape...), x.shape[ax+1:]...)
	return Gather(x, ax, ids).Reshape(shape...)
}
