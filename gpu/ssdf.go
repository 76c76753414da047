package gpu

import (
	_ "embed"
	"fmt"
	"time"
)

//go:embed ssdf.comp
var ssdfSrc string

// ssdfConfig is the tiling of ssdf.comp: rows (or features) per work
// group rt, rows per thread rpt, value columns padded to dvp.
type ssdfConfig struct{ rt, rpt, dvp int }

// threads is the work-group size of the STATE and OUT stages.
func (c ssdfConfig) threads() int { return c.rt / c.rpt * c.dvp / 4 }

// sharedBytes is the OUT stage's shared memory, the larger of the two.
func (c ssdfConfig) sharedBytes(dk int) int {
	ks := c.rt / c.rpt
	return 4*(dk*c.rt+max(dk, c.rt)*c.rt+ks*c.rt+ks*c.dvp+c.rt) + 16*dk*ssdQPad
}

// ssdQPad is the padding of the q tile's rows in ssdf.comp's OUT stage, in
// vec4s (0 was slower on the H100, gpu/BENCH.md).
const ssdQPad = 1

// ssdFusedConfig picks the largest tiling of ssdf.comp that the device
// holds: 64-row tiles where 48 KiB of shared memory allow, else 32.
func (d *Device) ssdFusedConfig(dk, dv int, norm bool) (ssdfConfig, bool) {
	if dk > 64 {
		return ssdfConfig{}, false
	}
	dve := dv
	if norm {
		dve++
	}
	for _, rt := range []int{64, 32} {
		c := ssdfConfig{rt: rt, rpt: 4, // 8 measured slower on the H100 (gpu/BENCH.md)
			dvp: max(ceilDiv(dve, 4)*4, rt)}
		if c.threads() <= min(d.info.MaxInvocations, 1024) && c.sharedBytes(dk) <= d.info.MaxSharedBytes {
			return c, true
		}
	}
	return ssdfConfig{}, false
}

// ssdProfile, when not nil, makes ssdFused wait for each stage and add its
// seconds under the stage's name (benchmarks).
var ssdProfile map[string]float64

// ssdStateWide selects 128-feature, 8-per-thread groups for the STATE
// stage at order 2 (tests and benchmarks compare with it off).
var ssdStateWide = true

// ssdVecIO moves whole vec4s in ssdf.comp: q and k tiles where dk is a
// multiple of 4 (VLOAD), v where dv is (VV), the order-2 features (VPH),
// and writes y as vec4s where dv is a multiple of 4 (VSTORE); tests and
// benchmarks compare it off (the paths other shapes take).
var ssdVecIO = true

// ssdFull drops ssdf.comp's bounds checks along the sequence where L is a
// multiple of the chunk and the chunk of the row tile (FULL; benchmarks
// and tests compare it off).
var ssdFull = true

// ssdScanUnroll is how many chunks' loads each thread of SCAN has in
// flight (8 was slower on the H100, gpu/BENCH.md 2026-11-23b, and no
// faster with the sequential SCAN's vec4s, session 12; benchmarks set it).
var ssdScanUnroll = 16

// ssdScanSegs, when not 0, is the number of segments the chunks of
// ssdf.comp's SCAN are split into at order 1 (SCANS: work groups of
// ssdScanEntries entries × ssdScanSegs segments, SCANU chunks a segment in
// registers); 0 keeps the sequential SCAN (tests and benchmarks compare).
// On the H100 at 128K: 0.57–0.64 ms with 8, 0.60–0.66 with 16, 0.92
// with 32, 0.82–0.91 sequential (gpu/BENCH.md, 2026-11-23e, o1).
var ssdScanSegs = 8

// ssdScanEntries is the state entries a work group of the segmented SCAN
// (a multiple of 32: one warp's loads are 128 contiguous bytes).
const ssdScanEntries = 32

// ssdCumsumFused folds ChunkCumsum into ssdf.comp's STATE at order 1
// where the chunk is at most 256 positions (CSF: each STATE group sums its
// chunk's decays, the first feature tile writes cs); tests and benchmarks
// compare it off.
var ssdCumsumFused = true

// ssdStatePref1 loads the next key slice's k and w∘v into registers during
// this slice's products in ssdf.comp's STATE at order 1 where q, k, v move
// as vec4s (SPF; tests and benchmarks compare it off).
var ssdStatePref1 = true

// ssdOutWhole stages OUT's operands whole at order 1 where the chunk is
// one row tile (OWH in ssdf.comp: S_c, k, the weights and v each in one
// step, 5 barriers a group instead of 2 a 16-deep slice; k and v loaded
// into registers a stage ahead, the score warps 8×4 blocks that skip the
// masked keys, the decays staged in shared memory): on the H100 OUT at
// 128K 3.82 ms against 4.50 without it (gpu/BENCH.md, 2026-11-23d). Where
// it does not apply OUT stages its operands by slices; tests and
// benchmarks compare that path at shapes OWH takes.
var ssdOutWhole = true

// owhFits reports whether OUT's whole-operand variant (OWH) applies to the
// call s with tiling c: order 1, the chunk one row tile, q, k, v, y moved
// as vec4s, and its two shared arrays within the device's shared memory.
func (d *Device) owhFits(c ssdfConfig, s ssdCall) bool {
	dk := s.D
	if !ssdOutWhole || s.Order != 1 || s.Chunk != c.rt || dk%4 != 0 || s.DV%4 != 0 || !ssdVecIO {
		return false
	}
	rq, tc := c.rt/4, c.dvp/4
	sa := max(dk*(rq+ssdQPad), c.rt*tc)
	sw := max(dk*tc, dk*rq, c.rt*rq)
	return 16*(sa+sw)+8*c.rt <= d.info.MaxSharedBytes // + den and the staged cs
}

// ssdOutDenB, with OWH under the norm, leaves the ones column out of
// OUT's products (DENB in ssdf.comp): the products run over max(dv, rt)
// columns (64 at d = 64, not 68: 256 threads a group, not 272) and the
// denominators are summed apart from q·z_c (z_c the state's ones column)
// and the row sums of the weights P; tests and benchmarks compare it off.
// On the H100 at 128K: OUT 2.75–2.78 ms against 3.74 (gpu/BENCH.md,
// 2026-11-23f, o3).
var ssdOutDenB = true

// owhDenB returns the product width of OWH with DENB (value columns padded
// to a multiple of 4 and to at least the row tile) and whether DENB
// applies to the call s with tiling c: the norm on and the device's shared
// memory holding its arrays.
func (d *Device) owhDenB(c ssdfConfig, s ssdCall) (int, bool) {
	if !ssdOutDenB || !s.Norm {
		return 0, false
	}
	dk := s.D
	dvp := max(ceilDiv(s.DV, 4)*4, c.rt)
	rq, tc := c.rt/4, dvp/4
	sa := max(dk*(rq+ssdQPad), c.rt*tc)
	sw := max(dk*tc, dk*rq, c.rt*rq)
	return dvp, 16*(sa+sw+tc*rq)+4*(c.rt+dk) <= d.info.MaxSharedBytes
}

// ssdStateFloats is the size of one head's chunk states in ssdf.comp.
func ssdStateFloats(nch, f int, c ssdfConfig) int { return nch * f * c.dvp }

// ssdFused runs SSD as four dispatches with no host round trip between
// them (three at order 1, where STATE does ChunkCumsum's work: CSF):
// ChunkCumsum, then ssdf.comp's STATE (T_c = Φ(K_c)ᵀ(w∘V_c), a
// register-tiled product per (feature tile, head, chunk)), SCAN (the
// states entering each chunk, in place) and OUT (φ(Q)·S_c plus the masked
// within-chunk product, fused per (row tile, head, chunk), normalised in
// registers). FLOPs per position and head: 2·F·DVP for the state, the same
// for its use, and about 2·CH·(dk + DVP) within the chunk.
func (d *Device) ssdFused(cfg ssdfConfig, c ssdCall, y, q, k, v, a *Buffer) error {
	return d.ssdFusedRun(cfg, c, y, nil, q, k, v, a)
}

// ssdFusedState writes the state after the whole sequence of the call c,
// from the zero state, into s (BH, F, W), W = DV+1 with Norm, else DV:
// ChunkCumsum, STATE, then FINAL (ssdstate.comp) in place of SCAN and OUT,
//
//	S = Σ_c exp(Σ of a over the chunks after c)·T_c,  times Scale at order 1
//
// (ψ(Scale·k) = Scale·k there; at order 2 STATE's φ₂(Scale·k) has it).
func (d *Device) ssdFusedState(cfg ssdfConfig, c ssdCall, s, k, v, a *Buffer) error {
	return d.ssdFusedRun(cfg, c, nil, s, k, k, v, a)
}

// ssdFusedRun is ssdFused where y is not nil, and ssdFusedState where it
// is (then q is not read).
func (d *Device) ssdFusedRun(cfg ssdfConfig, c ssdCall, y, s, q, k, v, a *Buffer) error {
	const name = "ssdf.comp"
	bh, L, chunk, order, nch, nf := c.BH, c.L, c.Chunk, c.Order, c.nch, c.nf
	perHead := ssdStateFloats(nch, nf, cfg)
	maxFloats := d.ssdStateCap()
	if perHead > maxFloats {
		return &Error{Shader: name, Op: "dispatch", Err: fmt.Errorf("%d chunk states of %d×%d floats exceed one storage buffer (%d floats): use a longer chunk", nch, nf, cfg.dvp, maxFloats)}
	}
	hb := min(bh, maxFloats/perHead)
	xp := d.ssdxPlanFor(c, cfg.dvp, y != nil, maxFloats, &hb) // ssdx.go: OUTX, STATEX
	cs, freeCS, err := d.takeScratch("ssd.cs", bh*L)
	if err != nil {
		return err
	}
	defer freeCS()
	T, freeT, err := d.takeScratch("ssd.T", hb*perHead)
	if err != nil {
		return err
	}
	defer freeT()
	if xp != nil && xp.outOn {
		X, freeX, err := d.takeScratch("ssd.X", hb*L*cfg.dvp)
		if err != nil {
			return err
		}
		defer freeX()
		xp.x = X
	}
	prof := ssdProfile
	if prof != nil {
		d.Finish()
	}
	t0 := time.Now()
	lap := func(stage string) {
		if prof != nil {
			d.Finish()
			prof[stage] += time.Since(t0).Seconds()
			t0 = time.Now()
		}
	}
	csf := order == 1 && ssdCumsumFused && chunk <= 256
	if !csf {
		if err := d.ChunkCumsum(cs, a, bh, L, chunk); err != nil {
			return err
		}
		lap("cumsum")
	}
	// STATE has no row tile of q in shared memory and its features come in
	// thousands at order 2: there it takes 128 features a group, 8 a thread.
	st := cfg
	if nf >= 128 && ssdStateWide && (ssdfConfig{rt: 128, rpt: 8, dvp: cfg.dvp}).threads() <= min(d.info.MaxInvocations, 1024) {
		st.rt, st.rpt = 128, 8
	}
	bufs := []*Buffer{q, k, v, cs, T, y, a}
	stages := []string{"STATE", "SCAN", "OUT"}
	if y == nil {
		bufs[5] = T // bound, not read
		stages = []string{"STATE", "FINAL"}
	}
	rowTiles := ceilDiv(min(chunk, L), cfg.rt)
	for h0 := 0; h0 < bh; h0 += hb {
		n := min(hb, bh-h0)
		G := n * nch
		args := []arg{iarg("BH", n), iarg("H0", h0), iarg("L", L), iarg("nch", nch), iarg("G", G), farg("scale", c.Scale)}
		gy, gz := min(G, 65535), ceilDiv(G, 65535)
		for _, stage := range stages {
			if stage == "FINAL" {
				if err := d.ssdFinal(c, s, T, cs, n, h0, cfg.dvp); err != nil {
					return err
				}
				lap(stage)
				continue
			}
			t := cfg
			if stage == "STATE" {
				t = st
			}
			if xp != nil && (stage == "STATE" && xp.stateOn || stage == "OUT" && xp.outOn) {
				xs := stage + "X" // ssdx.comp's STATEX or OUTX
				if err := xp.run(d, xs, c, bufs, n, cfg.dvp, args); err != nil {
					return err
				}
				lap(xs)
				if stage == "STATE" {
					continue
				}
			}
			owh := stage == "OUT" && d.owhFits(cfg, c)
			dvpb, denb := 0, false
			if owh {
				dvpb, denb = d.owhDenB(cfg, c)
				if denb {
					t.dvp = dvpb
				}
			}
			defs := append(c.fusedDefs(t), stage)
			sb := bufs
			if stage == "OUT" && xp != nil && xp.outOn {
				defs, sb = append(defs, "XIN"), append(bufs[:7:7], xp.x)
			}
			if owh {
				defs = append(defs, "OWH")
				if denb {
					defs = append(defs, "DENB", fmt.Sprintf("TTC %d", cfg.dvp/4))
				}
			}
			scanSegs := order == 1 && stage == "SCAN" && ssdScanSegs > 0 && ssdScanSegs*ssdScanEntries <= min(d.info.MaxInvocations, 1024)
			if scanSegs {
				defs = append(defs, fmt.Sprintf("SCANS %d", ssdScanSegs), fmt.Sprintf("SCANE %d", ssdScanEntries), fmt.Sprintf("SCANNT %d", ssdScanSegs*ssdScanEntries))
			}
			if stage == "STATE" && csf {
				defs = append(defs, "CSF")
			}
			if stage == "STATE" && order == 1 && ssdStatePref1 && ssdVecIO && c.D%4 == 0 && c.DV%4 == 0 {
				defs = append(defs, "SPF")
			}
			p, err := d.program(name, ssdfSrc, defs...)
			if err != nil {
				return err
			}
			var groups [3]int
			switch stage {
			case "STATE":
				groups = [3]int{ceilDiv(nf, st.rt), gy, gz}
			case "SCAN":
				groups = rowGroups(ceilDiv(n*nf*cfg.dvp/4, 256)) // a thread a vec4 of entries
				if scanSegs {
					groups = [3]int{ceilDiv(nf*cfg.dvp, ssdScanEntries), n, 1}
				}
			case "OUT":
				groups = [3]int{rowTiles, gy, gz}
			}
			if err := d.run(p, groups, sb, args...); err != nil {
				return err
			}
			lap(stage)
		}
	}
	return nil
}

// fusedDefs is ssdf.comp's macro set for the call with tiling t (the stage
// and its variants are added per dispatch).
func (c ssdCall) fusedDefs(t ssdfConfig) []string {
	dk, dv, chunk := c.D, c.DV, c.Chunk
	defs := []string{fmt.Sprintf("CH %d", chunk), fmt.Sprintf("DK %d", dk), fmt.Sprintf("DV %d", dv),
		fmt.Sprintf("DVP %d", t.dvp), fmt.Sprintf("RT %d", t.rt), fmt.Sprintf("RPT %d", t.rpt), fmt.Sprintf("NTHREADS %d", t.threads()), fmt.Sprintf("QPAD %d", ssdQPad)}
	if c.Norm {
		defs = append(defs, "NORM")
	}
	if c.Order == 2 {
		defs = append(defs, "ORDER2")
	}
	if ssdVecIO && dv%4 == 0 {
		defs = append(defs, "VSTORE")
	}
	if ssdVecIO && dk%4 == 0 {
		defs = append(defs, "VLOAD")
	}
	if ssdVecIO && dv%4 == 0 {
		defs = append(defs, "VV")
	}
	if ssdVecIO {
		defs = append(defs, "VPH")
	}
	defs = append(defs, fmt.Sprintf("SCANU %d", ssdScanUnroll))
	if ssdFull && c.L%chunk == 0 && chunk%t.rt == 0 && chunk%(t.rt/t.rpt) == 0 {
		defs = append(defs, "FULL")
	}
	return defs
}
