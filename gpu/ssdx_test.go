package gpu

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/furious-lab/furious/backend"
)

// TestSSDX checks ssdx.comp's order-2 stages (OUTX before ssdf.comp's OUT
// with XIN; STATEX in place of STATE) against the float64 oracle, alone
// and together, in several tilings: L = 1, a partial last chunk, chunks
// and lengths that are not multiples of the row tiles or key steps, full
// chunks (FULL), several row tiles a chunk, and the benchmark's head size
// (F = 2080); with and without the norm. It checks that the stages ran.
func TestSSDX(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewPCG(51, 52))
	defer func(o, s ssdxConfig) { ssdOutXCfg, ssdStateXCfg, ssdxDenB = o, s, true }(ssdOutXCfg, ssdStateXCfg)
	variants := []struct {
		name     string
		out, sta ssdxConfig
	}{
		{"default", ssdOutXCfg, ssdStateXCfg},
		{"outx 32/8x8/ks8", ssdxConfig{32, 8, 2, 8}, ssdxConfig{}},
		{"outx 64/4x4/ks4", ssdxConfig{64, 4, 1, 4}, ssdxConfig{}},
		{"statex 32/8x8/ks8", ssdxConfig{}, ssdxConfig{32, 8, 2, 8}},
		{"statex 64/4x4/ks16", ssdxConfig{}, ssdxConfig{64, 4, 1, 16}},
		{"both 128/8x8/ks8", ssdxConfig{128, 8, 2, 8}, ssdxConfig{128, 8, 2, 8}},
		{"both 128/8x4/ks8", ssdxConfig{128, 8, 1, 8}, ssdxConfig{128, 8, 1, 8}},
		{"both 64/4x8/ks16", ssdxConfig{64, 4, 2, 16}, ssdxConfig{64, 4, 2, 16}},
		{"both 16/16x4/ks3", ssdxConfig{16, 16, 1, 3}, ssdxConfig{16, 16, 1, 3}},
	}
	for _, s := range [][5]int{{1, 1, 4, 3, 16}, {2, 150, 12, 7, 40}, {2, 256, 8, 8, 64}, {1, 300, 64, 64, 128}} {
		bh, L, dk, dv, chunk := s[0], s[1], s[2], s[3], s[4]
		q, k, v, a := randFloats(r, bh*L*dk), randFloats(r, bh*L*dk), randFloats(r, bh*L*dv), randFloats(r, bh*L)
		negSoftplus(a, 0.3)
		if dk == 64 {
			for i := range q { // d = 64: the 2080 features' sums stay near 1
				q[i] *= 0.3
				k[i] *= 0.3
			}
		}
		for _, norm := range []bool{false, true} {
			if norm {
				absAll(q, k)
			}
			scale := 0.7
			want, mag := refSSD(q, k, v, a, bh, L, dk, dv, 2, scale, norm)
			Q, K, V, A := upload(t, d, q), upload(t, d, k), upload(t, d, v), upload(t, d, a)
			for _, vr := range variants {
				if dk == 64 && vr.name != "default" && !strings.HasPrefix(vr.name, "outx 32") {
					continue // the large shape in two tilings only (llvmpipe time)
				}
				ssdOutXCfg, ssdStateXCfg = vr.out, vr.sta
				for _, denb := range []bool{true, false} {
					if !denb && (!norm || dv%4 != 0) {
						continue // DENB applies only under the norm with dv a multiple of 4
					}
					ssdxDenB = denb
					Y := poisoned(t, d, bh*L*dv)
					if _, err := d.SSD(Y, Q, K, V, A, backend.SSDParams{BH: bh, L: L, D: dk, DV: dv, Order: 2, Norm: norm, Scale: float32(scale), Form: "chunked", Chunk: chunk}); err != nil {
						t.Fatal(err)
					}
					compare(t, fmt.Sprintf("SSD order 2 %s denb=%v bh=%d L=%d dk=%d dv=%d chunk=%d norm=%v", vr.name, denb, bh, L, dk, dv, chunk, norm), download(t, Y), want, mag, 1e-4)
					Y.Release()
				}
			}
			for _, b := range []*Buffer{Q, K, V, A} {
				b.Release()
			}
		}
	}
	if _, ok := d.ssdFusedConfig(8, 8, true); !ok {
		return
	}
	ran := map[string]bool{}
	d.mu.Lock()
	for key := range d.programs {
		for _, st := range []string{"OUTX", "STATEX"} {
			if strings.HasPrefix(key, "ssdx.comp["+st+";") {
				ran[st] = true
				ran[st+" FULL"] = ran[st+" FULL"] || strings.Contains(key, ";FULL")
				ran[st+" DENB"] = ran[st+" DENB"] || strings.Contains(key, ";DENB")
			}
		}
		if strings.HasPrefix(key, "ssdf.comp[") && strings.Contains(key, ";XIN") {
			ran["XIN"] = true
		}
	}
	d.mu.Unlock()
	for _, st := range []string{"OUTX", "STATEX", "OUTX FULL", "STATEX FULL", "OUTX DENB", "STATEX DENB", "XIN"} {
		if !ran[st] {
			t.Errorf("no shape ran %s", st)
		}
	}
}
