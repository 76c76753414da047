package tensor

import (
	"slices"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/backend/cpu"
)

// Elementwise functions of two tensors with NumPy broadcasting: shapes are
// aligned at their last dimension, a missing leading dimension counts as 1,
// and a dimension of 1 stretches to the other's size. (2,3,4) with (4),
// (3,1) or (1) gives (2,3,4); (2,3) with (4) is an error naming both shapes.
// Both tensors must have the same dtype; the result is new, of that dtype.

type binaryOp uint8

const (
	opAdd binaryOp = iota
	opSub
	opMul
	opDiv
	opMaximum
	opMinimum
)

// Add returns a + b (broadcast).
func Add(a, b *Tensor) *Tensor { return binaryOf("tensor.Add", opAdd, a, b) }

// Sub returns a − b (broadcast).
func Sub(a, b *Tensor) *Tensor { return binaryOf("tensor.Sub", opSub, a, b) }

// Mul returns a ⊙ b, the elementwise product (broadcast).
func Mul(a, b *Tensor) *Tensor { return binaryOf("tensor.Mul", opMul, a, b) }

// Div returns a / b elementwise (broadcast); x/0 follows IEEE (±Inf or NaN).
func Div(a, b *Tensor) *Tensor { return binaryOf("tensor.Div", opDiv, a, b) }

// Maximum returns max(a, b) elementwise (broadcast); NaN if either is NaN.
func Maximum(a, b *Tensor) *Tensor { return binaryOf("tensor.Maximum", opMaximum, a, b) }

// Minimum returns min(a, b) elementwise (broadcast); NaN if either is NaN.
func Minimum(a, b *Tensor) *Tensor { return binaryOf("tensor.Minimum", opMinimum, a, b) }

// BroadcastShape returns the shape a and b broadcast to, panicking with a
// shape error naming op and both shapes when they do not broadcast.
func BroadcastShape(op string, a, b []int) []int {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 1; i <= n; i++ {
		da, db := 1, 1
		if i <= len(a) {
			da = a[len(a)-i]
		}
		if i <= len(b) {
			db = b[len(b)-i]
		}
		switch {
		case da == db || db == 1:
			out[n-i] = da
		case da == 1:
			out[n-i] = db
		default:
			ShapeMismatch(op, "b", b, a, "(does not broadcast with a)")
		}
	}
	return out
}

// bstrides returns the strides of shape seen as out (aligned at the end),
// with 0 for broadcast dimensions.
func bstrides(shape, out []int) []int {
	st := make([]int, len(out))
	own := strides(shape)
	off := len(out) - len(shape)
	for i := range shape {
		if shape[i] != 1 {
			st[off+i] = own[i]
		}
	}
	return st
}

func binaryOf(name string, op binaryOp, a, b *Tensor) *Tensor {
	sameDType(name, a, b)
	shape := BroadcastShape(name, a.shape, b.shape)
	y, err := binaryDevice(name, op, a, b, shape)
	if y != nil {
		return y
	}
	hostFallback(name, err, a, b)
	y = like(name, a, shape)
	if a.dtype == Float64 {
		binaryInto(op, y.f64, a.f64, b.f64, a.shape, b.shape, shape)
	} else {
		binaryInto(op, y.f32, a.f32, b.f32, a.shape, b.shape, shape)
	}
	return y.OnDeviceOf(a, b)
}

// binaryDevice runs the operation on the device of a resident operand:
// backend.DeviceElementwiser for Add, Sub, Mul, Div of one shape,
// backend.DeviceBroadcaster for the other shapes and for Maximum, Minimum.
// A nil result leaves the operation to the CPU (err says why, when the
// device refused).
func binaryDevice(name string, op binaryOp, a, b *Tensor, shape []int) (*Tensor, error) {
	dev := resident(a, b)
	if dev == nil || a.dtype != Float32 {
		return nil, nil
	}
	opName := [...]string{opAdd: "add", opSub: "sub", opMul: "mul", opDiv: "div", opMaximum: "maximum", opMinimum: "minimum"}[op]
	e, same := dev.(backend.DeviceElementwiser)
	same = same && slices.Equal(a.shape, b.shape) && op <= opDiv
	bc, ok := dev.(backend.DeviceBroadcaster)
	if !same && (!ok || len(shape) > 8) {
		return nil, nil
	}
	return onDevice(name, shape, []*Tensor{a, b}, func(in []backend.DeviceBuffer, out backend.DeviceBuffer) error {
		if same {
			return e.BinaryDevice32(opName, in[0], in[1], out)
		}
		return bc.BroadcastDevice32(opName, in[0], bstrides(a.shape, shape), in[1], bstrides(b.shape, shape), shape, out)
	})
}

// binaryInto writes op(a, b) into y (shape out). Fast paths: same shape, and
// one operand repeating every len(operand) elements of the output (a scalar
// or a suffix such as a bias over the last dimension); otherwise a strided
// walk with the innermost dimension as the tight loop.
func binaryInto[T float](op binaryOp, y, a, b []T, sa, sb, out []int) {
	n := len(y)
	switch {
	case len(a) == n && len(b) == n:
		cpu.Parallel(n, grain, func(lo, hi int) { binLoop(op, y[lo:hi], a[lo:hi], b[lo:hi], 1, 1) })
		return
	case len(a) == n && isSuffix(sb, out):
		tile(op, y, a, b, false)
		return
	case len(b) == n && isSuffix(sa, out):
		tile(op, y, b, a, true)
		return
	}
	if n == 0 {
		return
	}
	ta, tb := bstrides(sa, out), bstrides(sb, out)
	r := len(out)
	last := out[r-1]
	rows := n / last
	cpu.Parallel(rows, max(1, grain/last), func(lo, hi int) {
		idx := make([]int, r-1)
		// Position idx at row lo.
		rem := lo
		for d := r - 2; d >= 0; d-- {
			idx[d] = rem % out[d]
			rem /= out[d]
		}
		for row := lo; row < hi; row++ {
			oa, ob := 0, 0
			for d, v := range idx {
				oa += v * ta[d]
				ob += v * tb[d]
			}
			binStrided(op, y[row*last:(row+1)*last], a[oa:], b[ob:], ta[r-1], tb[r-1])
			for d := r - 2; d >= 0; d-- {
				idx[d]++
				if idx[d] < out[d] {
					break
				}
				idx[d] = 0
			}
		}
	})
}

// isSuffix reports whether shape, without leading 1s, equals the end of out:
// then its data repeats with period len(data) across the output.
func isSuffix(shape, out []int) bool {
	for len(shape) > 0 && shape[0] == 1 {
		shape = shape[1:]
	}
	if len(shape) > len(out) {
		return false
	}
	return slices.Equal(shape, out[len(out)-len(shape):])
}

// tile computes y = op(full, rep) where rep repeats with period len(rep);
// swapped means the repeating operand is the left one: y = op(rep, full).
func tile[T float](op binaryOp, y, full, rep []T, swapped bool) {
	p := len(rep)
	if p == 0 {
		return
	}
	blocks := len(y) / p
	cpu.Parallel(blocks, max(1, grain/p), func(lo, hi int) {
		for blk := lo; blk < hi; blk++ {
			s := blk * p
			if swapped {
				binLoop(op, y[s:s+p], rep, full[s:s+p], 1, 1)
			} else {
				binLoop(op, y[s:s+p], full[s:s+p], rep, 1, 1)
			}
		}
	})
}

// binStrided handles one output row with element strides sa, sb (0 or 1).
func binStrided[T float](op binaryOp, y, a, b []T, sa, sb int) {
	if sa == 1 && sb == 1 {
		binLoop(op, y, a[:len(y)], b[:len(y)], 1, 1)
		return
	}
	binLoop(op, y, a, b, sa, sb)
}

// binLoop computes y_i = op(a[i·sa], b[i·sb]).
func binLoop[T float](op binaryOp, y, a, b []T, sa, sb int) {
	if sa == 1 && sb == 1 {
		a, b = a[:len(y)], b[:len(y)]
		switch op {
		case opAdd:
			for i := range y {
				y[i] = a[i] + b[i]
			}
		case opSub:
			for i := range y {
				y[i] = a[i] - b[i]
			}
		case opMul:
			for i := range y {
				y[i] = a[i] * b[i]
			}
		case opDiv:
			for i := range y {
				y[i] = a[i] / b[i]
			}
		default:
			for i := range y {
				y[i] = binScalar(op, a[i], b[i])
			}
		}
		return
	}
	for i := range y {
		y[i] = binScalar(op, a[i*sa], b[i*sb])
	}
}

func binScalar[T float](op binaryOp, x, v T) T {
	switch op {
	case opAdd:
		return x + v
	case opSub:
		return x - v
	case opMul:
		return x * v
	case opDiv:
		return x / v
	case opMaximum:
		if x != x || v != v {
			return x + v // NaN
		}
		return max(x, v)
	case opMinimum:
		if x != x || v != v {
			return x + v
		}
		return min(x, v)
	}
	panic("tensor: unknown binary op")
}
