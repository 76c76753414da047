// Package gputest holds the tests that run package ssd's forms on the gpu
// backend: Quadratic, Chunked (output and final state) and Auto on
// resident inputs against the float64 quadratic oracle, the one rule (host
// inputs stay on the CPU whatever tensor.SetDevice chose, placed inputs run
// on the gpu, mixed devices are an error), and the CPU fallbacks with their
// notices. They live in a package of their own only to keep package gpu (and
// cgo with the gl tags) out of ssd's own test binary; importing gpu no
// longer changes where any of ssd's tests run.
//
// Without an OpenGL 4.3 context (a build without the gl tag, or no EGL
// device) the tests skip saying why. On Mesa's llvmpipe they run, with
// FURIOUS_GPU_SOFTWARE=1 set by the tests themselves.
//
//	go test -tags gl,egl ./ssd/gputest/
package gputest
