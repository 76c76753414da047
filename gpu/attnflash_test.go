//go:build dev

package gpu

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/furious-lab/furious/backend"
)

// attnStatRef is the float64 oracle of the forward's Stat for p (Scale
// in float64, as attnRef): per row i, with x_ij = Scale·q_i·k_j and seg_ij
// = Σ_{u=j+1}^{i} a_u, orders with Norm 1/Σ_{j≤i} x_ij^p·exp(seg_ij) (0 for
// a zero sum), without Norm 1; Exp with Norm log Σ_{j≤i} exp(x_ij + seg_ij)
// (taken about the row's maximum), without Norm 0.
func attnStatRef(p backend.SSDParams, q, k, a []float64) []float64 {
	L, D := p.L, p.D
	st := make([]float64, p.BH*L)
	x := make([]float64, L)
	for h := 0; h < p.BH; h++ {
		for i := 0; i < L; i++ {
			seg, mx := 0.0, math.Inf(-1)
			for j := i; j >= 0; j-- {
				s := 0.0
				for e := 0; e < D; e++ {
					s += float64(p.Scale) * q[(h*L+i)*D+e] * k[(h*L+j)*D+e]
				}
				if p.Exp {
					x[j] = s + seg
					mx = math.Max(mx, x[j])
				} else {
					x[j] = math.Pow(s, float64(p.Order)) * math.Exp(seg)
				}
				if a != nil {
					seg += a[h*L+j]
				}
			}
			sum := 0.0
			for j := 0; j <= i; j++ {
				if p.Exp {
					sum += math.Exp(x[j] - mx)
				} else {
					sum += x[j]
				}
			}
			switch {
			case p.Exp && p.Norm:
				st[h*L+i] = mx + math.Log(sum)
			case p.Exp:
				st[h*L+i] = 0
			case p.Norm && sum != 0:
				st[h*L+i] = 1 / sum
			case p.Norm:
				st[h*L+i] = 0
			default:
				st[h*L+i] = 1
			}
		}
	}
	return st
}

// attnFlashForwardCase runs AttentionDevice32 alone for p on the inputs of
// attnInputs and compares Y with attnRef (normErr ≤ tolY) and Stat with
// attnStatRef entry by entry: |got − want| ≤ tolS·max(1, |want|). It
// returns the largest errors ("y", "stat").
func attnFlashForwardCase(t *testing.T, d *Device, p backend.SSDParams, masked bool, lo float64, seed uint64, tolY, tolS float64) map[string]float64 {
	t.Helper()
	q, k, v, a, dO := attnInputs(p, seed, masked, lo)
	wy, _, _, _, _ := attnRef(p, q, k, v, a, dO)
	ws := attnStatRef(p, q, k, a)
	b := backend.AttnBuffers{Q: upload(t, d, f32(q)), K: upload(t, d, f32(k)), V: upload(t, d, f32(v)),
		Y: poisoned(t, d, p.BH*p.L*p.DV), Stat: poisoned(t, d, p.BH*p.L)}
	if masked {
		b.A = upload(t, d, f32(a))
	}
	defer func() {
		for _, x := range []backend.DeviceBuffer{b.Q, b.K, b.V, b.A, b.Y, b.Stat} {
			if x != nil {
				x.Release()
			}
		}
	}()
	if err := d.AttentionDevice32(p, b); err != nil {
		t.Fatal(err)
	}
	ey := normErr(download(t, b.Y.(*Buffer)), wy)
	if !(ey <= tolY) {
		t.Errorf("y: error %.3g of the largest entry, tolerance %g", ey, tolY)
	}
	es := 0.0
	for i, g := range download(t, b.Stat.(*Buffer)) {
		e := math.Abs(float64(g)-ws[i]) / math.Max(1, math.Abs(ws[i]))
		if !(e <= tolS) {
			t.Fatalf("stat[%d] = %g, want %g (error %.3g, tolerance %g)", i, g, ws[i], e, tolS)
		}
		es = math.Max(es, e)
	}
	return map[string]float64{"y": ey, "stat": es}
}

// TestAttentionFlash checks the register-tiled kernels of attnflash.comp
// (attnFlash on): AttentionDevice32's forward (FWD), then
// AttentionBackwardDevice32 with its dq, dk, dv and decay gradient from
// DQB, DKB and DVB (reading the forward's Stat), against the float64
// oracles attnRef and attnStatRef (the forward alone first: Y and Stat):
// orders 1, 2, 3 and exp, with and without a decay, with and without the
// norm, at L = 1, 5, 63, 64, 65, 200 and 300 (tiles of 64: one partial,
// one whole, the last partial, several; small tiles within and across the
// decay blocks), d = d_v = 32 and 64, two or three heads, scale 1/√d, and
// at d = 32 with each small tile (16 and 32). It first checks that
// attnFlashTile takes each case (so the tiled kernels, not the fallback,
// ran). Decays are weak (a ∈ [−0.1, −0.001]) so that far tiles weigh in.
//
// Bounds as TestAttentionDevice: 3e-5 of each tensor's largest entry for y
// and dv, 6e-5 for dq, dk and da (1e-3 for dq, dk, da at L = 1 with the norm,
// where they are rounding noise around 0); Stat within 1e-4
// relative (absolute below 1: exp's log-sum-exp).
func TestAttentionFlash(t *testing.T) {
	d := device(t)
	attnFlash = true
	defer func() { attnFlash = false }()
	type shape struct{ BH, L, D, kt int }
	var shapes []shape
	for _, L := range []int{1, 5, 63, 64, 65, 200, 300} {
		shapes = append(shapes, shape{2 + L%2, L, 32, 0}, shape{2 + L%2, L, 64, 0})
	}
	shapes = append(shapes, shape{2, 200, 32, 16}, shape{2, 200, 32, 32})
	worst := map[string]float64{}
	for _, sh := range shapes {
		for _, order := range []int{1, 2, 3, 0} {
			for _, masked := range []bool{false, true} {
				for _, norm := range []bool{false, true} {
					p := backend.SSDParams{BH: sh.BH, L: sh.L, D: sh.D, DV: sh.D, Order: order, Exp: order == 0, Norm: norm,
						Scale: float32(1 / math.Sqrt(float64(sh.D)))}
					name := fmt.Sprintf("L=%d/d=%d/kt=%d/order=%d/mask=%v/norm=%v", sh.L, sh.D, sh.kt, order, masked, norm)
					if p.Exp {
						name = fmt.Sprintf("L=%d/d=%d/kt=%d/exp/mask=%v/norm=%v", sh.L, sh.D, sh.kt, masked, norm)
					}
					t.Run(name, func(t *testing.T) {
						attnFlashKT = sh.kt
						defer func() { attnFlashKT = 0 }()
						if _, err := d.attnFlashTile(p); err != nil {
							t.Fatalf("the tiled forward does not take this case: %v", err)
						}
						tolG := 6e-5
						if sh.L == 1 && norm {
							// dq, dk and da are 0 in exact arithmetic: rounding
							// noise of dO·v − Δ (TestAttentionDevice). With exp
							// too here: the tiled dO·v sums in another order
							// than DELTA's Δ = dO·y (y = v exactly at L = 1).
							tolG = 1e-3
						}
						seed := uint64(sh.L + 10*order)
						errs := attnFlashForwardCase(t, d, p, masked, -0.1, seed, 3e-5, 1e-4)
						for k, e := range attnDevCase(t, d, p, masked, -0.1, seed, 3e-5, tolG) {
							errs[k] = e
						}
						for k, e := range errs {
							if sh.L > 1 {
								worst[k] = math.Max(worst[k], e)
							}
						}
					})
				}
			}
		}
	}
	t.Logf("largest errors at L > 1 (of each tensor's largest entry): %v", worst)
}

// TestAttentionFlashFallback checks that with attnFlash on, shapes the
// tiled forward does not take (d ≠ d_v, d = 8) make attnFlashTile return
// an error wrapping backend.ErrNotImplemented, and AttentionDevice32 falls
// back to attndev.comp's FWD (results as attnRef, bounds as
// TestAttentionDevice); a key tile other than 16 or 32 is an error.
func TestAttentionFlashFallback(t *testing.T) {
	d := device(t)
	attnFlash = true
	defer func() { attnFlash = false }()
	for _, p := range []backend.SSDParams{
		{BH: 2, L: 70, D: 32, DV: 16, Order: 2, Norm: true, Scale: 0.2},
		{BH: 2, L: 70, D: 8, DV: 8, Exp: true, Norm: true, Scale: 0.35},
	} {
		t.Run(fmt.Sprintf("d=%d/d_v=%d", p.D, p.DV), func(t *testing.T) {
			if _, err := d.attnFlashTile(p); !errors.Is(err, backend.ErrNotImplemented) {
				t.Fatalf("attnFlashTile: %v, want ErrNotImplemented", err)
			}
			attnDevCase(t, d, p, true, -0.1, 4, 3e-5, 6e-5)
		})
	}
	attnFlashKT = 8
	defer func() { attnFlashKT = 0 }()
	if _, err := d.attnFlashTile(backend.SSDParams{BH: 1, L: 4, D: 32, DV: 32, Order: 1, Scale: 1}); err == nil || errors.Is(err, backend.ErrNotImplemented) {
		t.Errorf("key tile 8: %v, want an error (not ErrNotImplemented)", err)
	}
}

// TestAttentionFlashLong checks the tiled kernels (attnFlash on) at long
// sequences, where their tile loops run longest (L/KT passes; on llvmpipe
// the loop limiter cuts an invocation after about 65,535 iterations of the
// loops it keeps): L = 1000 at d = d_v = 64 (order 2, decay, norm; exp,
// decay, norm) and L = 2500 at d = 32 (order 1, decay, no norm; exp, norm),
// forward and backward against attnRef, bounds as TestAttentionDevice.
func TestAttentionFlashLong(t *testing.T) {
	if testing.Short() {
		t.Skip("long sequence")
	}
	d := device(t)
	attnFlash = true
	defer func() { attnFlash = false }()
	for _, c := range []struct {
		L, D         int
		order        int
		masked, norm bool
	}{{1000, 64, 2, true, true}, {1000, 64, 0, true, true}, {2500, 32, 1, true, false}, {2500, 32, 0, false, true}} {
		p := backend.SSDParams{BH: 1, L: c.L, D: c.D, DV: c.D, Order: c.order, Exp: c.order == 0, Norm: c.norm, Scale: float32(1 / math.Sqrt(float64(c.D)))}
		t.Run(fmt.Sprintf("L=%d/d=%d/order=%d/mask=%v/norm=%v", c.L, c.D, c.order, c.masked, c.norm), func(t *testing.T) {
			if _, err := d.attnFlashTile(p); err != nil {
				t.Fatalf("the tiled kernels do not take this case: %v", err)
			}
			t.Logf("errors: %v", attnDevCase(t, d, p, c.masked, -0.01, 7, 3e-5, 6e-5))
		})
	}
}
