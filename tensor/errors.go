package tensor

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrShape is matched by errors.Is for every shape error.
var ErrShape = errors.New("tensor: shape mismatch")

// ErrMemory is matched by errors.Is for allocations refused by the memory check.
var ErrMemory = errors.New("tensor: not enough memory")

// ErrDevice is matched by errors.Is when an operation's operands live on
// different devices.
var ErrDevice = errors.New("tensor: operands on different devices")

// ErrNotFinite is matched by errors.Is when a primitive produced NaN or Inf.
var ErrNotFinite = errors.New("tensor: NaN or Inf")

// ErrDType is matched by errors.Is when the operands of an operation mix
// float32 and float64; the message names the As conversion to call.
var ErrDType = errors.New("tensor: float32 and float64 operands")

// Error is the error every tensor and primitive panics with (or returns).
// Op is the operation ("tensor.MatMul", "ssd.Chunked"), Arg the argument at
// fault; Got and Want are shapes when the error is about a shape.
type Error struct {
	Op   string
	Arg  string
	Got  []int
	Want []int // -1 stands for "any"
	Msg  string
	Kind error // ErrShape, ErrMemory, ErrNotFinite, ErrDevice, ErrDType or nil
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Got != nil || e.Want != nil {
		if e.Arg != "" {
			b.WriteString(e.Arg + " has shape " + ShapeString(e.Got))
		} else {
			b.WriteString("shape " + ShapeString(e.Got))
		}
		if e.Want != nil {
			b.WriteString(", want " + ShapeString(e.Want))
		}
		if e.Msg != "" {
			b.WriteString(" " + e.Msg)
		}
		return b.String()
	}
	if e.Arg != "" {
		b.WriteString(e.Arg + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap lets errors.Is match ErrShape, ErrMemory, ErrNotFinite, ErrDevice
// and ErrDType.
func (e *Error) Unwrap() error { return e.Kind }

// ShapeString formats a shape as "(1,2,3)"; -1 prints as "?".
func ShapeString(s []int) string {
	parts := make([]string, len(s))
	for i, v := range s {
		if v < 0 {
			parts[i] = "?"
		} else {
			parts[i] = strconv.Itoa(v)
		}
	}
	return "(" + strings.Join(parts, ",") + ")"
}

// Errorf panics with an *Error carrying a formatted message and no shapes.
func Errorf(op, arg, format string, args ...any) {
	panic(&Error{Op: op, Arg: arg, Msg: fmt.Sprintf(format, args...)})
}

// ShapeMismatch panics with a shape error naming op, the argument and both
// shapes; note is appended (for example "(same as q)").
func ShapeMismatch(op, arg string, got, want []int, note string) {
	panic(&Error{Op: op, Arg: arg, Got: append([]int(nil), got...), Want: append([]int(nil), want...), Msg: note, Kind: ErrShape})
}

// CheckShape panics with a shape error unless got matches want, where a
// negative entry of want matches any size. note is appended to the message.
func CheckShape(op, arg string, got []int, note string, want ...int) {
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = want[i] < 0 || want[i] == got[i]
	}
	if !ok {
		ShapeMismatch(op, arg, got, want, note)
	}
}

// Catch runs f and returns the *Error it panicked with, or nil. Other panics
// propagate. It is the helper tests and boundaries use to turn panics into
// errors.
func Catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(*Error); ok {
				err = e
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}
