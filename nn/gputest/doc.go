// Package gputest holds the tests and benchmarks that run package nn on
// the gpu backend: one training step of a 2-layer language model for every
// preset with its parameters on the GPU against the CPU (every parameter's
// gradient), steady-state steps that copy no tensor, attention past the old
// 2048 limit, and training throughput on either device. They live in a
// package of their own only to keep package gpu (and cgo with the gl tags)
// out of nn's own test binary; importing gpu no longer changes where any
// of nn's tests run.
//
// Without an OpenGL 4.3 context (a build without the gl tag, or no EGL
// device) the tests skip saying why. On Mesa's llvmpipe they run, with
// FURIOUS_GPU_SOFTWARE=1 set by the tests themselves.
//
//	go test -tags gl,egl ./nn/gputest/
//	go test -tags gl,egl -run '^$' -bench Train -benchtime 5x ./nn/gputest/
package gputest
