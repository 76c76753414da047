//go:build openblas && cgo

package cpu

import (
	"strings"
	"testing"
)

func TestOpenBLASIsInstalledSingleThreadedAndSplitsLargeProducts(t *testing.T) {
	if !HasOpenBLAS() || !strings.Contains(BLAS(), "OpenBLAS") {
		t.Fatalf("built with openblas but BLAS() = %q", BLAS())
	}
	old := SetThreads(2)
	defer SetThreads(old)
	if BLASThreads() != 1 {
		t.Fatalf("BLASThreads() = %d, want 1 (Go splits the work)", BLASThreads())
	}
	if !rowSplit(300, 70, 130) || rowSplit(100, 100, 100) {
		t.Fatal("rowSplit does not split (300,70,130) or splits a 100-row product")
	}
	SetThreads(1)
	if rowSplit(4096, 4096, 4096) {
		t.Fatal("rowSplit splits with one thread")
	}
}
