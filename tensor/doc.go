// Package tensor is the n-dimensional array every notebook and primitive uses.
//
// # Overview
//
// A Tensor has a shape, a dtype (Float32 by default, Float64 for reference
// checks on the CPU) and row-major (C order) host data. Shapes follow the
// paper: queries, keys and values are (B, H, L, d), per-step log-decays are
// (B, H, L).
//
// # Errors
//
// Shape mistakes and other programmer errors panic with an *Error whose
// message names the operation, the argument and both shapes, e.g.
//
//	ssd.Quadratic: k has shape (1,2,8,16), want (1,2,8,32) (same as q)
//
// The notebook session (package dsl) recovers such panics once, at its
// boundary, and shows the message; the kernel lives on. An allocation larger
// than the memory available, or than the cap set by SetMemoryLimit or the
// FURIOUS_MEM_LIMIT environment variable, panics with an *Error that names
// the size instead of letting the operating system kill the process.
//
// # Invariants
//
// len(data) == product(shape) always; a rank-0 tensor holds one value.
// Reshape shares data; Clone copies. Exported functions are not generic so
// that yaegi can export them to notebooks.
package tensor
