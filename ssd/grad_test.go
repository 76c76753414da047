package ssd

import (
	"fmt"
	"math"
	"testing"

	"github.com/furious-lab/furious/tensor"
)

// lossFD is L = Σ dy ⊙ Quadratic(in, o): its gradient w.r.t. any input is what
// QuadraticBackward returns for dy.
func lossFD(in inputs, o Options, dy *tensor.Tensor) float64 {
	y := Quadratic(in.q, in.k, in.v, in.a, o)
	s := 0.0
	for i, x := range y.Data() {
		s += x * dy.Data()[i]
	}
	return s
}

// numGrad is the central-difference gradient of lossFD w.r.t. *t (float64).
func numGrad(in inputs, t *tensor.Tensor, o Options, dy *tensor.Tensor) *tensor.Tensor {
	x := t.Float64s()
	g := tensor.New(tensor.Float64, t.Shape()...)
	const h = 1e-5
	for i := range x {
		x0 := x[i]
		x[i] = x0 + h
		fp := lossFD(in, o, dy)
		x[i] = x0 - h
		fm := lossFD(in, o, dy)
		x[i] = x0
		g.Float64s()[i] = (fp - fm) / (2 * h)
	}
	return g
}

// gradOptions are the option sets the backward tests cover: orders 1, 2, 3,
// 4 and exp, every norm, and a non-default scale.
func gradOptions() []Options {
	var os []Options
	for _, p := range []int{1, 2, 3, 4} {
		for _, n := range []Norm{NormNone, NormOutput, NormSoftmax} {
			os = append(os, Options{Order: p, Norm: n, Eps: DefaultEps})
		}
	}
	os = append(os, Options{Order: 3, Scale: 0.7, Norm: NormSoftmax}, Options{Order: 1, Scale: 1, Norm: NormOutput, Eps: 1e-5})
	for _, n := range []Norm{NormNone, NormOutput, NormSoftmax} {
		os = append(os, Options{Exp: true, Norm: n, Eps: DefaultEps})
	}
	return os
}

// TestQuadraticBackwardFiniteDiff checks QuadraticBackward against central
// differences of Quadratic in float64 for every option set and mask kind.
func TestQuadraticBackwardFiniteDiff(t *testing.T) {
	for _, o := range gradOptions() {
		for _, kind := range []MaskKind{MaskNone, MaskSoftplus, MaskCustom} {
			name := fmt.Sprintf("%s/%s", o, kind)
			odd := !o.Exp && o.Order%2 == 1
			in := makeInputs(7, 1, 2, 6, 3, 2, kind, odd && o.Norm == NormSoftmax, false)
			dy := tensor.NewRNG(99).Randn64(1, 2, 6, 2)
			gr := QuadraticBackward(in.q, in.k, in.v, in.a, o, dy)
			check := func(arg string, got, x *tensor.Tensor) {
				want := numGrad(in, x, o, dy)
				if e := relErr(got, want); e > 1e-6 || math.IsNaN(e) {
					t.Errorf("%s: d%s rel. error %.3g", name, arg, e)
				}
			}
			check("q", gr.DQ, in.q)
			check("k", gr.DK, in.k)
			check("v", gr.DV, in.v)
			if in.a != nil {
				check("a", gr.DA, in.a)
				if e := relErr(gr.DAcs, addT(gr.DAN, gr.DAM)); e > 1e-15 {
					t.Errorf("%s: DAcs ≠ DAN + DAM (%.3g)", name, e)
				}
			}
		}
	}
}

func addT(a, b *tensor.Tensor) *tensor.Tensor {
	out := a.Clone()
	for i, x := range b.Float64s() {
		out.Float64s()[i] += x
	}
	return out
}

// TestChunkedBackwardMatchesQuadratic checks ChunkedBackward against
// QuadraticBackward in float64 (≤ 1e-10) for orders 1–3, every norm, every
// mask and chunk lengths that do and do not divide L.
func TestChunkedBackwardMatchesQuadratic(t *testing.T) {
	for _, o := range gradOptions() {
		if o.Exp || o.Order > 3 {
			continue
		}
		for _, kind := range maskKinds {
			odd := o.Order%2 == 1
			in := makeInputs(3, 2, 2, 13, 4, 3, kind, odd && o.Norm == NormSoftmax, false)
			dy := tensor.NewRNG(5).Randn64(2, 2, 13, 3)
			want := QuadraticBackward(in.q, in.k, in.v, in.a, o, dy)
			for _, Q := range []int{1, 4, 13, 64} {
				got := ChunkedBackward(in.q, in.k, in.v, in.a, o, Q, dy)
				name := fmt.Sprintf("%s/%s/chunk%d", o, kind, Q)
				for _, c := range []struct {
					arg       string
					got, want *tensor.Tensor
				}{{"q", got.DQ, want.DQ}, {"k", got.DK, want.DK}, {"v", got.DV, want.DV}, {"a", got.DA, want.DA}} {
					if c.want == nil {
						if c.got != nil {
							t.Errorf("%s: d%s given without a mask", name, c.arg)
						}
						continue
					}
					if e := relErr(c.got, c.want); e > 1e-10 {
						t.Errorf("%s: d%s differs by %.3g", name, c.arg, e)
					}
				}
			}
		}
	}
}

// TestBackwardFloat32 checks the float32 kernels against float64 (≤ 1e-4
// relative) at orders 2 and 3 in both forms.
func TestBackwardFloat32(t *testing.T) {
	for _, o := range []Options{{Order: 2, Norm: NormSoftmax}, {Order: 3, Norm: NormNone}} {
		in := makeInputs(11, 1, 2, 40, 8, 4, MaskSoftplus, false, false).round()
		dy := tensor.NewRNG(12).Randn64(1, 2, 40, 4).As(tensor.Float32).As(tensor.Float64)
		in32 := in.as(tensor.Float32)
		for _, form := range []string{"quadratic", "chunked"} {
			var g64, g32 Grads
			if form == "quadratic" {
				g64, g32 = QuadraticBackward(in.q, in.k, in.v, in.a, o, dy), QuadraticBackward(in32.q, in32.k, in32.v, in32.a, o, dy.As(tensor.Float32))
			} else {
				g64, g32 = ChunkedBackward(in.q, in.k, in.v, in.a, o, 16, dy), ChunkedBackward(in32.q, in32.k, in32.v, in32.a, o, 16, dy.As(tensor.Float32))
			}
			for i, p := range [][2]*tensor.Tensor{{g32.DQ, g64.DQ}, {g32.DK, g64.DK}, {g32.DV, g64.DV}, {g32.DA, g64.DA}} {
				if e := relErr(p[0].As(tensor.Float64), p[1]); e > 1e-4 {
					t.Errorf("%s %s: gradient %d float32 vs float64 %.3g", o, form, i, e)
				}
			}
		}
	}
}

// TestBackwardErrors checks that bad calls panic with a named *tensor.Error.
func TestBackwardErrors(t *testing.T) {
	in := makeInputs(1, 1, 1, 4, 2, 2, MaskNone, false, false)
	dy := tensor.NewRNG(2).Randn64(1, 1, 4, 3)
	if e := mustPanic(t, func() { QuadraticBackward(in.q, in.k, in.v, nil, Options{Order: 1}, dy) }); e.Op != "ssd.QuadraticBackward" || e.Arg != "dy" {
		t.Errorf("wrong dy shape: %v", e)
	}
	dy = tensor.NewRNG(2).Randn64(1, 1, 4, 2)
	if e := mustPanic(t, func() { ChunkedBackward(in.q, in.k, in.v, nil, Options{Exp: true}, 2, dy) }); e.Arg != "Exp" {
		t.Errorf("exp chunked: %v", e)
	}
	if e := mustPanic(t, func() { ChunkedBackward(in.q, in.k, in.v, nil, Options{Order: 1}, 0, dy) }); e.Arg != "chunk" {
		t.Errorf("chunk 0: %v", e)
	}
}
