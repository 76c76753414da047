package tensor

import (
	"fmt"

	"github.com/furious-lab/furious/backend"
)

// Layout operations: Permute, Transpose, Slice, Concat and Cumsum move
// elements and return contiguous copies (the result never shares data with
// the input); Unsqueeze and Squeeze only change the shape and share data,
// like Reshape.

// Permute returns x with its axes reordered: result axis i is x's axis
// perm[i], so (B, L, H, d).Permute(0, 2, 1, 3) is (B, H, L, d). Negative
// entries count from the end.
func (t *Tensor) Permute(perm ...int) *Tensor {
	const op = "tensor.Permute"
	r := len(t.shape)
	if len(perm) != r {
		Errorf(op, "perm", "%v has %d axes, the tensor %s has %d", perm, len(perm), ShapeString(t.shape), r)
	}
	seen := make([]bool, r)
	p := make([]int, r)
	shape := make([]int, r)
	for i, a := range perm {
		a = axisOf(op, a, t.shape)
		if seen[a] {
			Errorf(op, "perm", "%v repeats axis %d", perm, a)
		}
		seen[a] = true
		p[i] = a
		shape[i] = t.shape[a]
	}
	st, gs := strides(t.shape), make([]int, r)
	for i, a := range p {
		gs[i] = st[a]
	}
	y, err := gatherDevice(op, t, 0, shape, gs)
	if y != nil {
		return y
	}
	hostFallback(op, err, t)
	y = like(op, t, shape)
	if t.dtype == Float64 {
		permuteInto(y.f64, t.f64, t.shape, p)
	} else {
		permuteInto(y.f32, t.f32, t.shape, p)
	}
	return y.OnDeviceOf(t)
}

// Transpose returns x with axes i and j swapped (negative counts from the
// end): x.Transpose(-1, -2) turns (…, m, n) into (…, n, m).
func (t *Tensor) Transpose(i, j int) *Tensor {
	i, j = axisOf("tensor.Transpose", i, t.shape), axisOf("tensor.Transpose", j, t.shape)
	perm := make([]int, len(t.shape))
	for k := range perm {
		perm[k] = k
	}
	perm[i], perm[j] = j, i
	return t.Permute(perm...)
}

// permuteInto writes src (shape) permuted by p into dst, in dst's memory
// order; the innermost destination axis is the tight loop.
func permuteInto[T float](dst, src []T, shape, p []int) {
	r := len(shape)
	if len(dst) == 0 {
		return
	}
	if r == 0 {
		dst[0] = src[0]
		return
	}
	st := strides(shape)
	out := make([]int, r)
	sst := make([]int, r) // source stride of each destination axis
	for i, a := range p {
		out[i] = shape[a]
		sst[i] = st[a]
	}
	last, ls := out[r-1], sst[r-1]
	if ls != 1 {
		permuteTiled(dst, src, out, sst)
		return
	}
	idx := make([]int, r-1)
	for row := 0; row < len(dst)/last; row++ {
		off := 0
		for d, v := range idx {
			off += v * sst[d]
		}
		seg := dst[row*last : (row+1)*last]
		if ls == 1 {
			copy(seg, src[off:off+last])
		} else {
			for i := range seg {
				seg[i] = src[off+i*ls]
			}
		}
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			if idx[d] < out[d] {
				break
			}
			idx[d] = 0
		}
	}
}

// permuteTiled handles a permutation that moves the source's innermost axis
// away from the end: for each index of the other axes it copies an
// out[q]×out[r−1] block, where q is the destination axis that reads the
// source's contiguous axis, in 32×32 tiles so that both sides stay in cache.
func permuteTiled[T float](dst, src []T, out, sst []int) {
	const tileN = 32
	r := len(out)
	q := -1
	for i, s := range sst {
		if s == 1 && out[i] > 1 {
			q = i
		}
	}
	if q < 0 || q == r-1 {
		q = 0 // no contiguous source axis worth tiling: plain strided copy
	}
	dstS := strides(out)
	var others []int
	for d := 0; d < r-1; d++ {
		if d != q {
			others = append(others, d)
		}
	}
	rows, cols := out[q], out[r-1]
	sq, sl, dq := sst[q], sst[r-1], dstS[q]
	idx := make([]int, len(others))
	for {
		sb, db := 0, 0
		for k, d := range others {
			sb += idx[k] * sst[d]
			db += idx[k] * dstS[d]
		}
		for i0 := 0; i0 < rows; i0 += tileN {
			for j0 := 0; j0 < cols; j0 += tileN {
				for i := i0; i < min(i0+tileN, rows); i++ {
					drow := dst[db+i*dq : db+i*dq+cols]
					so := sb + i*sq
					for j := j0; j < min(j0+tileN, cols); j++ {
						drow[j] = src[so+j*sl]
					}
				}
			}
		}
		k := len(others) - 1
		for ; k >= 0; k-- {
			d := others[k]
			idx[k]++
			if idx[k] < out[d] {
				break
			}
			idx[k] = 0
		}
		if k < 0 {
			return
		}
	}
}

// Unsqueeze returns t with a new axis of size 1 inserted before axis (which
// may equal the rank, or be negative: −1 appends), sharing t's data like
// Reshape: (B, H, L).Unsqueeze(-1) is (B, H, L, 1), ready to broadcast
// against (B, H, L, d).
func (t *Tensor) Unsqueeze(axis int) *Tensor {
	r := len(t.shape)
	a := axis
	if a < 0 {
		a += r + 1
	}
	if a < 0 || a > r {
		panic(&Error{Op: "tensor.Unsqueeze", Arg: "axis", Got: t.Shape(), Msg: fmt.Sprintf("(axis %d out of range for inserting into rank %d)", axis, r), Kind: ErrShape})
	}
	shape := append(append(append([]int{}, t.shape[:a]...), 1), t.shape[a:]...)
	return t.Reshape(shape...)
}

// Squeeze returns t without axis, which must have size 1, sharing t's data:
// (B, 1, d).Squeeze(1) is (B, d).
func (t *Tensor) Squeeze(axis int) *Tensor {
	a := axisOf("tensor.Squeeze", axis, t.shape)
	if t.shape[a] != 1 {
		panic(&Error{Op: "tensor.Squeeze", Arg: "axis", Got: t.Shape(), Msg: fmt.Sprintf("(axis %d has size %d, not 1)", axis, t.shape[a]), Kind: ErrShape})
	}
	shape := append(append([]int{}, t.shape[:a]...), t.shape[a+1:]...)
	return t.Reshape(shape...)
}

// Slice returns the elements with index in [from, to) along axis, a copy:
// (B, L, d).Slice(1, 0, 64) is (B, 64, d). Negative from/to count from the
// end of the axis (−1 is its last index); to is clamped to the axis size.
func (t *Tensor) Slice(axis, from, to int) *Tensor {
	const op = "tensor.Slice"
	ax := axisOf(op, axis, t.shape)
	n := t.shape[ax]
	if from < 0 {
		from += n
	}
	if to < 0 {
		to += n
	}
	to = min(to, n)
	if from < 0 || from > to {
		panic(&Error{Op: op, Arg: "range", Got: t.Shape(), Msg: fmt.Sprintf("(cannot slice [%d, %d) along axis %d of size %d)", from, to, ax, n), Kind: ErrShape})
	}
	shape := t.Shape()
	shape[ax] = to - from
	st := strides(t.shape)
	y, err := gatherDevice(op, t, from*st[ax], shape, st)
	if y != nil {
		return y
	}
	hostFallback(op, err, t)
	y = like(op, t, shape)
	outer, _, inner := split(t.shape, ax)
	m := (to - from) * inner
	for o := 0; o < outer; o++ {
		s := (o*n + from) * inner
		if t.dtype == Float64 {
			copy(y.f64[o*m:(o+1)*m], t.f64[s:s+m])
		} else {
			copy(y.f32[o*m:(o+1)*m], t.f32[s:s+m])
		}
	}
	return y.OnDeviceOf(t)
}

// Concat joins tensors along axis; all must have one dtype and the same
// shape except along axis: (B, 3, d) and (B, 5, d) along 1 give (B, 8, d).
func Concat(axis int, ts ...*Tensor) *Tensor {
	const op = "tensor.Concat"
	if len(ts) == 0 {
		Errorf(op, "ts", "needs at least one tensor")
	}
	first := ts[0]
	ax := axisOf(op, axis, first.shape)
	shape := first.Shape()
	total := 0
	for i, t := range ts {
		CheckDType(op, "ts[0]", first, fmt.Sprintf("ts[%d]", i), t)
		want := first.Shape()
		want[ax] = -1
		CheckShape(op, fmt.Sprintf("ts[%d]", i), t.shape, fmt.Sprintf("(same as ts[0] except axis %d)", ax), want...)
		total += t.shape[ax]
	}
	shape[ax] = total
	y, err := concatDevice(op, ax, ts, shape)
	if y != nil {
		return y
	}
	hostFallback(op, err, ts...)
	y = like(op, first, shape)
	outer, _, inner := split(shape, ax)
	row := total * inner
	pos := 0
	for _, t := range ts {
		m := t.shape[ax] * inner
		for o := 0; o < outer; o++ {
			d := o*row + pos
			if t.dtype == Float64 {
				copy(y.f64[d:d+m], t.f64[o*m:(o+1)*m])
			} else {
				copy(y.f32[d:d+m], t.f32[o*m:(o+1)*m])
			}
		}
		pos += m
	}
	return y.OnDeviceOf(ts...)
}

// Cumsum returns the inclusive cumulative sum along axis:
// y[…, j, …] = Σ_{i ≤ j} x[…, i, …]. float32 data is accumulated in float64
// and each partial sum rounded once, so long float32 sums do not drift.
func Cumsum(x *Tensor, axis int) *Tensor {
	const op = "tensor.Cumsum"
	ax := axisOf(op, axis, x.shape)
	outer, n, inner := split(x.shape, ax)
	y, err := reduceDevice(op, redCumsum, x, outer, n, inner, x.shape)
	if y != nil {
		return y
	}
	hostFallback(op, err, x)
	y = like(op, x, x.shape)
	if x.dtype == Float64 {
		cumsumInto(y.f64, x.f64, outer, n, inner)
	} else {
		cumsumInto(y.f32, x.f32, outer, n, inner)
	}
	return y.OnDeviceOf(x)
}

// cumsumInto views x as (outer, n, inner) and writes running sums over the
// middle axis into y, accumulating in float64.
func cumsumInto[T float](y, x []T, outer, n, inner int) {
	acc := make([]float64, inner)
	for o := 0; o < outer; o++ {
		clear(acc)
		for j := 0; j < n; j++ {
			base := (o*n + j) * inner
			src, dst := x[base:base+inner], y[base:base+inner]
			for i, v := range src {
				acc[i] += float64(v)
				dst[i] = T(acc[i])
			}
		}
	}
}

// gatherDevice copies the strided view (base, shape, strides) of a
// resident t on its device (backend.DeviceGatherer) into a new resident
// tensor; a nil result leaves the operation to the CPU (err says why, when
// the device refused).
func gatherDevice(op string, t *Tensor, base int, shape, strides []int) (*Tensor, error) {
	g, ok := resident(t).(backend.DeviceGatherer)
	if !ok {
		return nil, nil
	}
	return onDevice(op, shape, []*Tensor{t}, func(in []backend.DeviceBuffer, out backend.DeviceBuffer) error {
		return g.GatherDevice32(in[0], base, strides, out, 0, nil, shape)
	})
}

// concatDevice joins ts along ax on the device of a resident operand
// (backend.DeviceGatherer, one strided copy per input); a nil result leaves
// the operation to the CPU (err says why, when the device refused).
func concatDevice(op string, ax int, ts []*Tensor, shape []int) (*Tensor, error) {
	g, ok := resident(ts...).(backend.DeviceGatherer)
	if !ok || ts[0].dtype != Float32 {
		return nil, nil
	}
	outer, total, inner := split(shape, ax)
	return onDevice(op, shape, ts, func(in []backend.DeviceBuffer, out backend.DeviceBuffer) error {
		row, pos := total*inner, 0
		for i, t := range ts {
			m := t.shape[ax] * inner // (outer, m) of t into columns [pos, pos+m) of y's (outer, row)
			if outer > 0 && m > 0 {
				if err := g.GatherDevice32(in[i], 0, []int{m, 1}, out, pos, []int{row, 1}, []int{outer, m}); err != nil {
					return err
				}
			}
			pos += m
		}
		return nil
	})
}
