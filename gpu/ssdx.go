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

// ssdxPlanFor decides the ssdx.comp stages of the call c at order 2 (nil
// at order 1), with value columns padded to dvp: STATEX, and OUTX where the
// call has an output (out) and one head's X (L·dvp floats) fits a storage
// buffer of maxFloats; it caps the heads a batch (*hb) so that the batch's
// X does.
func (d *Device) ssdxPlanFor(c ssdCall, dvp int, out bool, maxFloats int, hb *int) *ssdxPlan {
	if c.Order != 2 {
		return nil
	}
	p := &ssdxPlan{denb: ssdxDenB && c.Norm && c.DV%4 == 0, c4: dvp / 4}
	if p.denb {
		p.c4 = c.DV / 4
	}
	p.out, p.outOn = d.ssdxFit(ssdOutXCfg, "OUTX", c.D, p.c4)
	p.outOn = p.outOn && out
	p.state, p.stateOn = d.ssdxFit(ssdStateXCfg, "STATEX", c.D, p.c4)
	if p.outOn {
		if n := maxFloats / (c.L * dvp); n >= 1 {
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

// defs returns ssdx.comp's macro set for stage with tiling x in the call c
// (value columns padded to dvp).
func (p *ssdxPlan) defs(stage string, x ssdxConfig, c ssdCall, dvp int) []string {
	L, chunk := c.L, c.Chunk
	defs := []string{stage, fmt.Sprintf("CH %d", chunk), fmt.Sprintf("DK %d", c.D), fmt.Sprintf("DV %d", c.DV),
		fmt.Sprintf("DVP %d", dvp), fmt.Sprintf("RX %d", x.rx), fmt.Sprintf("TM %d", x.tm), fmt.Sprintf("TNV %d", x.tnv),
		fmt.Sprintf("KS %d", x.ks), fmt.Sprintf("NTHREADS %d", x.threads(p.c4))}
	if c.Norm {
		defs = append(defs, "NORM")
	}
	if p.denb {
		defs = append(defs, "DENB")
	}
	if c.D%4 == 0 {
		defs = append(defs, "VLOAD")
	}
	if c.DV%4 == 0 {
		defs = append(defs, "VV")
	}
	// FULL: every row (OUTX) or key (STATEX) a group touches is inside the
	// sequence and its chunk
	if stage == "OUTX" && L%chunk == 0 && chunk%x.rx == 0 || stage == "STATEX" && L%chunk == 0 && chunk%x.ks == 0 {
		defs = append(defs, "FULL")
	}
	return defs
}

// run dispatches stage ("OUTX" or "STATEX") of ssdx.comp for the call c
// over the n heads of a batch (G = n·nch groups); bufs are ssdf.comp's q,
// k, v, cs, T.
func (p *ssdxPlan) run(d *Device, stage string, c ssdCall, bufs []*Buffer, n, dvp int, args []arg) error {
	x, tiles := p.out, 0
	b := append([]*Buffer{}, bufs[:5]...)
	if stage == "OUTX" {
		b = append(b, p.x)
		tiles = ceilDiv(min(c.Chunk, c.L), x.rx)
	} else {
		x = p.state
		tiles = ceilDiv(c.nf, x.rx)
	}
	groups := [3]int{tiles, min(n*c.nch, 65535), ceilDiv(n*c.nch, 65535)}
	prog, err := d.program("ssdx.comp", ssdxSrc, p.defs(stage, x, c, dvp)...)
	if err != nil {
		return err
	}
	return d.run(prog, groups, b, args...)
}
