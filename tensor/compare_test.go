package tensor

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestDiffsAndAllClose(t *testing.T) {
	a := FromFloat64([]float64{1, 2, 3, -4})
	b := FromFloat32([]float32{1, 2.5, 3, -2})
	if d := MaxAbsDiff(a, b); d != 2 {
		t.Fatalf("MaxAbsDiff = %g, want 2", d)
	}
	if r := MaxRelDiff(a, b); r != 2.0/3 {
		t.Fatalf("MaxRelDiff = %g, want 2/3 (2 over max|b| = 3)", r)
	}
	if r := MaxRelDiff(Zeros(3), Zeros(3)); r != 0 {
		t.Fatalf("0 vs 0: %g", r)
	}
	if r := MaxRelDiff(Ones(3), Zeros(3)); !math.IsInf(r, 1) {
		t.Fatalf("1 vs 0: %g", r)
	}
	nan := FromFloat64([]float64{1, math.NaN()})
	if !math.IsNaN(MaxAbsDiff(nan, Ones(2).As(Float64))) || !math.IsNaN(MaxRelDiff(Ones(2), nan)) {
		t.Fatal("NaN not reported")
	}
	inf := FromFloat64([]float64{math.Inf(1)})
	if MaxAbsDiff(inf, inf) != 0 || !AllClose(inf, inf, 0, 0) || !math.IsInf(MaxAbsDiff(inf, Zeros(1)), 1) {
		t.Fatal("infinities")
	}
	x := FromFloat64([]float64{100, 1e-9})
	y := FromFloat64([]float64{100.5, 0})
	if !AllClose(x, y, 1e-2, 1e-8) || AllClose(x, y, 1e-3, 1e-8) || AllClose(x, y, 1e-2, 1e-10) {
		t.Fatal("AllClose does not follow |a−b| ≤ atol + rtol·|b|")
	}
	if AllClose(nan, nan, 1, 1) {
		t.Fatal("NaN is close to NaN")
	}
	if err := Catch(func() { MaxAbsDiff(Zeros(2, 3), Zeros(3, 2)) }); !errors.Is(err, ErrShape) {
		t.Fatalf("shape mismatch: %v", err)
	}
}

func TestCheckFiniteNamesOpAndIndex(t *testing.T) {
	x := Zeros(2, 3)
	if !x.IsFinite() || x.CheckFinite("ssd.Chunked") != x {
		t.Fatal("zeros are not finite")
	}
	x.Set(math.Inf(-1), 1, 2)
	x.Set(math.NaN(), 1, 1)
	if x.IsFinite() {
		t.Fatal("IsFinite missed NaN")
	}
	err := Catch(func() { x.CheckFinite("ssd.Chunked") })
	if !errors.Is(err, ErrNotFinite) || !strings.HasPrefix(err.Error(), "ssd.Chunked: ") || !strings.Contains(err.Error(), "NaN at index [1 1]") {
		t.Fatalf("CheckFinite: %v", err)
	}
}
