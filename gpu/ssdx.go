package gpu

import (
	_ "embed"
	"fmt"
)

//go:embed ssdx.comp
var ssdxSrc string

// ssdxConfig is the tiling of one ssdx.comp stage: rx rows (OUTX) or
// features (STATEX) a work group, tm rows × 4·tnv columns a thread, ks
// features (OUTX) or keys (STATEX) a step.
type ssdxConfig struct{ rx, tm, tnv, ks int }

// threads is the work-group size for products over c4 vec4s of columns.
func (c ssdxConfig) threads(c4 int) int { return c.rx / c.tm * ceilDiv(c4, c.tnv) }

// sharedBytes is the stage's shared memory for dk key features and
// products over c4 vec4s of columns.
func (c ssdxConfig) sharedBytes(stage string, dk, c4 int) int {
	sw := ceilDiv(c4, c.tnv) * c.tnv
	b := 16 * (2*c.ks*c.rx/4 + 2*c.ks*sw)
	if stage == "OUTX" {
		return b + 16*dk*c.rx/4
	}
	return b + 4*3*c.ks*dk
}

// ssdOutXCfg and ssdStateXCfg are the preferred tilings of OUTX and STATEX
// (smaller row tiles are taken where the device holds less); rx = 0 turns
// the stage off: ssdf.comp's order-2 paths run instead (benchmarks and
// tests compare both). On the H100 (gpu/BENCH.md, 2026-11-23e, order 2 at
// 32K, with DENB): OUTX 64 rows, 4 × 4 a thread, 8-feature steps 5.97 ms
// (128 rows 6.25, 8 × 4 6.54 without DENB, 8 × 8 9.8); STATEX 128
// features, 4 × 4, 8-key steps 6.75 ms (8.65 for ssdf.comp's STATE).
var (
	ssdOutXCfg   = ssdxConfig{rx: 64, tm: 4, tnv: 1, ks: 8}
	ssdStateXCfg = ssdxConfig{rx: 128, tm: 4, tnv: 1, ks: 8}
)

// ssdxDenB sums the denominator column apart from the products (DENB in
// ssdx.comp) where the norm is on and dv is a multiple of 4 (benchmarks
// and tests compare it off).
var ssdxDenB = true

// ssdxFit returns the largest tiling like c (rx halved down to tm·4) that
// the device holds for stage with products over c4 vec4s of columns, and
// whether one does.
func (d *Device) ssdxFit(c ssdxConfig, stage string, dk, c4 int) (ssdxConfig, bool) {
	if c.rx <= 0 || c.tm%4 != 0 || c.tnv < 1 || c.ks < 1 {
		return c, false
	}
	for ; c.rx >= c.tm && c.rx%c.tm == 0; c.rx /= 2 {
		if c.threads(c4) <= min(d.info.MaxInvocations, 1024) && c.sharedBytes(stage, dk, c4) <= d.info.MaxSharedBytes {
			return c, true
		}
	}
	return c, false
}

// ssdxPlan is what ssdx.comp does in one call of ssdFused: OUTX computes
// the inter-chunk term into X (ssdf.comp's OUT then runs with XIN), STATEX
// replaces ssdf.comp's STATE.
type ssdxPlan struct {
	out, state     ssdxConfig
	outOn, stateOn bool
	denb           bool // DENB: the products run over dv/4 vec4s of columns, not dvp/4
	c4             int  // vec4s of columns in the products
	x              *Buffer
}

// ssdxPlanFor decides the ssdx.comp stages of an order-2 call: STATEX, and
// OUTX where the call has an output (out) and one head's X (L·dvp floats)
// fits a storage buffer of maxFloats; it caps the heads a batch (*hb) so
// that the batch's X does.
func (d *Device) ssdxPlanFor(order, dk, dv, dvp, L int, norm, out bool, maxFloats int, hb *int) *ssdxPlan {
	if order != 2 {
		return nil
	}
	p := &ssdxPlan{denb: ssdxDenB && norm && dv%4 == 0, c4: dvp / 4}
	if p.denb {
		p.c4 = dv / 4
	}
	p.out, p.outOn = d.ssdxFit(ssdOutXCfg, "OUTX", dk, p.c4)
	p.outOn = p.outOn && out
	p.state, p.stateOn = d.ssdxFit(ssdStateXCfg, "STATEX", dk, p.c4)
	if p.outOn {
		if n := maxFloats / (L * dvp); n >= 1 {
			*hb = min(*hb, n)
		} else {
			p.outOn = false
		}
	}
	if !p.outOn && !p.stateOn {
		return nil
	}
	return p
}

// defs returns ssdx.comp's defines for stage with tiling c.
func (p *ssdxPlan) defs(stage string, c ssdxConfig, L, dk, dv, dvp, chunk int, norm bool) []string {
	defs := []string{stage, fmt.Sprintf("CH %d", chunk), fmt.Sprintf("DK %d", dk), fmt.Sprintf("DV %d", dv),
		fmt.Sprintf("DVP %d", dvp), fmt.Sprintf("RX %d", c.rx), fmt.Sprintf("TM %d", c.tm), fmt.Sprintf("TNV %d", c.tnv),
		fmt.Sprintf("KS %d", c.ks), fmt.Sprintf("NTHREADS %d", c.threads(p.c4))}
	if norm {
		defs = append(defs, "NORM")
	}
	if p.denb {
		defs = append(defs, "DENB")
	}
	if dk%4 == 0 {
		defs = append(defs, "VLOAD")
	}
	if dv%4 == 0 {
		defs = append(defs, "VV")
	}
	// FULL: every row (OUTX) or key (STATEX) a group touches is inside the
	// sequence and its chunk
	if stage == "OUTX" && L%chunk == 0 && chunk%c.rx == 0 || stage == "STATEX" && L%chunk == 0 && chunk%c.ks == 0 {
		defs = append(defs, "FULL")
	}
	return defs
}

// run dispatches stage ("OUTX" or "STATEX") of ssdx.comp over the n heads
// of a batch (G = n·nch groups); bufs are ssdf.comp's q, k, v, cs, T.
func (p *ssdxPlan) run(d *Device, stage string, bufs []*Buffer, n, L, nch, dk, dv, dvp, chunk int, norm bool, args []arg) error {
	c, tiles := p.out, 0
	b := append([]*Buffer{}, bufs[:5]...)
	if stage == "OUTX" {
		b = append(b, p.x)
		tiles = ceilDiv(min(chunk, L), c.rx)
	} else {
		c = p.state
		tiles = ceilDiv(FeatureMapDim(dk), c.rx)
	}
	groups := [3]int{tiles, min(n*nch, 65535), ceilDiv(n*nch, 65535)}
	prog, err := d.program("ssdx.comp", ssdxSrc, p.defs(stage, c, L, dk, dv, dvp, chunk, norm)...)
	if err != nil {
		return err
	}
	return d.run(prog, groups, b, args...)
}
