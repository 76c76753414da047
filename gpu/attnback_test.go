package gpu

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

func to32(t *tensor.Tensor) []float32 {
	if t == nil {
		return nil
	}
	out := make([]float32, t.Len())
	for i, v := range t.Float64s() {
		out[i] = float32(v)
	}
	return out
}

// normErr is max_i |got_i − want_i| / max(max_i |want_i|, 0.01): the error
// relative to the tensor's scale (entries near 0 are as accurate as the
// largest ones in absolute terms, not relatively; a gradient that is 0 in
// exact arithmetic, such as dq at L = 1 with the norm, is compared
// absolutely).
func normErr(got []float32, want []float64) float64 {
	worst, scale := 0.0, 0.01
	for i, w := range want {
		scale = math.Max(scale, math.Abs(w))
		e := math.Abs(float64(got[i]) - w)
		if !(e <= worst) {
			worst = e
		}
	}
	return worst / math.Max(scale, 1e-30)
}

// TestAttentionGrad checks Attention32 and AttentionBackward32 against nn's
// float64 CPU code (ssd.Quadratic forward, ssd.QuadraticBackward: the
// oracle) for every order × mask × norm, at L = 1, 7, 77 (not a multiple of
// any tile) and, with the L×L batch shrunk to two heads, with heads split
// over several batches (the last one partial).
//
// Bound: 2e-5 of each tensor's largest entry for y and dv, 5e-5 for dq, dk
// and da. Inputs are float32-rounded (the oracle sees the same values), so
// the difference is the float32 arithmetic alone: GEMMs and row sums over
// up to L = 77 terms, each ~√L·2⁻²⁴ ≈ 5e-7 in practice (L·2⁻²⁴ ≈ 5e-6 at
// worst), and for dq, dk, da a chain of three of them (W, G, then dS·K)
// with exp(s) and the squared scores amplifying relative errors by the

// orderExp is backend.AttnParams' order of exp attention.
const orderExp = -1

// attnOpts are the ssd.Options of backend.AttnParams' (Order, SMNorm).
func attnOpts(order int, smNorm bool) ssd.Options {
	o := ssd.Options{Order: order, Exp: order == orderExp}
	if o.Exp {
		o.Order = 0
	}
	if smNorm {
		o.Norm = ssd.NormSoftmax
	}
	return o
}

// score range. Measured on llvmpipe: ≤ 4e-7 (y, dv), ≤ 8e-7 (dq, dk, da).
func TestAttentionGrad(t *testing.T) {
	dev := device(t)
	type variant struct {
		name   string
		order  int
		masked bool
		norm   bool
	}
	var variants []variant
	for _, o := range []struct {
		name  string
		order int
	}{{"linear", 1}, {"squared", 2}, {"exp", orderExp}} {
		for _, masked := range []bool{false, true} {
			for _, norm := range []bool{false, true} {
				variants = append(variants, variant{fmt.Sprintf("%s/mask=%v/norm=%v", o.name, masked, norm), o.order, masked, norm})
			}
		}
	}
	type shape struct{ B, H, L, d, dv, batch int }
	shapes := []shape{{1, 2, 1, 4, 3, 0}, {2, 1, 7, 5, 3, 0}, {1, 3, 77, 8, 6, 0}, {1, 3, 77, 8, 6, 2}}
	for _, sh := range shapes {
		for vi, v := range variants {
			name := fmt.Sprintf("L=%d/%s", sh.L, v.name)
			if sh.batch > 0 {
				name = fmt.Sprintf("L=%d/batch=%d/%s", sh.L, sh.batch, v.name)
			}
			t.Run(name, func(t *testing.T) {
				if sh.batch > 0 {
					old := attnMatFloats
					attnMatFloats = sh.batch * sh.L * sh.L
					defer func() { attnMatFloats = old }()
				}
				seed := uint64(100 + 10*vi + sh.L)
				q, k := tensor.NewRNG(seed).Randn64(sh.B, sh.H, sh.L, sh.d), tensor.NewRNG(seed+1).Randn64(sh.B, sh.H, sh.L, sh.d)
				if v.order == 1 && v.norm { // a positive score image (spec §c: ReLU features)
					q, k = tensor.NewRNG(seed).Rand64(0.1, 1, sh.B, sh.H, sh.L, sh.d), tensor.NewRNG(seed+1).Rand64(0.1, 1, sh.B, sh.H, sh.L, sh.d)
				}
				val := tensor.NewRNG(seed+2).Randn64(sh.B, sh.H, sh.L, sh.dv)
				dO := tensor.NewRNG(seed+4).Randn64(sh.B, sh.H, sh.L, sh.dv)
				var a *tensor.Tensor
				if v.masked {
					a = tensor.NewRNG(seed+3).Rand64(-1.5, -0.05, sh.B, sh.H, sh.L)
				}
				// Round the inputs to float32 so that the oracle sees the GPU's values.
				for _, x := range []*tensor.Tensor{q, k, val, dO, a} {
					if x != nil {
						for i, f := range x.Float64s() {
							x.Float64s()[i] = float64(float32(f))
						}
					}
				}
				y := ssd.Quadratic(q, k, val, a, attnOpts(v.order, v.norm))
				gr := ssd.QuadraticBackward(q, k, val, a, attnOpts(v.order, v.norm), dO)
				p := backend.SSDParams{BH: sh.B * sh.H, L: sh.L, D: sh.d, DV: sh.dv, Order: max(v.order, 1), Exp: v.order < 0,
					Norm: v.norm, Scale: float32(1 / math.Sqrt(float64(sh.d)))}
				gy := make([]float32, y.Len())
				if err := dev.Attention32(p, to32(q), to32(k), to32(val), to32(a), gy); err != nil {
					t.Fatal(err)
				}
				dq, dk, dv := make([]float32, q.Len()), make([]float32, k.Len()), make([]float32, val.Len())
				var da []float32
				if a != nil {
					da = make([]float32, a.Len())
					for i := range da {
						da[i] = float32(math.NaN())
					}
				}
				for _, s := range [][]float32{dq, dk, dv} {
					for i := range s {
						s[i] = float32(math.NaN())
					}
				}
				if err := dev.AttentionBackward32(p, to32(q), to32(k), to32(val), to32(a), to32(dO), dq, dk, dv, da); err != nil {
					t.Fatal(err)
				}
				check := func(what string, got []float32, want *tensor.Tensor, tol float64) {
					e := normErr(got, want.Float64s())
					if !(e <= tol) {
						t.Errorf("%s: error %.3g of the largest entry, tolerance %g", what, e, tol)
					} else {
						t.Logf("%s: largest difference %.3g of the largest entry", what, e)
					}
				}
				check("y", gy, y, 2e-5)
				check("dv", dv, gr.DV, 2e-5)
				check("dq", dq, gr.DQ, 5e-5)
				check("dk", dk, gr.DK, 5e-5)
				if a != nil {
					check("da", da, gr.DA, 5e-5)
				}
			})
		}
	}
}

// TestAttentionLimit checks that a sequence longer than AttnMaxL is refused
// with backend.ErrNotImplemented (nn then runs it on the CPU).
func TestAttentionLimit(t *testing.T) {
	dev := device(t)
	L := AttnMaxL + 1
	p := backend.SSDParams{BH: 1, L: L, D: 1, DV: 1, Order: 2, Scale: 1}
	x := make([]float32, L)
	err := dev.Attention32(p, x, x, x, nil, make([]float32, L))
	if !errors.Is(err, backend.ErrNotImplemented) {
		t.Fatalf("Attention32 at L = %d: %v, want ErrNotImplemented", L, err)
	}
	err = dev.AttentionBackward32(p, x, x, x, nil, x, make([]float32, L), make([]float32, L), make([]float32, L), nil)
	if !errors.Is(err, backend.ErrNotImplemented) {
		t.Fatalf("AttentionBackward32 at L = %d: %v, want ErrNotImplemented", L, err)
	}
}

// TestAttentionRecord checks that the Attentioner takes its score scale
// from the record (scores c·q·k with c = p.Scale: the same output for q at
// scale c and 2q at c/2, to float32 rounding) and declines order 3 with
// backend.ErrNotImplemented.
func TestAttentionRecord(t *testing.T) {
	dev := device(t)
	const bh, L, d, dv = 2, 9, 4, 3
	r := rand.New(rand.NewPCG(7, 8))
	q, k, v := randFloats(r, bh*L*d), randFloats(r, bh*L*d), randFloats(r, bh*L*dv)
	q2 := make([]float32, len(q))
	for i, x := range q {
		q2[i] = 2 * x
	}
	for _, exp := range []bool{false, true} {
		p := backend.SSDParams{BH: bh, L: L, D: d, DV: dv, Order: 2, Exp: exp, Norm: true, Scale: 0.7}
		y, y2 := make([]float32, bh*L*dv), make([]float32, bh*L*dv)
		if err := dev.Attention32(p, q, k, v, nil, y); err != nil {
			t.Fatal(err)
		}
		p.Scale /= 2
		if err := dev.Attention32(p, q2, k, v, nil, y2); err != nil {
			t.Fatal(err)
		}
		want := make([]float64, len(y2))
		for i, x := range y2 {
			want[i] = float64(x)
		}
		compare(t, fmt.Sprintf("Attention32 exp=%v: q at scale 0.7 against 2q at 0.35", exp), y, want, nil, 1e-5)
	}
	p := backend.SSDParams{BH: bh, L: L, D: d, DV: dv, Order: 3, Scale: 1}
	if err := dev.Attention32(p, q, k, v, nil, make([]float32, bh*L*dv)); !errors.Is(err, backend.ErrNotImplemented) {
		t.Errorf("Attention32 at order 3: %v, want ErrNotImplemented", err)
	}
}

// TestAttentionZeroRow checks the norm's convention on the GPU: a row
// whose normaliser Σ_j P_ij is exactly 0 (here q_i = 0, so every score of
// the row is 0) outputs 0 and passes no gradient, as nn's CPU code does.
func TestAttentionZeroRow(t *testing.T) {
	dev := device(t)
	const L, d, dv = 6, 3, 2
	for _, order := range []int{1, 2} {
		for _, masked := range []bool{false, true} {
			t.Run(fmt.Sprintf("order=%d/mask=%v", order, masked), func(t *testing.T) {
				q, k := tensor.NewRNG(1).Rand64(0.1, 1, 1, 1, L, d), tensor.NewRNG(2).Rand64(0.1, 1, 1, 1, L, d)
				for _, i := range []int{2, 4} {
					for c := 0; c < d; c++ {
						q.Float64s()[i*d+c] = 0
					}
				}
				val, dO := tensor.NewRNG(3).Randn64(1, 1, L, dv), tensor.NewRNG(4).Randn64(1, 1, L, dv)
				var a *tensor.Tensor
				if masked {
					a = tensor.NewRNG(5).Rand64(-1, -0.1, 1, 1, L)
				}
				for _, x := range []*tensor.Tensor{q, k, val, dO, a} {
					if x != nil {
						for i, f := range x.Float64s() {
							x.Float64s()[i] = float64(float32(f))
						}
					}
				}
				y := ssd.Quadratic(q, k, val, a, attnOpts(order, true))
				gr := ssd.QuadraticBackward(q, k, val, a, attnOpts(order, true), dO)
				p := backend.SSDParams{BH: 1, L: L, D: d, DV: dv, Order: max(order, 1), Exp: order < 0, Norm: true, Scale: float32(1 / math.Sqrt(d))}
				gy := make([]float32, L*dv)
				if err := dev.Attention32(p, to32(q), to32(k), to32(val), to32(a), gy); err != nil {
					t.Fatal(err)
				}
				dq, dk, dvv := make([]float32, L*d), make([]float32, L*d), make([]float32, L*dv)
				var da []float32
				if a != nil {
					da = make([]float32, L)
				}
				if err := dev.AttentionBackward32(p, to32(q), to32(k), to32(val), to32(a), to32(dO), dq, dk, dvv, da); err != nil {
					t.Fatal(err)
				}
				for _, i := range []int{2, 4} {
					for c := 0; c < dv; c++ {
						if gy[i*dv+c] != 0 || y.Float64s()[i*dv+c] != 0 {
							t.Errorf("row %d: y = %v (gpu), %v (cpu), want 0", i, gy[i*dv+c], y.Float64s()[i*dv+c])
						}
					}
				}
				for _, c := range []struct {
					what string
					got  []float32
					want *tensor.Tensor
				}{{"y", gy, y}, {"dq", dq, gr.DQ}, {"dk", dk, gr.DK}, {"dv", dvv, gr.DV}, {"da", da, gr.DA}} {
					if c.want == nil {
						continue
					}
					if e := normErr(c.got, c.want.Float64s()); !(e <= 5e-5) {
						t.Errorf("%s: error %.3g of the largest entry, tolerance 5e-5", c.what, e)
					}
				}
			})
		}
	}
}
