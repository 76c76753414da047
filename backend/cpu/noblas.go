//go:build !(openblas && cgo)

package cpu

import "runtime"

const haveOpenBLAS = false

func blasName() string { return "gonum pure-Go BLAS" }

// BLASThreads is the number of workers gonum's pure-Go GEMM uses:
// runtime.GOMAXPROCS(0), which SetThreads does not change.
func BLASThreads() int { return runtime.GOMAXPROCS(0) }

func setBLASThreads(int) {}
