// Package backend defines what a compute backend is, independent of any
// implementation: a name, a device kind, capabilities, the sentinel errors a
// partial backend returns, and the optional operation sets (ops.go).
// Implementations live in backend/cpu (gonum) and gpu (OpenGL 4.3 compute
// shaders); package tensor keeps a registry of them and dispatches to the
// active one.
//
// # Conventions
//
// Nothing in this package imports an implementation. A Backend is small
// (Name, Kind, Describe, Capabilities); what it computes is declared by the
// optional interfaces it also implements:
//
//   - Prober: Available() error, for a backend that may be unusable on this
//     machine or build (no EGL device, built without cgo). package tensor's
//     "auto" device picks the GPU only when Available returns nil.
//   - MatMuler: batched float32 matrix products on host slices.
//   - Elementwiser: named float32 elementwise functions ("exp", "silu", ...).
//   - Finisher: Finish() error, for a backend whose operations are queued
//     (a GPU): tensor.Sync waits for the queue, for timings.
//
// A backend without one of these methods, or one that returns
// ErrNotImplemented (or any other error) from it, leaves the operation to the
// CPU; package tensor prints a one-line notice once per backend and
// operation, so that a missing kernel is visible but never wrong. Check an
// implementation at compile time (var _ backend.MatMuler = (*GL)(nil)) and
// at test time with the conformance suite: backendtest.RunAll(t, b).
package backend
