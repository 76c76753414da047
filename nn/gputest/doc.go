// Package gputest holds the tests and benchmarks that run package nn on
// the gpu backend: one training step of a 2-layer language model for every
// preset with FURIOUS_DEVICE=gpu against the CPU (every parameter's
// gradient), and training throughput on either device. They live in a
// package of their own so that nn's tests never import package gpu: a
// binary that imports it registers the gpu backend, and "auto" would then
// move nn's own float32 tests onto a hardware GPU.
//
// Without an OpenGL 4.3 context (a build without the gl tag, or no EGL
// device) the tests skip saying why. On Mesa's llvmpipe they run, with
// FURIOUS_GPU_SOFTWARE=1 set by the tests themselves.
//
//	go test -tags gl,egl ./nn/gputest/
//	go test -tags gl,egl -run '^$' -bench Train -benchtime 5x ./nn/gputest/
package gputest
