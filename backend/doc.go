// Package backend defines what a compute backend is, independent of any
// implementation: a name, a device kind, capabilities, and the sentinel errors
// a partial backend returns. Implementations live in backend/cpu (gonum) and
// gpu (OpenGL 4.3 compute shaders); package tensor dispatches to them.
//
// # Conventions
//
// Nothing in this package imports an implementation. A backend that lacks an
// operation returns ErrNotImplemented and declares what it has through
// Capabilities, so callers can fall back to the CPU with a notice instead of
// computing something wrong.
package backend
