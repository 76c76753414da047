//go:build openblas && cgo

package cpu

import (
	"strings"
	"testing"
)

func TestOpenBLASIsInstalledAndThreadsFollow(t *testing.T) {
	if !HasOpenBLAS() || !strings.Contains(BLAS(), "OpenBLAS") {
		t.Fatalf("built with openblas but BLAS() = %q", BLAS())
	}
	old := SetThreads(1)
	defer SetThreads(old)
	if BLASThreads() != 1 {
		t.Fatalf("BLASThreads() = %d after SetThreads(1)", BLASThreads())
	}
}
