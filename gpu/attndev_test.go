package gpu

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// attnRef is the float64 oracle of backend.DeviceAttentioner for the
// record p (any order p ≥ 1, Exp, Norm, Scale): per head, row by row,
//
//	s_ij = Scale·q_i·k_j, seg_ij = Σ_{u=j+1}^{i} a_u (accumulated directly),
//	P_ij = f(s_ij)·exp(seg_ij) (Exp with Norm: exp(s_ij + seg_ij − max_j)),
//	W = P/Σ_j P with Norm (0 for a zero sum), y_i = Σ_j W_ij v_j,
//	G'_ij = dO_i·v_j − Σ_j W_ij dO_i·v_j (Norm), dS = G'·f'(s)·exp(seg)/Σ_j P
//	(orders) or G'·W (Exp), dlogAM = G'·W,
//
// and dq = Scale·dS K, dk = Scale·dSᵀ Q, dv = Wᵀ dO, da = revcumsum(Σ_j
// dlogAM_tj − Σ_i dlogAM_it): nn.AttentionBackward's formulas (spec §f),
// which TestAttnRefMatchesNN checks it against, without the L×L matrices.
func attnRef(p backend.SSDParams, q, k, v, a, dO []float64) (y, dq, dk, dv, da []float64) {
	L, D, DV := p.L, p.D, p.DV
	y, dq, dk, dv = make([]float64, p.BH*L*DV), make([]float64, p.BH*L*D), make([]float64, p.BH*L*D), make([]float64, p.BH*L*DV)
	if a != nil {
		da = make([]float64, p.BH*L)
	}
	c := float64(p.Scale)
	s, seg, w, g := make([]float64, L), make([]float64, L), make([]float64, L), make([]float64, L)
	for h := 0; h < p.BH; h++ {
		dacs := make([]float64, L)
		for i := 0; i < L; i++ {
			qi, doi := q[(h*L+i)*D:(h*L+i+1)*D], dO[(h*L+i)*DV:(h*L+i+1)*DV]
			acc := 0.0
			for j := i; j >= 0; j-- {
				seg[j] = acc
				if a != nil {
					acc += a[h*L+j]
				}
				s[j], g[j] = 0, 0
				for e := 0; e < D; e++ {
					s[j] += c * qi[e] * k[(h*L+j)*D+e]
				}
				for e := 0; e < DV; e++ {
					g[j] += doi[e] * v[(h*L+j)*DV+e]
				}
			}
			off := 0.0
			if p.Exp && p.Norm {
				off = math.Inf(-1)
				for j := 0; j <= i; j++ {
					off = math.Max(off, s[j]+seg[j])
				}
			}
			sum := 0.0
			for j := 0; j <= i; j++ {
				if p.Exp {
					w[j] = math.Exp(s[j] + seg[j] - off)
				} else {
					w[j] = math.Pow(s[j], float64(p.Order)) * math.Exp(seg[j])
				}
				sum += w[j]
			}
			inv := 1.0
			if p.Norm {
				inv = 0
				if sum != 0 {
					inv = 1 / sum
				}
			}
			r := 0.0
			for j := 0; j <= i; j++ {
				w[j] *= inv
				for e := 0; e < DV; e++ {
					y[(h*L+i)*DV+e] += w[j] * v[(h*L+j)*DV+e]
				}
				r += w[j] * g[j]
			}
			if !p.Norm {
				r = 0
			}
			for j := 0; j <= i; j++ {
				gt := g[j] - r
				dl := gt * w[j]
				ds := dl
				if !p.Exp {
					ds = gt * float64(p.Order) * math.Pow(s[j], float64(p.Order-1)) * math.Exp(seg[j]) * inv
				}
				for e := 0; e < D; e++ {
					dq[(h*L+i)*D+e] += c * ds * k[(h*L+j)*D+e]
					dk[(h*L+j)*D+e] += c * ds * qi[e]
				}
				for e := 0; e < DV; e++ {
					dv[(h*L+j)*DV+e] += w[j] * doi[e]
				}
				dacs[i] += dl
				dacs[j] -= dl
			}
		}
		if a != nil {
			acc := 0.0
			for t := L - 1; t >= 0; t-- {
				acc += dacs[t]
				da[h*L+t] = acc
			}
		}
	}
	return
}

// attnInputs returns float32-rounded random inputs for p as float64
// slices: q, k ~ N(0, 1) (uniform on [0.1, 1] where the norm needs a
// positive score image: odd orders with Norm), v, dO ~ N(0, 1), and with
// masked a ~ U[lo, −0.001].
func attnInputs(p backend.SSDParams, seed uint64, masked bool, lo float64) (q, k, v, a, dO []float64) {
	r := rand.New(rand.NewPCG(seed, 99))
	gen := func(n int, f func() float64) []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(float32(f()))
		}
		return x
	}
	qk := r.NormFloat64
	if !p.Exp && p.Order%2 == 1 && p.Norm {
		qk = func() float64 { return 0.1 + 0.9*r.Float64() }
	}
	n, nv := p.BH*p.L*p.D, p.BH*p.L*p.DV
	q, k, v, dO = gen(n, qk), gen(n, qk), gen(nv, r.NormFloat64), gen(nv, r.NormFloat64)
	if masked {
		a = gen(p.BH*p.L, func() float64 { return lo + (-0.001-lo)*r.Float64() })
	}
	return
}

func f32(x []float64) []float32 {
	if x == nil {
		return nil
	}
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// TestAttnRefMatchesNN checks the test oracle attnRef against nn's float64
// CPU code (ssd.Quadratic forward, nn.AttentionBackward) for orders 1, 2
// and exp × decay × norm at scale 1/√d: agreement to 1e-12 of each
// tensor's scale.
func TestAttnRefMatchesNN(t *testing.T) {
	const B, H, L, d, dv = 1, 2, 23, 5, 3
	const orderExp = -1
	for _, order := range []int{1, 2, orderExp} {
		for _, masked := range []bool{false, true} {
			for _, norm := range []bool{false, true} {
				p := backend.SSDParams{BH: B * H, L: L, D: d, DV: dv, Order: max(order, 1), Exp: order == orderExp, Norm: norm, Scale: float32(1 / math.Sqrt(d))}
				q, k, v, a, dO := attnInputs(p, 5, masked, -1)
				ten := func(x []float64, shape ...int) *tensor.Tensor {
					if x == nil {
						return nil
					}
					return tensor.FromFloat64(x, shape...)
				}
				tq, tk, tv, tO := ten(q, B, H, L, d), ten(k, B, H, L, d), ten(v, B, H, L, dv), ten(dO, B, H, L, dv)
				ta := ten(a, B, H, L)
				o := ssd.Options{Order: max(order, 1), Exp: order == orderExp}
				if o.Exp {
					o.Order = 0
				}
				if norm {
					o.Norm = ssd.NormSoftmax
				}
				wy := ssd.Quadratic(tq, tk, tv, ta, o)
				gr := ssd.QuadraticBackward(tq, tk, tv, ta, o, tO)
				y, dq, dk, dvv, da := attnRefScale(p, 1/math.Sqrt(d), q, k, v, a, dO)
				for _, c := range []struct {
					what string
					got  []float64
					want *tensor.Tensor
				}{{"y", y, wy}, {"dq", dq, gr.DQ}, {"dk", dk, gr.DK}, {"dv", dvv, gr.DV}, {"da", da, gr.DA}} {
					if c.want == nil {
						continue
					}
					if e := normErr64(c.got, c.want.Float64s()); !(e <= 1e-12) {
						t.Errorf("order %d mask %v norm %v: %s differs from nn's by %.3g of its scale", order, masked, norm, c.what, e)
					}
				}
			}
		}
	}
}

// attnRefScale is attnRef with the score scale c in float64 (nn's exact
// 1/√d, which p.Scale rounds to float32): it runs attnRef at scale 1 on c·q.
func attnRefScale(p backend.SSDParams, c float64, q, k, v, a, dO []float64) (y, dq, dk, dv, da []float64) {
	qc := make([]float64, len(q))
	for i, x := range q {
		qc[i] = c * x
	}
	p.Scale = 1
	y, dq, dk, dv, da = attnRef(p, qc, k, v, a, dO)
	for i := range dq {
		dq[i] *= c // dq w.r.t. q is c times that w.r.t. c·q
	}
	return
}

// normErr64 is normErr for a float64 result.
func normErr64(got, want []float64) float64 {
	worst, scale := 0.0, 0.01
	for i, w := range want {
		scale = math.Max(scale, math.Abs(w))
		worst = math.Max(worst, math.Abs(got[i]-w))
	}
	return worst / scale
}

// countDriver counts the host transfers of the driver it wraps.
type countDriver struct {
	driver
	up, down int
}

func (c *countDriver) upload(id uint32, off int, p unsafe.Pointer, size int) error {
	c.up++
	return c.driver.upload(id, off, p, size)
}

func (c *countDriver) download(id uint32, off int, p unsafe.Pointer, size int) error {
	c.down++
	return c.driver.download(id, off, p, size)
}

// countTransfers runs f with the device's driver wrapped by a countDriver
// and returns the uploads and downloads f made.
func countTransfers(d *Device, f func() error) (up, down int, err error) {
	var c *countDriver
	d.do(func() { c = &countDriver{driver: d.drv}; d.drv = c })
	err = f()
	d.do(func() { d.drv = c.driver })
	return c.up, c.down, err
}

// TestCountTransfers checks that countTransfers sees an upload and a
// download (so that attnDevCase's "nothing moved" can fail).
func TestCountTransfers(t *testing.T) {
	d := device(t)
	x := poisoned(t, d, 4)
	defer x.Release()
	up, down, err := countTransfers(d, func() error {
		if err := x.Write([]float32{1, 2, 3, 4}); err != nil {
			return err
		}
		return x.Read(make([]float32, 4))
	})
	if err != nil || up != 1 || down != 1 {
		t.Fatalf("countTransfers: %d uploads, %d downloads, %v; want 1, 1, nil", up, down, err)
	}
}

// attnDevCase runs the forward and backward of p on the device for the
// inputs of attnInputs and compares y, dq, dk, dv, da with attnRef:
// normErr ≤ tolY for y and dv, ≤ tolG for dq, dk, da. It checks that the
// two calls upload and download nothing (the buffers are made before, the
// results read after) and returns the largest errors.
func attnDevCase(t *testing.T, d *Device, p backend.SSDParams, masked bool, lo float64, seed uint64, tolY, tolG float64) map[string]float64 {
	t.Helper()
	return attnDevForms(t, d, p, p, masked, lo, seed, tolY, tolG)
}

// attnDevForms is attnDevCase with the forward run for the record p and
// the backward for pb (the same but for Form and Chunk).
func attnDevForms(t *testing.T, d *Device, p, pb backend.SSDParams, masked bool, lo float64, seed uint64, tolY, tolG float64) map[string]float64 {
	t.Helper()
	q, k, v, a, dO := attnInputs(p, seed, masked, lo)
	wy, wdq, wdk, wdv, wda := attnRef(p, q, k, v, a, dO)
	nr, n, nv := p.BH*p.L, p.BH*p.L*p.D, p.BH*p.L*p.DV
	b := backend.AttnBuffers{Q: upload(t, d, f32(q)), K: upload(t, d, f32(k)), V: upload(t, d, f32(v)), DO: upload(t, d, f32(dO)),
		Y: poisoned(t, d, nv), Stat: poisoned(t, d, nr), DQ: poisoned(t, d, n), DK: poisoned(t, d, n), DV: poisoned(t, d, nv)}
	if masked {
		b.A, b.DA = upload(t, d, f32(a)), poisoned(t, d, nr)
	}
	defer func() {
		for _, x := range []backend.DeviceBuffer{b.Q, b.K, b.V, b.A, b.Y, b.Stat, b.DO, b.DQ, b.DK, b.DV, b.DA} {
			if x != nil {
				x.Release()
			}
		}
	}()
	up, down, err := countTransfers(d, func() error {
		if err := d.AttentionDevice32(p, b); err != nil {
			return err
		}
		return d.AttentionBackwardDevice32(pb, b)
	})
	if err != nil {
		t.Fatal(err)
	}
	if up != 0 || down != 0 {
		t.Errorf("forward and backward made %d uploads and %d downloads, want none", up, down)
	}
	errs := map[string]float64{}
	check := func(what string, got backend.DeviceBuffer, want []float64, tol float64) {
		if want == nil {
			return
		}
		e := normErr(download(t, got.(*Buffer)), want)
		errs[what] = e
		if !(e <= tol) {
			t.Errorf("%s: error %.3g of the largest entry, tolerance %g", what, e, tol)
		}
	}
	check("y", b.Y, wy, tolY)
	check("dv", b.DV, wdv, tolY)
	check("dq", b.DQ, wdq, tolG)
	check("dk", b.DK, wdk, tolG)
	check("da", b.DA, wda, tolG)
	return errs
}

// eachAttnForm runs f as subtests form=tiled and form=gemm, with
// attnForm forcing attndev.comp's tiled kernels or attngemm.go's GEMM form
// (chunked records run their chunked form either way), and checks from a
// profile of f's dispatches that the GEMM form's shader ran in form=gemm
// exactly when quadratic (f's records take the quadratic form) and never
// in form=tiled.
func eachAttnForm(t *testing.T, d *Device, quadratic bool, f func(t *testing.T)) {
	for _, form := range []string{"tiled", "gemm"} {
		t.Run("form="+form, func(t *testing.T) {
			attnForm = form
			defer func() { attnForm = "" }()
			d.StartProfile()
			f(t)
			gemm := false
			for _, r := range d.StopProfile().Rows {
				gemm = gemm || strings.HasPrefix(r.Program, "attngemm.comp")
			}
			if want := form == "gemm" && quadratic; gemm != want {
				t.Errorf("attngemm.comp dispatched: %v, want %v", gemm, want)
			}
		})
	}
}

// TestAttentionDevice checks AttentionDevice32 and
// AttentionBackwardDevice32 against the float64 oracle attnRef for orders
// 1, 2, 3 and exp, with and without a decay, with and without the norm, at
// L = 1, 37 (with blocks of 8: five blocks, the last partial) and 300 (the
// device's block, 64 on llvmpipe: the last block partial), d = 8, d_v = 6,
// with scale 1/√d, and that the calls move nothing between host and
// device. Decays are weak (a ∈ [−0.1, −0.001]) so that far blocks weigh in.
//
// Bound: 3e-5 of each tensor's largest entry for y and dv, 6e-5 for dq,
// dk and da. Inputs are float32-rounded (the oracle sees the same values),
// so the difference is float32 arithmetic: sums over up to L terms in
// blocks (~√L·2⁻²⁴ relative in practice) with exp and the powers of the
// scores amplifying relative errors by the score range; da is summed in
// float64; at L = 1 with the norm the exactly-zero dq, dk are bounded
// absolutely (below). Measured on llvmpipe, 2026-12-06, at L = 37 and
// 300: y ≤ 8.2e-7, dv ≤ 1.0e-6, dq, dk ≤ 1.4e-6, da ≤ 2.2e-6.
func TestAttentionDevice(t *testing.T) {
	d := device(t)
	type shape struct{ BH, L, D, DV, block int }
	eachAttnForm(t, d, true, func(t *testing.T) {
		worst := map[string]float64{}
		for _, sh := range []shape{{2, 1, 8, 6, 0}, {3, 37, 8, 6, 8}, {2, 300, 8, 6, 0}} {
			for _, order := range []int{1, 2, 3, 0} {
				for _, masked := range []bool{false, true} {
					for _, norm := range []bool{false, true} {
						p := backend.SSDParams{BH: sh.BH, L: sh.L, D: sh.D, DV: sh.DV, Order: order, Exp: order == 0, Norm: norm,
							Scale: float32(1 / math.Sqrt(float64(sh.D)))}
						name := fmt.Sprintf("L=%d/order=%d/mask=%v/norm=%v", sh.L, order, masked, norm)
						if p.Exp {
							name = fmt.Sprintf("L=%d/exp/mask=%v/norm=%v", sh.L, masked, norm)
						}
						t.Run(name, func(t *testing.T) {
							if sh.block > 0 {
								attnDevBlock = sh.block
								defer func() { attnDevBlock = 0 }()
							}
							tolG := 6e-5
							if sh.L == 1 && norm && !p.Exp {
								// dq and dk are 0 in exact arithmetic, and rounding
								// noise: dS = (dO·v − dO·y)·p/s with y = v·(1 + ε),
								// ~2⁻²⁴·|dO||v|·p/|s| (~1e-6 here); normErr's floor
								// of 0.01 makes the bound 1e-5 absolute.
								tolG = 1e-3
							}
							for k, e := range attnDevCase(t, d, p, masked, -0.1, uint64(sh.L+10*order), 3e-5, tolG) {
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
	})
}

// TestAttentionDeviceLong checks the device attention at L = 2500 (40
// blocks of 64, the last partial; beyond the host-slice path's 2048) for
// orders 1, 2 and exp, with and without a decay and the norm, at d = d_v =
// 4, and at L = 1000 with d = d_v = 64 (order 2 and exp, decay, norm: y's
// product in outTile's tiling, not 128-row multiples). On llvmpipe
// the vec4 rows keep the per-key loops unrolled, so that its loop limiter
// (about 65,535 iterations of the loops it keeps per invocation) is not
// reached: before them, d = d_v = 64 failed from L = 600. The chunked form
// (orders 1 and 2, chunks of 128) at L = 2500 too. Bounds as
// TestAttentionDevice.
func TestAttentionDeviceLong(t *testing.T) {
	if testing.Short() {
		t.Skip("long sequence")
	}
	d := device(t)
	for _, c := range []struct {
		L, D   int
		order  int
		masked bool
		norm   bool
		chunk  int // 0: the quadratic form
	}{{2500, 4, 1, true, false, 0}, {2500, 4, 2, true, true, 0}, {2500, 4, 2, false, false, 0}, {2500, 4, 0, true, true, 0}, {2500, 4, 0, false, false, 0},
		{1000, 64, 2, true, true, 0}, {1000, 64, 0, true, true, 0}, {2500, 4, 1, true, false, 128}, {2500, 4, 2, true, true, 128}} {
		p := backend.SSDParams{BH: 1, L: c.L, D: c.D, DV: c.D, Order: c.order, Exp: c.order == 0, Norm: c.norm, Scale: float32(1 / math.Sqrt(float64(c.D)))}
		if c.chunk > 0 {
			p.Form, p.Chunk = "chunked", c.chunk
		}
		t.Run(fmt.Sprintf("L=%d/d=%d/order=%d/mask=%v/norm=%v/chunk=%d", c.L, c.D, c.order, c.masked, c.norm, c.chunk), func(t *testing.T) {
			eachAttnForm(t, d, c.chunk == 0, func(t *testing.T) {
				t.Logf("errors: %v", attnDevCase(t, d, p, c.masked, -0.01, 7, 3e-5, 6e-5))
			})
		})
	}
}

// TestAttentionDeviceStrongDecay checks both forms at L = 520 (past the
// GEMM form's threshold) with strong decays (a ∈ [−3, −0.001]: far pairs
// underflow to 0, the decay's cumulative sum reaches about −800) for
// orders 1 and 2 and exp, with and without the norm, scale 1 (Mamba-2's).
// Bounds as TestAttentionDevice, but y and dv within 1e-6 in the GEMM form
// at orders 1 and 2 (exp against row bounds loses up to about
// b_i·2⁻²³ in each exp(x_ij − b_i), attngemm.comp BOUND): its
// scores' epilogue differences the decay sums as (hi, lo) float pairs of
// the double sums, within about an ulp of differencing them in double
// (errors 1.2-2.8e-7 on llvmpipe, 2026-12-06, the same bit for bit either
// way; without lo y 1.0-2.1e-5; sums rounded to float relative to each
// tile's first column, then differenced, gave y 2.2-3.6e-6).
func TestAttentionDeviceStrongDecay(t *testing.T) {
	d := device(t)
	for _, order := range []int{1, 2, 0} {
		for _, norm := range []bool{false, true} {
			if order == 0 && !norm {
				continue // exp without the norm overflows at scale 1
			}
			p := backend.SSDParams{BH: 2, L: 520, D: 8, DV: 8, Order: order, Exp: order == 0, Norm: norm, Scale: 1}
			t.Run(fmt.Sprintf("order=%d/norm=%v", order, norm), func(t *testing.T) {
				eachAttnForm(t, d, true, func(t *testing.T) {
					tolY := 3e-5
					if attnForm == "gemm" && order > 0 {
						tolY = 1e-6
					}
					t.Logf("errors: %v", attnDevCase(t, d, p, true, -3, 3, tolY, 6e-5))
				})
			})
		}
	}
}

// TestAttentionGemmHeadGroups checks the GEMM form when its L×L
// scratches hold fewer heads than the call has (ssdMaxStateFloats caps
// gemmCap): 5 heads in groups of 2, 2 and 1 and one a group, so that every
// pass and product runs with a first head h0 > 0, for order 2 and exp,
// with a decay and the norm (and order 1 without), L = 130 (two row tiles
// of 128, the last partial). Bounds as TestAttentionDevice.
func TestAttentionGemmHeadGroups(t *testing.T) {
	d := device(t)
	const L = 130
	defer func(old int) { ssdMaxStateFloats, attnForm = old, "" }(ssdMaxStateFloats)
	attnForm = "gemm"
	for _, heads := range []int{2, 1} {
		ssdMaxStateFloats = heads * L * L
		for _, c := range []struct {
			order        int
			masked, norm bool
		}{{2, true, true}, {0, true, true}, {1, false, false}, {1, true, false}} {
			p := backend.SSDParams{BH: 5, L: L, D: 8, DV: 6, Order: c.order, Exp: c.order == 0, Norm: c.norm, Scale: float32(1 / math.Sqrt(8))}
			t.Run(fmt.Sprintf("group=%d/order=%d/mask=%v/norm=%v", heads, c.order, c.masked, c.norm), func(t *testing.T) {
				j := &attnDev{d: d, p: p}
				for _, fwd := range []bool{true, false} {
					if hb := j.headGroup(fwd); hb != heads {
						t.Fatalf("headGroup(%v) = %d, want %d", fwd, hb, heads)
					}
				}
				t.Logf("errors: %v", attnDevCase(t, d, p, c.masked, -0.1, 9, 3e-5, 6e-5))
			})
		}
	}
}

// TestAttentionGemmSplitK checks the GEMM form's forward with y = (sc∘P̃)·V
// in K chunks (attnGemmKC shortened to 128: L = 300 takes three, the
// last partial; L = 1100 takes attnGemmKChunk's L/8 rounded to 256, five,
// the last partial) summed by YSUM with the chunks' row sums, with 5 heads
// in groups of 2 (first heads h0 > 0), for order 2 and exp with a decay and
// the norm and order 1 without either. CUM's groups shortened to 32
// threads take the decay's sums in blocks of 256 positions (L = 300: two,
// L = 1100: five, each the last partial), each block carrying the ones
// before. Bounds as TestAttentionDevice.
func TestAttentionGemmSplitK(t *testing.T) {
	d := device(t)
	defer func(old, kc, ct int) {
		ssdMaxStateFloats, attnGemmKC, attnCumThreads, attnForm = old, kc, ct, ""
	}(ssdMaxStateFloats, attnGemmKC, attnCumThreads)
	attnForm, attnGemmKC, attnCumThreads = "gemm", 128, 32
	for _, l := range []struct{ L, kc int }{{300, 128}, {1100, 256}} {
		if kc := attnGemmKChunk(l.L); kc != l.kc {
			t.Fatalf("attnGemmKChunk(%d) = %d, want %d", l.L, kc, l.kc)
		}
		ssdMaxStateFloats = 2 * l.L * l.L
		for _, c := range []struct {
			order        int
			masked, norm bool
		}{{2, true, true}, {0, true, true}, {1, false, false}} {
			p := backend.SSDParams{BH: 5, L: l.L, D: 8, DV: 6, Order: c.order, Exp: c.order == 0, Norm: c.norm, Scale: float32(1 / math.Sqrt(8))}
			t.Run(fmt.Sprintf("L=%d/order=%d/mask=%v/norm=%v", l.L, c.order, c.masked, c.norm), func(t *testing.T) {
				t.Logf("errors: %v", attnDevCase(t, d, p, c.masked, -0.1, 9, 3e-5, 6e-5))
			})
		}
	}
}

// TestAttentionDeviceWide checks d = d_v = 256 (the largest the shader
// takes: small blocks where shared memory is 32 KiB) at L = 20, order 2
// with decay and norm, and exp with decay and norm.
func TestAttentionDeviceWide(t *testing.T) {
	d := device(t)
	for _, exp := range []bool{false, true} {
		p := backend.SSDParams{BH: 1, L: 20, D: 256, DV: 256, Order: 2, Exp: exp, Norm: true, Scale: 1.0 / 16}
		t.Run(fmt.Sprintf("exp=%v", exp), func(t *testing.T) {
			eachAttnForm(t, d, true, func(t *testing.T) {
				t.Logf("errors: %v", attnDevCase(t, d, p, true, -0.5, 3, 3e-5, 6e-5))
			})
		})
	}
}

// TestAttentionDeviceZeroRow checks the norm's convention: a row whose
// normaliser Σ_j P_ij is exactly 0 (q_i = 0: every score of the row is 0)
// outputs 0, with Stat 0, and passes no gradient (as attnRef and nn's CPU
// code), at orders 1 and 2 with and without a decay.
func TestAttentionDeviceZeroRow(t *testing.T) {
	d := device(t)
	const L, D, DV = 6, 3, 2
	eachAttnForm(t, d, true, func(t *testing.T) {
		for _, order := range []int{1, 2} {
			for _, masked := range []bool{false, true} {
				p := backend.SSDParams{BH: 1, L: L, D: D, DV: DV, Order: order, Norm: true, Scale: 0.5}
				q, k, v, a, dO := attnInputs(p, 11, masked, -1)
				for _, i := range []int{2, 4} {
					for c := 0; c < D; c++ {
						q[i*D+c] = 0
					}
				}
				wy, wdq, wdk, wdv, wda := attnRef(p, q, k, v, a, dO)
				b := backend.AttnBuffers{Q: upload(t, d, f32(q)), K: upload(t, d, f32(k)), V: upload(t, d, f32(v)), DO: upload(t, d, f32(dO)),
					Y: poisoned(t, d, L*DV), Stat: poisoned(t, d, L), DQ: poisoned(t, d, L*D), DK: poisoned(t, d, L*D), DV: poisoned(t, d, L*DV)}
				if masked {
					b.A, b.DA = upload(t, d, f32(a)), poisoned(t, d, L)
				}
				if err := d.AttentionDevice32(p, b); err != nil {
					t.Fatal(err)
				}
				if err := d.AttentionBackwardDevice32(p, b); err != nil {
					t.Fatal(err)
				}
				y, st := download(t, b.Y.(*Buffer)), download(t, b.Stat.(*Buffer))
				for _, i := range []int{2, 4} {
					if y[i*DV] != 0 || y[i*DV+1] != 0 || st[i] != 0 {
						t.Errorf("order %d mask %v: row %d: y = %v, stat %v, want 0", order, masked, i, y[i*DV:i*DV+DV], st[i])
					}
				}
				for _, c := range []struct {
					what string
					got  backend.DeviceBuffer
					want []float64
				}{{"y", b.Y, wy}, {"dq", b.DQ, wdq}, {"dk", b.DK, wdk}, {"dv", b.DV, wdv}, {"da", b.DA, wda}} {
					if c.want == nil {
						continue
					}
					if e := normErr(download(t, c.got.(*Buffer)), c.want); !(e <= 5e-5) {
						t.Errorf("order %d mask %v: %s: error %.3g of the largest entry, tolerance 5e-5", order, masked, c.what, e)
					}
				}
			}
		}
	})
}

// TestAttentionDeviceRefuses checks the record and buffer checks: d over
// 256, and in the chunked form exp, order 3 and states over a storage
// buffer wrap backend.ErrNotImplemented; a missing buffer, a short one, DA
// without A, and order 0 without Exp are errors; BH = 0 or L = 0 is a
// no-op.
func TestAttentionDeviceRefuses(t *testing.T) {
	d := device(t)
	buf := func(n int) *Buffer { return poisoned(t, d, n) }
	p := backend.SSDParams{BH: 1, L: 4, D: 2, DV: 2, Order: 2, Scale: 1}
	full := backend.AttnBuffers{Q: buf(8), K: buf(8), V: buf(8), Y: buf(8), Stat: buf(4), DO: buf(8), DQ: buf(8), DK: buf(8), DV: buf(8)}
	wide := p
	wide.D = 257
	if err := d.AttentionDevice32(wide, full); !errors.Is(err, backend.ErrNotImplemented) {
		t.Errorf("d = 257: %v, want ErrNotImplemented", err)
	}
	// The chunked form takes orders 1 and 2 only, and states within one
	// storage buffer (here capped at 8 floats: 1 chunk × 3 features of
	// order 2 at d = 2 × 3 columns = 9).
	for _, c := range []struct {
		what string
		p    backend.SSDParams
		cap  int
	}{
		{"chunked exp", backend.SSDParams{BH: 1, L: 4, D: 2, DV: 2, Exp: true, Norm: true, Scale: 1, Form: "chunked", Chunk: 4}, 0},
		{"chunked order 3", backend.SSDParams{BH: 1, L: 4, D: 2, DV: 2, Order: 3, Scale: 1, Form: "chunked", Chunk: 4}, 0},
		{"chunked states too large", backend.SSDParams{BH: 1, L: 4, D: 2, DV: 2, Order: 2, Norm: true, Scale: 1, Form: "chunked", Chunk: 4}, 8},
	} {
		old := ssdMaxStateFloats
		ssdMaxStateFloats = c.cap
		err := d.AttentionBackwardDevice32(c.p, full)
		ssdMaxStateFloats = old
		if !errors.Is(err, backend.ErrNotImplemented) {
			t.Errorf("%s: %v, want ErrNotImplemented", c.what, err)
		}
	}
	for _, c := range []struct {
		what string
		p    backend.SSDParams
		edit func(b *backend.AttnBuffers)
	}{
		{"no Q", p, func(b *backend.AttnBuffers) { b.Q = nil }},
		{"short Stat", p, func(b *backend.AttnBuffers) { b.Stat = buf(3) }},
		{"DA without A", p, func(b *backend.AttnBuffers) { b.DA = buf(4) }},
		{"order 0", backend.SSDParams{BH: 1, L: 4, D: 2, DV: 2, Scale: 1}, func(*backend.AttnBuffers) {}},
	} {
		b := full
		c.edit(&b)
		if err := d.AttentionBackwardDevice32(c.p, b); err == nil || errors.Is(err, backend.ErrNotImplemented) {
			t.Errorf("%s: %v, want an error (not ErrNotImplemented)", c.what, err)
		}
	}
	for _, q := range []backend.SSDParams{{BH: 0, L: 4, D: 2, DV: 2, Order: 1}, {BH: 1, L: 0, D: 2, DV: 2, Order: 1}} {
		if err := d.AttentionBackwardDevice32(q, backend.AttnBuffers{Q: buf(1), K: buf(1), V: buf(1), Y: buf(1), Stat: buf(1), DO: buf(1), DQ: buf(1), DK: buf(1), DV: buf(1)}); err != nil {
			t.Errorf("%+v: %v, want nil", q, err)
		}
	}
}

// TestAttentionDeviceChunked checks the chunked form (Form "chunked":
// within-chunk pairs by the quadratic tiles, earlier chunks through the
// states) against attnRef for orders 1 and 2 × decay × norm, at L = 37 with
// chunks of 8 (blocks of 4: two blocks a chunk, the last chunk partial) and
// L = 300 with chunks of 64 at d = 5, d_v = 3, and that nothing moves
// between host and device. Bounds as TestAttentionDevice; measured on
// llvmpipe, 2026-12-06: y, dv ≤ 4e-7, dq, dk ≤ 5.3e-7, da ≤ 8.1e-7.
func TestAttentionDeviceChunked(t *testing.T) {
	d := device(t)
	worst := map[string]float64{}
	for _, sh := range []struct{ BH, L, D, DV, chunk, block int }{{2, 37, 5, 3, 8, 4}, {2, 300, 5, 3, 64, 0}} {
		for _, order := range []int{1, 2} {
			for _, masked := range []bool{false, true} {
				for _, norm := range []bool{false, true} {
					p := backend.SSDParams{BH: sh.BH, L: sh.L, D: sh.D, DV: sh.DV, Order: order, Norm: norm,
						Scale: float32(1 / math.Sqrt(float64(sh.D))), Form: "chunked", Chunk: sh.chunk}
					t.Run(fmt.Sprintf("L=%d/chunk=%d/order=%d/mask=%v/norm=%v", sh.L, sh.chunk, order, masked, norm), func(t *testing.T) {
						attnDevBlock = sh.block
						defer func() { attnDevBlock = 0 }()
						for k, e := range attnDevCase(t, d, p, masked, -0.1, uint64(sh.L+10*order), 3e-5, 6e-5) {
							worst[k] = math.Max(worst[k], e)
						}
					})
				}
			}
		}
	}
	t.Logf("largest errors (of each tensor's largest entry): %v", worst)
}

// TestAttentionDeviceChunkedWide checks the chunked form at order 2 with
// d = d_v = 64 (F = 2080 state features; the 2Mamba head of issue 12's
// large model), decay and norm, L = 200 in chunks of 64, and at d = d_v =
// 32. On a software renderer only d = 32 runs: at d = 64 the per-row
// stages loop over F·(d_v+1) = 135,200 state entries, past llvmpipe's loop
// limiter (there d = 64 gave wrong values while d = 64 with d_v = 4, and
// d = d_v = 32, 17,424 entries, agreed). Bounds as TestAttentionDevice.
func TestAttentionDeviceChunkedWide(t *testing.T) {
	d := device(t)
	for _, dk := range []int{32, 64} {
		t.Run(fmt.Sprintf("d=%d", dk), func(t *testing.T) {
			if dk == 64 && d.Software() {
				t.Skip("past llvmpipe's loop limiter (see the comment)")
			}
			p := backend.SSDParams{BH: 2, L: 200, D: dk, DV: dk, Order: 2, Norm: true, Scale: float32(1 / math.Sqrt(float64(dk))), Form: "chunked", Chunk: 64}
			t.Logf("errors: %v", attnDevCase(t, d, p, true, -0.05, 9, 3e-5, 6e-5))
		})
	}
}

// TestAttentionDeviceMixedForms checks that Y and Stat mean the same in
// both forms: a chunked forward with a quadratic backward and the reverse
// (order 2, decay, norm, L = 37 in chunks of 8) agree with attnRef.
func TestAttentionDeviceMixedForms(t *testing.T) {
	d := device(t)
	q := backend.SSDParams{BH: 2, L: 37, D: 5, DV: 3, Order: 2, Norm: true, Scale: 0.45}
	c := q
	c.Form, c.Chunk = "chunked", 8
	t.Run("chunked-then-quadratic", func(t *testing.T) { attnDevForms(t, d, c, q, true, -0.1, 3, 3e-5, 6e-5) })
	t.Run("quadratic-then-chunked", func(t *testing.T) { attnDevForms(t, d, q, c, true, -0.1, 3, 3e-5, 6e-5) })
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

// TestAttentionGemmExpBound checks the GEMM form's forward and backward of
// exp with a decay and the norm on each side of attngemm.comp DECIDE's
// choice: inputs whose row bounds b_i = scale·|q_i|·max|k_j| stay within
// EXPB_MAX (path 1: P̃ against the bounds, matmul.comp EXPB), q scaled
// by 40 (bounds far past it: against the tiles' maxima; P̃ against the
// bounds would underflow, so a path run beside the chosen one fails it),
// and one log-decay above 0 (seg could exceed 0: the tiles' maxima), each
// against the float64 oracle, with the path DECIDE chose and the
// dispatches it let run checked; the first with attnExpBound off; and
// with d 6 (BOUND's scalar loads) and two BOUND groups a head (each takes
// three blocks of 64 rows, the last partial), the first inputs and q of
// the last row alone scaled by 40. L = 300 (three row tiles, the last
// partial), 3 heads in groups of 2 (a pass with h0 > 0). Bounds as
// TestAttentionDevice.
func TestAttentionGemmExpBound(t *testing.T) {
	d := device(t)
	const L = 300
	defer func(old int) { ssdMaxStateFloats, attnForm, attnExpBound, attnBoundGroups = old, "", true, 32 }(ssdMaxStateFloats)
	attnForm, ssdMaxStateFloats = "gemm", 2*L*L
	for _, c := range []struct {
		name     string
		qScale   float64
		positive bool // one log-decay above 0
		lateRow  bool // q scaled on the last row of the last head only
		bound    bool // attnExpBound
		d        int  // d = d_v: 8 (BOUND's vec4 loads) or 6
		groups   int  // attnBoundGroups
		flag     float32
	}{{"bounded", 1, false, false, true, 8, 32, 1}, {"large", 40, false, false, true, 8, 32, 0},
		{"growing", 1, true, false, true, 8, 32, 0}, {"off", 1, false, false, false, 8, 32, -1},
		{"scalar", 1, false, false, true, 6, 2, 1}, {"late-row", 40, false, true, true, 6, 2, 0}} {
		t.Run(c.name, func(t *testing.T) {
			attnExpBound, attnBoundGroups = c.bound, c.groups
			p := backend.SSDParams{BH: 3, L: L, D: c.d, DV: c.d, Exp: true, Norm: true, Scale: float32(1 / math.Sqrt(float64(c.d)))}
			q, k, v, a, dO := attnInputs(p, 11, true, -0.1)
			for i := range q {
				if !c.lateRow || i >= (3*L-1)*c.d {
					q[i] *= c.qScale
				}
			}
			if c.positive {
				a[2*L+7] = 0.05 // the third head's, the last pass
			}
			wy, wdq, wdk, wdv, _ := attnRef(p, q, k, v, a, dO)
			n, nv, nr := p.BH*p.L*p.D, p.BH*p.L*p.DV, p.BH*p.L
			b := backend.AttnBuffers{Q: upload(t, d, f32(q)), K: upload(t, d, f32(k)), V: upload(t, d, f32(v)), A: upload(t, d, f32(a)),
				DO: upload(t, d, f32(dO)), Y: poisoned(t, d, nv), Stat: poisoned(t, d, nr), DQ: poisoned(t, d, n), DK: poisoned(t, d, n),
				DV: poisoned(t, d, nv), DA: poisoned(t, d, nr)}
			if err := d.AttentionDevice32(p, b); err != nil {
				t.Fatal(err)
			}
			if c.flag >= 0 {
				s := d.scratch["attndev.gemmArgs"]
				if s == nil {
					t.Fatal("no dispatch arguments scratch")
				}
				f, err := s.buf.Download() // the last pass's: head 2 alone
				if err != nil {
					t.Fatal(err)
				}
				// seven dispatches held: four of path 0 (EPI, ROWS, y, YSUM), three of path 1
				if got := float32(math.Float32bits(f[3*7])); got != c.flag {
					t.Errorf("the last pass's path = %v, want %v", got, c.flag)
				}
				for k := 0; k < 7; k++ {
					run := math.Float32bits(f[3*k]) != 0
					if want := (k >= 4) == (c.flag == 1); run != want {
						t.Errorf("dispatch %d runs %v, want %v (arguments %v)", k, run, want, f[:3*7+1])
					}
				}
				// the last pass's bounds (head 2): b_i = |scale|·|q_i|·max_j |k_j|
				bnd, err := d.scratch["attndev.gemmBnd"].buf.Download()
				if err != nil {
					t.Fatal(err)
				}
				norm := func(x []float64, i int) float64 {
					s := 0.0
					for _, v := range x[(2*L+i)*c.d : (2*L+i+1)*c.d] {
						s += v * v
					}
					return math.Sqrt(s)
				}
				km := 0.0
				for j := 0; j < L; j++ {
					km = math.Max(km, norm(k, j))
				}
				for i := 0; i < L; i++ {
					if want := float64(p.Scale) * norm(q, i) * km; math.Abs(float64(bnd[i])-want) > 1e-5*want {
						t.Fatalf("bound of row %d = %v, want %v", i, bnd[i], want)
					}
				}
			}
			if err := d.AttentionBackwardDevice32(p, b); err != nil {
				t.Fatal(err)
			}
			for _, x := range []struct {
				what string
				got  backend.DeviceBuffer
				want []float64
				tol  float64
			}{{"y", b.Y, wy, 3e-5}, {"dv", b.DV, wdv, 3e-5}, {"dq", b.DQ, wdq, 6e-5}, {"dk", b.DK, wdk, 6e-5}} {
				if e := normErr(download(t, x.got.(*Buffer)), x.want); !(e <= x.tol) {
					t.Errorf("%s: error %.3g of the largest entry, tolerance %g", x.what, e, x.tol)
				} else {
					t.Logf("%s: %.3g", x.what, e)
				}
			}
			for _, x := range []backend.DeviceBuffer{b.Q, b.K, b.V, b.A, b.DO, b.Y, b.Stat, b.DQ, b.DK, b.DV, b.DA} {
				x.Release()
			}
		})
	}
}

// TestAttentionGemmExpBoundManyHeads checks attngemm.comp DECIDE with more
// heads in a pass than its group has threads (300 against RT 256, L 40,
// d 4): with every bound small it chooses the rows' bounds, and with q's
// last row of head 299 alone scaled by 40 the tiles' maxima; y against
// the float64 oracle either way.
func TestAttentionGemmExpBoundManyHeads(t *testing.T) {
	d := device(t)
	const BH, L = 300, 40
	defer func(old int) { ssdMaxStateFloats, attnForm = old, "" }(ssdMaxStateFloats)
	attnForm, ssdMaxStateFloats = "gemm", BH*L*L
	p := backend.SSDParams{BH: BH, L: L, D: 4, DV: 4, Exp: true, Norm: true, Scale: 0.5}
	for _, c := range []struct {
		name string
		late bool
		path uint32
	}{{"bounded", false, 1}, {"last-head", true, 0}} {
		t.Run(c.name, func(t *testing.T) {
			q, k, v, a, dO := attnInputs(p, 5, true, -0.1)
			if c.late {
				for i := (BH*L - 1) * p.D; i < BH*L*p.D; i++ {
					q[i] *= 40
				}
			}
			wy, _, _, _, _ := attnRef(p, q, k, v, a, dO)
			b := backend.AttnBuffers{Q: upload(t, d, f32(q)), K: upload(t, d, f32(k)), V: upload(t, d, f32(v)), A: upload(t, d, f32(a)),
				Y: poisoned(t, d, BH*L*p.DV), Stat: poisoned(t, d, BH*L)}
			defer func() {
				for _, x := range []backend.DeviceBuffer{b.Q, b.K, b.V, b.A, b.Y, b.Stat} {
					x.Release()
				}
			}()
			if err := d.AttentionDevice32(p, b); err != nil {
				t.Fatal(err)
			}
			if hb := (&attnDev{d: d, p: p}).headGroup(true); hb != BH {
				t.Fatalf("%d heads a pass, want %d", hb, BH)
			}
			f, err := d.scratch["attndev.gemmArgs"].buf.Download()
			if err != nil {
				t.Fatal(err)
			}
			if got := math.Float32bits(f[3*7]); got != c.path {
				t.Errorf("path %d, want %d", got, c.path)
			}
			if e := normErr(download(t, b.Y.(*Buffer)), wy); !(e <= 3e-5) {
				t.Errorf("y: error %.3g of the largest entry, tolerance 3e-5", e)
			} else {
				t.Logf("y: %.3g", e)
			}
		})
	}
}
