package tensor

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// unravel turns a flat row-major index into a multi-index of shape.
func unravel(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		idx[d] = i % shape[d]
		i /= shape[d]
	}
	return idx
}

// broadcastAt reads x at the output index idx under broadcasting.
func broadcastAt(x *Tensor, idx []int) float64 {
	off := len(idx) - x.Rank()
	own := make([]int, x.Rank())
	for d := range own {
		if x.shape[d] != 1 {
			own[d] = idx[off+d]
		}
	}
	return x.At(own...)
}

func bothDTypes(t *testing.T, f func(t *testing.T, d DType)) {
	for _, d := range []DType{Float32, Float64} {
		t.Run(d.String(), func(t *testing.T) { f(t, d) })
	}
}

func randnOf(d DType, seed uint64, shape ...int) *Tensor {
	if d == Float64 {
		return NewRNG(seed).Randn64(shape...)
	}
	return NewRNG(seed).Randn(shape...)
}

func tolOf(d DType) float64 {
	if d == Float64 {
		return 1e-13
	}
	return 1e-6
}

func TestUnaryMatchesFormulas(t *testing.T) {
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	cases := []struct {
		name string
		f    func(*Tensor) *Tensor
		ref  func(float64) float64
	}{
		{"Neg", Neg, func(v float64) float64 { return -v }},
		{"Square", Square, func(v float64) float64 { return v * v }},
		{"Abs", Abs, math.Abs},
		{"ReLU", ReLU, func(v float64) float64 { return math.Max(v, 0) }},
		{"Exp", Exp, math.Exp},
		{"Log", func(x *Tensor) *Tensor { return Log(Abs(x)) }, func(v float64) float64 { return math.Log(math.Abs(v)) }},
		{"Sqrt", func(x *Tensor) *Tensor { return Sqrt(Abs(x)) }, func(v float64) float64 { return math.Sqrt(math.Abs(v)) }},
		{"Softplus", Softplus, func(v float64) float64 { return math.Log(1 + math.Exp(v)) }},
		{"Sigmoid", Sigmoid, sig},
		{"LogSigmoid", LogSigmoid, func(v float64) float64 { return math.Log(sig(v)) }},
		{"SiLU", SiLU, func(v float64) float64 { return v * sig(v) }},
		{"Scale", func(x *Tensor) *Tensor { return Scale(x, -2.5) }, func(v float64) float64 { return -2.5 * v }},
		{"AddScalar", func(x *Tensor) *Tensor { return AddScalar(x, 0.75) }, func(v float64) float64 { return v + 0.75 }},
		{"Apply", func(x *Tensor) *Tensor { return Apply(x, math.Sin) }, math.Sin},
	}
	bothDTypes(t, func(t *testing.T, d DType) {
		x := Scale(randnOf(d, 3, 5, 7, 3), 3)
		for _, c := range cases {
			y := c.f(x)
			if !slices.Equal(y.shape, x.shape) || y.dtype != d {
				t.Fatalf("%s: got %s %s", c.name, ShapeString(y.shape), y.dtype)
			}
			for i := 0; i < x.Len(); i++ {
				want := c.ref(x.flat(i))
				if got := y.flat(i); math.Abs(got-want) > tolOf(d)*(1+math.Abs(want)) {
					t.Fatalf("%s(%g) = %g, want %g", c.name, x.flat(i), got, want)
				}
			}
		}
	})
}

func TestUnaryExtremes(t *testing.T) {
	x := FromFloat64([]float64{-1000, -30, 20, 20.5, 1000, math.NaN()})
	sp := Softplus(x).Float64s()
	if sp[0] != 0 || sp[3] != 20.5 || sp[4] != 1000 || math.Abs(sp[2]-math.Log1p(math.Exp(20))) > 1e-15 {
		t.Fatalf("Softplus threshold/extremes: %v", sp)
	}
	s := Sigmoid(x).Float64s()
	if s[0] != 0 || s[4] != 1 {
		t.Fatalf("Sigmoid extremes: %v", s)
	}
	ls := LogSigmoid(x).Float64s()
	if ls[0] != -1000 || ls[4] != 0 || math.IsNaN(ls[1]) {
		t.Fatalf("LogSigmoid extremes: %v", ls)
	}
	if r := ReLU(x).Float64s(); !math.IsNaN(r[5]) || r[0] != 0 {
		t.Fatalf("ReLU: %v", r)
	}
	if si := SiLU(x).Float64s(); si[0] != 0 || si[4] != 1000 {
		t.Fatalf("SiLU extremes: %v", si)
	}
}

func TestBinaryBroadcastsLikeNumPy(t *testing.T) {
	pairs := [][2][]int{
		{{2, 3, 4}, {2, 3, 4}},
		{{2, 3, 4}, {}},
		{{}, {2, 3, 4}},
		{{2, 3, 4}, {4}},
		{{4}, {2, 3, 4}},
		{{2, 3, 4}, {3, 1}},
		{{2, 1, 4}, {3, 1}},
		{{1, 3, 1}, {2, 1, 5}},
		{{2, 3, 4}, {1, 1, 1}},
		{{5, 1}, {1, 5}},
		{{0, 3}, {3}},
	}
	ops := []struct {
		name string
		f    func(a, b *Tensor) *Tensor
		ref  func(x, y float64) float64
	}{
		{"Add", Add, func(x, y float64) float64 { return x + y }},
		{"Sub", Sub, func(x, y float64) float64 { return x - y }},
		{"Mul", Mul, func(x, y float64) float64 { return x * y }},
		{"Div", Div, func(x, y float64) float64 { return x / y }},
		{"Maximum", Maximum, math.Max},
		{"Minimum", Minimum, math.Min},
	}
	bothDTypes(t, func(t *testing.T, d DType) {
		for pi, p := range pairs {
			a, b := randnOf(d, uint64(pi), p[0]...), randnOf(d, uint64(pi+100), p[1]...)
			for _, op := range ops {
				y := op.f(a, b)
				want := BroadcastShape("test", p[0], p[1])
				if !slices.Equal(y.shape, want) {
					t.Fatalf("%s %v %v: shape %v, want %v", op.name, p[0], p[1], y.shape, want)
				}
				for i := 0; i < y.Len(); i++ {
					idx := unravel(i, want)
					r := op.ref(broadcastAt(a, idx), broadcastAt(b, idx))
					if d == Float32 {
						r = float64(float32(r))
					}
					if got := y.flat(i); got != r {
						t.Fatalf("%s %v %v at %v: got %g want %g", op.name, p[0], p[1], idx, got, r)
					}
				}
			}
		}
	})
}

func TestBinaryErrors(t *testing.T) {
	err := Catch(func() { Add(Zeros(2, 3), Zeros(4)) })
	if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "(4)") || !strings.Contains(err.Error(), "(2,3)") {
		t.Fatalf("broadcast error: %v", err)
	}
	err = Catch(func() { Mul(Zeros(2), Zeros64(2)) })
	if err == nil || !strings.Contains(err.Error(), "float64") || !strings.Contains(err.Error(), "float32") || !strings.HasPrefix(err.Error(), "tensor.Mul") {
		t.Fatalf("dtype error: %v", err)
	}
	old := SetMemoryLimit(1000)
	defer SetMemoryLimit(old)
	if err := Catch(func() { Exp(FromFloat32(make([]float32, 1000))) }); !errors.Is(err, ErrMemory) {
		t.Fatalf("op output not checked against the memory cap: %v", err)
	}
}
