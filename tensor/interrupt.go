package tensor

import (
	"errors"
	"sync/atomic"
)

// ErrInterrupted is matched by errors.Is when a long primitive stopped
// because Interrupt was called (the notebook's interrupt button).
var ErrInterrupted = errors.New("tensor: interrupted")

var interrupted atomic.Bool

// Interrupt asks every running primitive to stop: long loops poll
// CheckInterrupt between heads, chunks and rows, and panic with an *Error
// wrapping ErrInterrupted. The notebook session calls it on an interrupt
// request and ClearInterrupt before the next cell.
func Interrupt() { interrupted.Store(true) }

// ClearInterrupt lets primitives run again after Interrupt.
func ClearInterrupt() { interrupted.Store(false) }

// Interrupted reports whether Interrupt was called since the last ClearInterrupt.
func Interrupted() bool { return interrupted.Load() }

// CheckInterrupt panics with an *Error naming op and wrapping ErrInterrupted
// when Interrupt was called. It costs one atomic load: call it once per head,
// chunk or block of rows, not per element.
func CheckInterrupt(op string) {
	if interrupted.Load() {
		panic(&Error{Op: op, Msg: "interrupted", Kind: ErrInterrupted})
	}
}
