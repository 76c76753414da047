// Package cpu is the CPU backend: gonum's BLAS for matrix products, plain Go
// loops (split over a few goroutines) for everything else.
//
// # BLAS
//
// Matrix products go through gonum's blas32 and blas64 packages, whose
// implementation is swapped in one place (blas32.Use / blas64.Use). Built with
// the tag openblas and cgo, this package's init installs OpenBLAS through
// gonum.org/v1/netlib/blas/netlib (Debian: libopenblas-dev), about ten times
// faster than gonum's pure-Go BLAS for large SGEMM. Without the tag, or with
// CGO_ENABLED=0, the pure-Go implementation is used and everything still
// works. scripts/buildtags.sh adds the tag only when -lopenblas links.
//
// Importing this package (package tensor does) is enough to activate
// OpenBLAS for every caller of blas32/blas64 in the binary, including
// packages that call gonum directly. Sgemm and Dgemm below are thin,
// bool-flagged wrappers over the active implementation.
//
// # Threads
//
// Threads is the number of goroutines the Go-side loops use (Parallel); it
// defaults to runtime.NumCPU() or FURIOUS_THREADS, and SetThreads changes it.
// OpenBLAS itself always runs one thread per call: a large Sgemm/Dgemm is
// split by blocks of rows over Threads() goroutines instead, so that callers
// that already run in parallel (ssd runs one head per goroutine) do not
// oversubscribe the cores, which a threaded OpenBLAS did 4-10x slower.
// gonum's pure-Go GEMM uses runtime.GOMAXPROCS(0) workers of its own.
package cpu
