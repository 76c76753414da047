package backend

import (
	"errors"
	"fmt"
)

// ErrNotImplemented is returned by a backend for an operation it does not
// provide. Callers fall back to the CPU backend.
var ErrNotImplemented = errors.New("backend: not implemented")

// ErrUnavailable is returned when a backend cannot be used on this machine or
// this build (no OpenBLAS, no EGL/GL, built with CGO_ENABLED=0, ...). The
// wrapped message says what is missing and how to get it.
var ErrUnavailable = errors.New("backend: unavailable")

// ErrOutOfMemory is wrapped by the errors of a backend whose device refused
// an allocation (Resident.Upload32, Alloc32, or an operation's scratch).
var ErrOutOfMemory = errors.New("backend: device out of memory")

// Kind names where a tensor's data lives.
type Kind uint8

const (
	CPU Kind = iota // host memory
	GPU             // device memory of an OpenGL 4.3 context
)

// String returns "cpu" or "gpu".
func (k Kind) String() string {
	switch k {
	case CPU:
		return "cpu"
	case GPU:
		return "gpu"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Capabilities lists what a backend can do; the zero value means nothing.
type Capabilities struct {
	Float32 bool // float32 storage and arithmetic
	Float64 bool // float64 storage and arithmetic (CPU only)
	Ops     map[string]bool
}

// Has reports whether the named operation is provided.
func (c Capabilities) Has(op string) bool { return c.Ops[op] }

// Backend is the smallest thing every implementation provides: who it is and
// what it can do. Operation sets are separate interfaces (see package tensor)
// so that a partial backend is still a Backend.
type Backend interface {
	Name() string // "cpu", "gpu"
	Kind() Kind
	// Describe is one human line: implementation, device, threads, e.g.
	// "cpu: gonum + OpenBLAS 0.3.21, 2 threads".
	Describe() string
	Capabilities() Capabilities
}
