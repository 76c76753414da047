//go:build !(openblas && cgo)

package cpu

import "testing"

func TestPureGoBLASWithoutOpenBLASTag(t *testing.T) {
	if HasOpenBLAS() || BLAS() != "gonum pure-Go BLAS" {
		t.Fatalf("built without openblas but BLAS() = %q", BLAS())
	}
}
