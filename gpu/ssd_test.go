package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/furious-lab/furious/backend"
)

// refSSD is the float64 oracle of SSD in its quadratic form, the decay
// summed term by term.
func refSSD(q, k, v, a []float32, bh, L, dk, dv, order int, scale float64, norm bool) (y, mag []float64) {
	y = make([]float64, bh*L*dv)
	mag = make([]float64, bh*L*dv) // Σ_j |w_ij·v_j| (÷ |den| under norm): the rounding scale
	for h := 0; h < bh; h++ {
		for i := 0; i < L; i++ {
			den, dabs := 0.0, 0.0
			num, nabs := make([]float64, dv), make([]float64, dv)
			for j := 0; j <= i; j++ {
				s := 0.0
				for c := 0; c < dk; c++ {
					s += float64(q[(h*L+i)*dk+c]) * float64(k[(h*L+j)*dk+c])
				}
				b := 0.0
				for u := j + 1; u <= i; u++ {
					b += float64(a[h*L+u])
				}
				w := math.Pow(scale*s, float64(order)) * math.Exp(b)
				den += w
				dabs += math.Abs(w)
				for c := 0; c < dv; c++ {
					num[c] += w * float64(v[(h*L+j)*dv+c])
					nabs[c] += math.Abs(w * float64(v[(h*L+j)*dv+c]))
				}
			}
			for c := 0; c < dv; c++ {
				o := (h*L+i)*dv + c
				y[o], mag[o] = num[c], nabs[c]
				if norm {
					y[o] /= den
					mag[o] = (nabs[c] + math.Abs(y[o])*dabs) / math.Abs(den)
				}
			}
		}
	}
	return y, mag
}

func TestSSD(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewPCG(19, 20))
	for _, s := range [][5]int{{1, 1, 1, 1, 1}, {2, 7, 3, 2, 3}, {1, 40, 8, 5, 16}, {3, 100, 16, 16, 64}, {1, 130, 64, 64, 64}, {1, 65, 8, 4, 1000}, {2, 256, 16, 8, 128}} {
		bh, L, dk, dv, chunk := s[0], s[1], s[2], s[3], s[4]
		q, k, v := randFloats(r, bh*L*dk), randFloats(r, bh*L*dk), randFloats(r, bh*L*dv)
		a := randFloats(r, bh*L)
		negSoftplus(a, 1) // −softplus(x)
		scale := 1 / math.Sqrt(float64(dk))
		for _, on := range [][2]int{{1, 0}, {1, 1}, {2, 0}, {2, 1}} {
			order, norm := on[0], on[1] == 1
			if norm { // non-negative features keep the denominator away from 0
				absAll(q, k)
			}
			Q, K, V, A := upload(t, d, q), upload(t, d, k), upload(t, d, v), upload(t, d, a)
			Y := poisoned(t, d, bh*L*dv)
			if _, err := d.SSD(Y, Q, K, V, A, backend.SSDParams{BH: bh, L: L, D: dk, DV: dv, Order: order, Norm: norm, Scale: float32(scale), Form: "chunked", Chunk: chunk}); err != nil {
				t.Fatal(err)
			}
			want, mag := refSSD(q, k, v, a, bh, L, dk, dv, order, scale, norm)
			compare(t, fmt.Sprintf("SSD order %d bh=%d L=%d dk=%d dv=%d chunk=%d norm=%v", order, bh, L, dk, dv, chunk, norm), download(t, Y), want, mag, 1e-4)
			// The quadratic form computes the same function.
			Y2 := poisoned(t, d, bh*L*dv)
			if _, err := d.SSD(Y2, Q, K, V, A, backend.SSDParams{BH: bh, L: L, D: dk, DV: dv, Order: order, Norm: norm, Scale: float32(scale), Form: "quadratic"}); err != nil {
				t.Fatal(err)
			}
			compare(t, fmt.Sprintf("SSD quadratic order %d bh=%d L=%d dk=%d dv=%d norm=%v", order, bh, L, dk, dv, norm), download(t, Y2), want, mag, 1e-4)
			Y2.Release()
			for _, b := range []*Buffer{Q, K, V, A, Y} {
				b.Release()
			}
		}
	}
	// The last shape's chunks are whole: ssdf.comp ran without its bounds
	// checks along the sequence (FULL) there.
	if _, ok := d.ssdFusedConfig(16, 8, true); ok {
		full := false
		d.mu.Lock()
		for key := range d.programs {
			full = full || strings.HasPrefix(key, "ssdf.comp[") && strings.Contains(key, ";FULL")
		}
		d.mu.Unlock()
		if !full {
			t.Error("no shape ran ssdf.comp with FULL")
		}
	}
}

// TestSSDQuadraticLong runs the quadratic form at the shapes where the
// quadratic shader before attndev.comp's forward (attention.comp, per-thread
// decay sums) lost late output rows on llvmpipe: d = d_v = 64 at L = 512
// and d = 16, d_v = 64 at L = 1024, with a decay, orders 1 and 2 with the
// norm, against the float64 oracle.
func TestSSDQuadraticLong(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewPCG(23, 24))
	for _, s := range [][4]int{{1, 512, 64, 64}, {1, 1024, 16, 64}} {
		bh, L, dk, dv := s[0], s[1], s[2], s[3]
		q, k, v := randFloats(r, bh*L*dk), randFloats(r, bh*L*dk), randFloats(r, bh*L*dv)
		a := randFloats(r, bh*L)
		negSoftplus(a, 1)
		absAll(q, k)
		scale := 1 / math.Sqrt(float64(dk))
		Q, K, V, A := upload(t, d, q), upload(t, d, k), upload(t, d, v), upload(t, d, a)
		for _, order := range []int{1, 2} {
			Y := poisoned(t, d, bh*L*dv)
			if _, err := d.SSD(Y, Q, K, V, A, backend.SSDParams{BH: bh, L: L, D: dk, DV: dv, Order: order, Norm: true, Scale: float32(scale), Form: "quadratic"}); err != nil {
				t.Fatal(err)
			}
			want, mag := refSSD(q, k, v, a, bh, L, dk, dv, order, scale, true)
			compare(t, fmt.Sprintf("SSD quadratic order %d L=%d dk=%d dv=%d", order, L, dk, dv), download(t, Y), want, mag, 1e-4)
			Y.Release()
		}
		for _, b := range []*Buffer{Q, K, V, A} {
			b.Release()
		}
	}
}

// TestSSDHeadBatches caps the state buffers at one head's worth, so the
// three heads run as three batches, and compares with the one-batch result.
func TestSSDHeadBatches(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewPCG(27, 28))
	const bh, L, dk, dv, chunk = 3, 50, 4, 3, 8
	q, k, v, a := randFloats(r, bh*L*dk), randFloats(r, bh*L*dk), randFloats(r, bh*L*dv), randFloats(r, bh*L)
	negSoftplus(a, 1)
	Q, K, V, A := upload(t, d, q), upload(t, d, k), upload(t, d, v), upload(t, d, a)
	for _, order := range []int{1, 2} {
		Y := poisoned(t, d, bh*L*dv)
		nch := (L + chunk - 1) / chunk
		nf := FeatureMapDim(dk)
		if order == 1 {
			nf = dk
		}
		ssdMaxStateFloats = nch * nf * dv // exactly one head's states
		if cfg, ok := d.ssdFusedConfig(dk, dv, false); ok {
			ssdMaxStateFloats = ssdStateFloats(nch, nf, cfg)
		}
		_, err := d.SSD(Y, Q, K, V, A, backend.SSDParams{BH: bh, L: L, D: dk, DV: dv, Order: order, Scale: 0.5, Form: "chunked", Chunk: chunk})
		ssdMaxStateFloats = 0
		if err != nil {
			t.Fatal(err)
		}
		want, mag := refSSD(q, k, v, a, bh, L, dk, dv, order, 0.5, false)
		compare(t, fmt.Sprintf("SSD order %d in batches of one head", order), download(t, Y), want, mag, 1e-4)
		Y.Release()
	}
}

// TestSSDVariants runs the other tilings of the fused shader (4 and 8 rows
// per thread) and the four-stage shader on one shape with several row
// tiles per chunk and a partial last chunk, OUT's old output loop, no prefetching, scalar q, k, y access
// (novecio) and ChunkCumsum apart at order 1 (nocsf; the others fold it
// into STATE), against the float64 oracle. ssdx.comp is off here, so that
// order 2 runs ssdf.comp's own STATE and OUT (TestSSDX tests ssdx.comp).
func TestSSDVariants(t *testing.T) {
	d := device(t)
	defer func(o, s ssdxConfig) { ssdOutXCfg, ssdStateXCfg = o, s }(ssdOutXCfg, ssdStateXCfg)
	ssdOutXCfg, ssdStateXCfg = ssdxConfig{}, ssdxConfig{}
	r := rand.New(rand.NewPCG(31, 32))
	const bh, L, dk, dv, chunk = 2, 150, 12, 7, 80
	q, k, v, a := randFloats(r, bh*L*dk), randFloats(r, bh*L*dk), randFloats(r, bh*L*dv), randFloats(r, bh*L)
	absAll(q, k)
	negSoftplus(a, 1)
	Q, K, V, A := upload(t, d, q), upload(t, d, k), upload(t, d, v), upload(t, d, a)
	defer func() {
		for _, b := range []*Buffer{Q, K, V, A} {
			b.Release()
		}
	}()
	defer func() {
		ssdNoFused, ssdVecIO, ssdCumsumFused = false, true, true
	}()
	for _, variant := range []string{"fused", "staged", "novecio", "nocsf"} {
		ssdNoFused, ssdVecIO, ssdCumsumFused = false, true, true
		switch variant {
		case "nocsf":
			ssdCumsumFused = false
		case "novecio":
			ssdVecIO = false
		case "staged":
			ssdNoFused = true
		}
		for _, order := range []int{1, 2} {
			for _, norm := range []bool{false, true} {
				Y := poisoned(t, d, bh*L*dv)
				if _, err := d.SSD(Y, Q, K, V, A, backend.SSDParams{BH: bh, L: L, D: dk, DV: dv, Order: order, Norm: norm, Scale: 0.3, Form: "chunked", Chunk: chunk}); err != nil {
					t.Fatal(err)
				}
				want, mag := refSSD(q, k, v, a, bh, L, dk, dv, order, 0.3, norm)
				compare(t, fmt.Sprintf("SSD %s order %d norm=%v", variant, order, norm), download(t, Y), want, mag, 1e-4)
				Y.Release()
			}
		}
	}
}

// TestSSDForm checks the automatic choice at the benchmark's shapes (the
// quadratic form for short sequences, the chunked form for long ones) and
// that SSD with form "auto" computes the same function in either form.
func TestSSDForm(t *testing.T) {
	for _, c := range []struct {
		L, order int
		want     string
	}{{64, 1, "quadratic"}, {2048, 1, "chunked"}, {131072, 1, "chunked"},
		{1024, 2, "quadratic"}, {2048, 2, "quadratic"}, {4096, 2, "chunked"}, {8192, 2, "chunked"}, {32768, 2, "chunked"}} {
		if got, _ := SSDForm(backend.SSDParams{L: c.L, D: 64, DV: 64, Order: c.order}); got != c.want {
			t.Errorf("SSDForm(L=%d, order %d) = %s, want %s", c.L, c.order, got, c.want)
		}
	}
	d := device(t)
	r := rand.New(rand.NewPCG(41, 42))
	const bh, dk, dv = 2, 8, 5
	for _, L := range []int{3, 300} {
		for _, order := range []int{1, 2} {
			q, k, v, a := randFloats(r, bh*L*dk), randFloats(r, bh*L*dk), randFloats(r, bh*L*dv), randFloats(r, bh*L)
			absAll(q, k)
			negSoftplus(a, 1)
			Q, K, V, A := upload(t, d, q), upload(t, d, k), upload(t, d, v), upload(t, d, a)
			Y := poisoned(t, d, bh*L*dv)
			p := backend.SSDParams{BH: bh, L: L, D: dk, DV: dv, Order: order, Norm: true, Scale: 0.4, Form: "auto"}
			form, err := d.SSD(Y, Q, K, V, A, p)
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := SSDForm(p); form != want {
				t.Errorf("SSD with form auto ran %s, SSDForm says %s", form, want)
			}
			want, mag := refSSD(q, k, v, a, bh, L, dk, dv, order, 0.4, true)
			compare(t, fmt.Sprintf("SSD auto (%s) order %d L=%d", form, order, L), download(t, Y), want, mag, 1e-4)
			for _, b := range []*Buffer{Q, K, V, A, Y} {
				b.Release()
			}
		}
	}
}

// TestSSDScanUnroll runs the fused shader on 38 chunks (two unrolled
// rounds of 16 and a tail of 6 in SCAN), orders 1 and 2 with the norm, against the float64 oracle; at order 1
// also the segmented SCAN with 2 segments (rounds of 16 or 32 chunks, the
// last partial), 8 and 16 (one round, most segments empty) and the sequential
// SCAN (0 segments).
func TestSSDScanUnroll(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewPCG(41, 42))
	const bh, L, dk, dv, chunk = 2, 300, 4, 4, 8
	q, k, v, a := randFloats(r, bh*L*dk), randFloats(r, bh*L*dk), randFloats(r, bh*L*dv), randFloats(r, bh*L)
	absAll(q, k)
	negSoftplus(a, 0.05) // slow decays: early chunks still count at the end
	Q, K, V, A := upload(t, d, q), upload(t, d, k), upload(t, d, v), upload(t, d, a)
	defer func() {
		for _, b := range []*Buffer{Q, K, V, A} {
			b.Release()
		}
	}()
	defer func() { ssdScanSegs = 8 }()
	for _, order := range []int{1, 2} {
		want, mag := refSSD(q, k, v, a, bh, L, dk, dv, order, 0.5, true)
		for _, segs := range []int{0, 2, 8, 16} {
			if order == 2 && segs > 0 {
				continue // segmented only at order 1
			}
			ssdScanSegs = segs
			Y := poisoned(t, d, bh*L*dv)
			if _, err := d.SSD(Y, Q, K, V, A, backend.SSDParams{BH: bh, L: L, D: dk, DV: dv, Order: order, Norm: true, Scale: 0.5, Form: "chunked", Chunk: chunk}); err != nil {
				t.Fatal(err)
			}
			compare(t, fmt.Sprintf("SSD order %d, 38 chunks, %d segments", order, segs), download(t, Y), want, mag, 1e-4)
			Y.Release()
		}
	}
}

// TestSSDOutWhole checks OUT's whole-operand variant (OWH, order 1, chunk =
// row tile; with the denominators summed apart (DENB) or as the ones column
// of the products (nodenb), ChunkCumsum apart (nocsf), and STATE without
// its order-1 prefetch (nospf): the paths other shapes and devices take)
// and the OUT it replaces (off) against the float64 oracle
// with and without the norm, with full chunks (FULL) and a partial last
// chunk, at small and the benchmark's head sizes (where 48 KiB shared
// memory gives 64-row tiles, else 32), and that it applies.
func TestSSDOutWhole(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewPCG(41, 42))
	defer func() {
		ssdOutWhole, ssdStatePref1, ssdOutDenB, ssdCumsumFused = true, true, true, true
	}()
	ran := 0
	for _, sz := range []struct{ dk, dv int }{{8, 8}, {64, 64}, {12, 20}} {
		cfg, ok := d.ssdFusedConfig(sz.dk, sz.dv, true)
		if !ok {
			t.Fatalf("no fused config for dk %d", sz.dk)
		}
		ssdOutWhole = true
		if !d.owhFits(cfg, ssdCall{SSDParams: backend.SSDParams{D: sz.dk, DV: sz.dv, Order: 1, Chunk: cfg.rt}}) {
			t.Logf("OWH does not fit at dk %d dv %d chunk %d (%d B shared)", sz.dk, sz.dv, cfg.rt, d.info.MaxSharedBytes)
			continue
		}
		ran++
		for _, L := range []int{3 * cfg.rt, 2*cfg.rt + 17} {
			const bh = 2
			q, k, v, a := randFloats(r, bh*L*sz.dk), randFloats(r, bh*L*sz.dk), randFloats(r, bh*L*sz.dv), randFloats(r, bh*L)
			negSoftplus(a, 1)
			Q, K, V, A := upload(t, d, q), upload(t, d, k), upload(t, d, v), upload(t, d, a)
			for _, norm := range []bool{false, true} {
				if norm {
					absAll(q, k) // positive scores keep the denominators away from 0
					Q.Release()
					K.Release()
					Q, K = upload(t, d, q), upload(t, d, k)
				}
				want, mag := refSSD(q, k, v, a, bh, L, sz.dk, sz.dv, 1, 0.3, norm)
				for _, variant := range []string{"owh", "off", "owh nospf", "owh nodenb", "owh nocsf", "owh nospf nocsf"} {
					ssdOutWhole = variant != "off"
					ssdStatePref1, ssdCumsumFused = !strings.Contains(variant, "nospf"), !strings.Contains(variant, "nocsf")
					ssdOutDenB = !strings.Contains(variant, "nodenb")
					chunk := cfg.rt
					Y := poisoned(t, d, bh*L*sz.dv)
					if _, err := d.SSD(Y, Q, K, V, A, backend.SSDParams{BH: bh, L: L, D: sz.dk, DV: sz.dv, Order: 1, Norm: norm, Scale: 0.3, Form: "chunked", Chunk: chunk}); err != nil {
						t.Fatal(err)
					}
					compare(t, fmt.Sprintf("SSD %s dk %d dv %d L %d chunk %d norm=%v", variant, sz.dk, sz.dv, L, chunk, norm), download(t, Y), want, mag, 1e-4)
					Y.Release()
				}
			}
			for _, b := range []*Buffer{Q, K, V, A} {
				b.Release()
			}
		}
	}
	if ran == 0 {
		t.Fatal("OWH fits at no size tested")
	}
}

// absAll replaces every value of the slices by its magnitude: non-negative
// features keep the norm's denominators away from 0.
func absAll(xs ...[]float32) {
	for _, x := range xs {
		for i := range x {
			x[i] = float32(math.Abs(float64(x[i])))
		}
	}
}

// negSoftplus maps each a_i to −s·softplus(a_i), per-step log-decays ≤ 0.
func negSoftplus(a []float32, s float64) {
	for i := range a {
		a[i] = float32(-s * math.Log1p(math.Exp(float64(a[i]))))
	}
}
