package tensor

import (
	"fmt"

	"github.com/furious-lab/furious/backend/cpu"
)

// float is the element type constraint of the internal kernels (backend/cpu's).
type float = cpu.Float

// sameDType panics with an *Error of kind ErrDType naming op when a and b
// differ in dtype.
func sameDType(op string, a, b *Tensor) { CheckDType(op, "a", a, "b", b) }

// CheckDType panics with an *Error of kind ErrDType naming op and both
// operands when a and b differ in dtype: float32 and float64 do not mix,
// and the message names the conversion that was probably meant, e.g.
// "b: is float64 but a is float32: ... b.As(tensor.Float32) (or
// a.As(tensor.Float64))". Packages with operations of their own (ssd, nn)
// call it on their operands, as tensor's operations do.
func CheckDType(op, aName string, a *Tensor, bName string, b *Tensor) {
	if a.dtype != b.dtype {
		panic(&Error{Op: op, Arg: bName, Kind: ErrDType, Msg: fmt.Sprintf(
			"is %s but %s is %s: float32 and float64 do not mix; convert one, e.g. %s.As(tensor.%s) (or %s.As(tensor.%s))",
			b.dtype, aName, a.dtype, bName, titleDType(a.dtype), aName, titleDType(b.dtype))})
	}
}

func titleDType(d DType) string {
	if d == Float64 {
		return "Float64"
	}
	return "Float32"
}

// axisOf normalises axis (negative counts from the end) for a tensor of rank
// r, panicking with an *Error naming op otherwise.
func axisOf(op string, axis int, shape []int) int {
	r := len(shape)
	a := axis
	if a < 0 {
		a += r
	}
	if a < 0 || a >= r {
		panic(&Error{Op: op, Arg: "axis", Got: append([]int{}, shape...),
			Msg: fmt.Sprintf("(axis %d out of range for rank %d)", axis, r), Kind: ErrShape})
	}
	return a
}

// split returns the products of the dimensions before, at and after axis:
// the tensor viewed as (outer, n, inner).
func split(shape []int, axis int) (outer, n, inner int) {
	outer, inner = 1, 1
	for _, s := range shape[:axis] {
		outer *= s
	}
	for _, s := range shape[axis+1:] {
		inner *= s
	}
	return outer, shape[axis], inner
}

// strides returns the row-major element strides of shape.
func strides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// like allocates a zero host tensor with x's dtype and the given shape,
// through CheckAlloc.
func like(op string, x *Tensor, shape []int) *Tensor {
	CheckAlloc(op, x.dtype, shape)
	return newUnchecked(x.dtype, shape)
}
