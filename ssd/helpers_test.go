package ssd

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/furious-lab/furious/tensor"
)

// relErr is max|got − want| / max|want| over all elements (the "relative"
// error of every test in this package).
func relErr(got, want *tensor.Tensor) float64 {
	g, w := got.Data(), want.Data()
	if len(g) != len(w) {
		return math.Inf(1)
	}
	num, den := 0.0, 0.0
	for i := range g {
		num = math.Max(num, math.Abs(g[i]-w[i]))
		den = math.Max(den, math.Abs(w[i]))
	}
	if den == 0 {
		return num
	}
	return num / den
}

// inputs is one random problem in float64; f32() rounds it to float32 and
// round() gives the float64 copy of exactly those float32 values.
type inputs struct{ q, k, v, a *tensor.Tensor }

func (in inputs) as(dt tensor.DType) inputs {
	c := func(t *tensor.Tensor) *tensor.Tensor {
		if t == nil {
			return nil
		}
		return t.As(dt)
	}
	return inputs{c(in.q), c(in.k), c(in.v), c(in.a)}
}

// round returns the float64 inputs that equal their float32 roundings.
func (in inputs) round() inputs { return in.as(tensor.Float32).as(tensor.Float64) }

var maskKinds = []MaskKind{MaskNone, MaskOriginal, MaskSoftplus, MaskForget, MaskCustom}

// makeDecay draws the log-decay of kind (B, H, L) in float64; strong makes it
// about −5…−50 per step.
func makeDecay(kind MaskKind, seed uint64, B, H, L int, strong bool) *tensor.Tensor {
	x := tensor.NewRNG(seed).Randn64(B, H, L)
	switch kind {
	case MaskNone:
		return nil
	case MaskOriginal:
		return LogDecayOriginal(x, InitALog(seed+1, H), tensor.NewRNG(seed+2).Randn64(H))
	case MaskSoftplus:
		if strong {
			return mapT("test", "x", x, func(v float64) float64 { return -softplus(5*v + 20) })
		}
		return LogDecaySoftplus(x)
	case MaskForget:
		return LogDecayForget(mapT("test", "x", x, func(v float64) float64 { return 2*v + 2 }))
	case MaskCustom:
		u := tensor.NewRNG(seed+3).Rand64(0, 1, B, H, L)
		if strong {
			return mapT("test", "u", u, func(v float64) float64 { return -5 - 45*v })
		}
		return mapT("test", "u", u, func(v float64) float64 { return -0.3 * v })
	}
	panic("unknown mask")
}

// makeInputs draws q, k (B, H, L, d), v (B, H, L, dv) and the decay; positive
// makes q and k positive (softmax norm with odd orders needs P ≥ 0).
func makeInputs(seed uint64, B, H, L, d, dv int, kind MaskKind, positive, strong bool) inputs {
	q, k := tensor.NewRNG(seed).Randn64(B, H, L, d), tensor.NewRNG(seed+10).Randn64(B, H, L, d)
	if positive {
		abs := func(v float64) float64 { return math.Abs(v) + 0.05 }
		q, k = mapT("test", "q", q, abs), mapT("test", "k", k, abs)
	}
	return inputs{q, k, tensor.NewRNG(seed+20).Randn64(B, H, L, dv), makeDecay(kind, seed+30, B, H, L, strong)}
}

type formFn struct {
	name string
	run  func(in inputs, o Options) *tensor.Tensor
}

// finiteForms are every form of a finite order, each compared with Quadratic.
var finiteForms = []formFn{
	{"recurrent", func(in inputs, o Options) *tensor.Tensor { y, _ := Recurrent(in.q, in.k, in.v, in.a, o, nil); return y }},
	{"chunked16", func(in inputs, o Options) *tensor.Tensor {
		y, _ := Chunked(in.q, in.k, in.v, in.a, o, 16, nil)
		return y
	}},
	{"chunked5", func(in inputs, o Options) *tensor.Tensor {
		y, _ := Chunked(in.q, in.k, in.v, in.a, o, 5, nil)
		return y
	}},
	{"chunked1", func(in inputs, o Options) *tensor.Tensor {
		y, _ := Chunked(in.q, in.k, in.v, in.a, o, 1, nil)
		return y
	}},
	{"chunked100", func(in inputs, o Options) *tensor.Tensor {
		y, _ := Chunked(in.q, in.k, in.v, in.a, o, 100, nil)
		return y
	}},
	{"blockwise16", func(in inputs, o Options) *tensor.Tensor { return Blockwise(in.q, in.k, in.v, in.a, o, 16) }},
	{"blockwise7", func(in inputs, o Options) *tensor.Tensor { return Blockwise(in.q, in.k, in.v, in.a, o, 7) }},
	{"steps", func(in inputs, o Options) *tensor.Tensor { return byStep(in, o) }},
}

// byStep runs State.Step token by token and stacks the outputs.
func byStep(in inputs, o Options) *tensor.Tensor {
	s := in.q.Shape()
	B, H, L, d, dv := s[0], s[1], s[2], s[3], in.v.Dim(3)
	st := NewState(in.q.DType(), B, H, d, dv, o)
	y := tensor.New(in.q.DType(), B, H, L, dv)
	for t := 0; t < L; t++ {
		var at *tensor.Tensor
		if in.a != nil {
			at = sliceT(in.a, t, t+1).Reshape(B, H)
		}
		yt := st.Step(sliceT(in.q, t, t+1).Reshape(B, H, d), sliceT(in.k, t, t+1).Reshape(B, H, d),
			sliceT(in.v, t, t+1).Reshape(B, H, dv), at)
		for b := 0; b < B; b++ {
			for h := 0; h < H; h++ {
				for c := 0; c < dv; c++ {
					y.Set(yt.At(b, h, c), b, h, t, c)
				}
			}
		}
	}
	return y
}

// sliceT returns steps [t0, t1) of axis 2 of a (B, H, L[, d]) tensor as a copy.
func sliceT(x *tensor.Tensor, t0, t1 int) *tensor.Tensor {
	s := x.Shape()
	inner := 1
	for _, v := range s[3:] {
		inner *= v
	}
	ns := append([]int{}, s...)
	ns[2] = t1 - t0
	out := tensor.New(x.DType(), ns...)
	src, dst := x.Reshape(-1), out.Reshape(-1)
	for bh := 0; bh < s[0]*s[1]; bh++ {
		for t := t0; t < t1; t++ {
			for c := 0; c < inner; c++ {
				dst.Set(src.At((bh*s[2]+t)*inner+c), (bh*(t1-t0)+t-t0)*inner+c)
			}
		}
	}
	return out
}

func caseName(order int, kind MaskKind, norm Norm, extra string) string {
	return fmt.Sprintf("p%d/%s/%s%s", order, kind, norm, extra)
}

func mustPanic(t *testing.T, f func()) *tensor.Error {
	t.Helper()
	err := tensor.Catch(f)
	if err == nil {
		t.Fatalf("no panic")
	}
	return err.(*tensor.Error)
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
