package tensor

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func TestReductionsMatchLoops(t *testing.T) {
	bothDTypes(t, func(t *testing.T, d DType) {
		x := randnOf(d, 11, 3, 4, 5)
		for axis := -3; axis < 3; axis++ {
			ax := (axis + 3) % 3
			for _, keep := range []bool{false, true} {
				got := map[string]*Tensor{"sum": Sum(x, axis, keep), "mean": Mean(x, axis, keep), "max": Max(x, axis, keep), "min": Min(x, axis, keep)}
				want := x.Shape()
				if keep {
					want[ax] = 1
				} else {
					want = append(want[:ax], want[ax+1:]...)
				}
				for name, y := range got {
					if !slices.Equal(y.shape, want) {
						t.Fatalf("%s axis %d keep %v: shape %v want %v", name, axis, keep, y.shape, want)
					}
				}
				for i := 0; i < got["sum"].Len(); i++ {
					idx := unravel(i, got["sum"].shape)
					if !keep {
						idx = append(idx[:ax], append([]int{0}, idx[ax:]...)...)
					}
					s, mx, mn := 0.0, math.Inf(-1), math.Inf(1)
					for j := 0; j < x.shape[ax]; j++ {
						idx[ax] = j
						v := x.At(idx...)
						s += v
						mx, mn = math.Max(mx, v), math.Min(mn, v)
					}
					n := float64(x.shape[ax])
					round := func(v float64) float64 {
						if d == Float32 {
							return float64(float32(v))
						}
						return v
					}
					if g := got["sum"].flat(i); math.Abs(g-round(s)) > 1e-12 {
						t.Fatalf("sum: %g want %g", g, s)
					}
					if g := got["mean"].flat(i); math.Abs(g-round(s/n)) > 1e-12 {
						t.Fatalf("mean: %g want %g", g, s/n)
					}
					if got["max"].flat(i) != mx || got["min"].flat(i) != mn {
						t.Fatalf("max/min: %g %g want %g %g", got["max"].flat(i), got["min"].flat(i), mx, mn)
					}
				}
			}
		}
		all := 0.0
		for _, v := range x.Data() {
			all += v
		}
		if math.Abs(SumAll(x)-all) > 1e-12 || math.Abs(MeanAll(x)-all/60) > 1e-12 {
			t.Fatalf("SumAll %g MeanAll %g, want %g %g", SumAll(x), MeanAll(x), all, all/60)
		}
		if MaxAll(x) != MaxAll(Max(x, 1, false)) || MinAll(x) != MinAll(Min(x, 0, true)) {
			t.Fatal("MaxAll/MinAll disagree with axis reductions")
		}
	})
}

func TestReductionEdgeCases(t *testing.T) {
	x := FromFloat64([]float64{1, math.NaN(), 3, 4}, 2, 2)
	if m := Max(x, 1, false).Float64s(); m[0] == m[0] || m[1] != 4 {
		t.Fatalf("Max does not propagate NaN: %v", m)
	}
	if !math.IsNaN(MinAll(x)) {
		t.Fatal("MinAll does not propagate NaN")
	}
	if err := Catch(func() { Max(Zeros(2, 0), 1, false) }); !errors.Is(err, ErrShape) {
		t.Fatalf("max over an empty axis: %v", err)
	}
	if s := Sum(Zeros(2, 0), 1, false); s.Len() != 2 || s.At(1) != 0 {
		t.Fatal("sum over an empty axis is not 0")
	}
	if err := Catch(func() { Sum(Zeros(2, 3), 2, false) }); !errors.Is(err, ErrShape) {
		t.Fatalf("axis out of range: %v", err)
	}
	if n := Norm(FromFloat64([]float64{3e200, 4e200})); math.Abs(n/5e200-1) > 1e-15 {
		t.Fatalf("Norm overflowed: %g", n)
	}
	if n := Norm(FromFloat32([]float32{3, 4})); n != 5 {
		t.Fatalf("Norm(3,4) = %g", n)
	}
	// float32 sums accumulate in float64: 1e7 ones plus tiny values stay exact.
	ones := Ones(1 << 24)
	if s := SumAll(AddScalar(ones, 1)); s != 1<<25 {
		t.Fatalf("SumAll of 2^24 twos = %g", s)
	}
}

// TestSumSquares checks the sum of squares over float32 and float64
// tensors, nil and empty ones, against a direct float64 sum.
func TestSumSquares(t *testing.T) {
	a := NewRNG(1).Randn(4, 5)
	b := NewRNG(2).Randn64(7)
	want := 0.0
	for _, v := range a.Float32s() {
		want += float64(v) * float64(v)
	}
	for _, v := range b.Float64s() {
		want += v * v
	}
	if got := SumSquares(a, nil, b, New(Float32, 0)); math.Abs(got-want) > 1e-12*want {
		t.Errorf("SumSquares = %v, want %v", got, want)
	}
	if got := SumSquares(); got != 0 {
		t.Errorf("SumSquares() = %v, want 0", got)
	}
}
