// Package gputest holds the tests that run package ssd's forms on the gpu
// backend: Quadratic, Chunked (output and final state) and Auto on
// resident inputs against the float64 quadratic oracle, on host inputs
// with the gpu as the active device, and the CPU fallbacks with their
// notices. They live in a package of their own so that ssd's tests never
// import package gpu (a binary that imports it registers the gpu backend,
// and "auto" would then move ssd's float32 tests onto a hardware GPU).
//
// Without an OpenGL 4.3 context (a build without the gl tag, or no EGL
// device) the tests skip saying why. On Mesa's llvmpipe they run, with
// FURIOUS_GPU_SOFTWARE=1 set by the tests themselves.
//
//	go test -tags gl,egl ./ssd/gputest/
package gputest
