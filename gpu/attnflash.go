//go:build dev

package gpu

import (
	_ "embed"
	"fmt"

	"github.com/furious-lab/furious/backend"
)

//go:embed attnflash.comp
var attnflashSrc string

// attnFlash, when true, makes AttentionDevice32 compute the quadratic
// form's forward, and AttentionBackwardDevice32 its dq, dk, dv and decay
// gradient halves, with attnflash.comp's register-tiled kernels where they
// apply (d = d_v ∈ {32, 64}, the tile fitting shared memory), else with
// attndev.comp's FWD, DQ and DKV as always (PREP, DELTA, DASUM and DASCAN
// are attndev.comp's either way). A prototype, built only with the dev
// build tag (attnflash_off.go stands in without it): false by default, set
// by TestAttentionFlash, TestAttentionFlashLong and BenchmarkAttentionFlash
// only.
var attnFlash bool

// attnFlashKT, when positive, forces attnflash.comp's small tile (16 or
// 32 rows: the forward's key tile, the backward's key or query tile); 0
// takes 32 where it fits shared memory, else 16.
var attnFlashKT int

// attnFlashQT is attnflash.comp's query tile, which is also the block of
// attndev.comp's PREP whose within-block decay sums it reads.
const attnFlashQT = 64

// attnFlashShared is attnflash.comp's shared memory in bytes at head width
// dim and key tile kt: Qs (dim×64), Ks and Vs (kt×dim each), Ps (kt×64),
// kd (kt) and two per-row arrays (64 each).
func attnFlashShared(dim, kt int) int {
	return 4 * (dim*attnFlashQT + 2*kt*dim + kt*attnFlashQT + kt + 2*attnFlashQT)
}

// attnFlashTile is the key tile attnflash.comp takes for p on d (16 or
// 32 keys: attnFlashKT, else 32 where it fits shared memory, else 16), or
// an error wrapping backend.ErrNotImplemented where the tiled forward does
// not apply: d ≠ d_v, d ∉ {32, 64}, or the tile over shared memory.
func (d *Device) attnFlashTile(p backend.SSDParams) (int, error) {
	ni := backend.ErrNotImplemented
	if p.D != p.DV || (p.D != 32 && p.D != 64) {
		return 0, fmt.Errorf("gpu.AttentionDevice32: the tiled forward takes d = d_v ∈ {32, 64}, not d=%d, d_v=%d: %w", p.D, p.DV, ni)
	}
	kt := attnFlashKT
	if kt == 0 {
		kt = 32
		if attnFlashShared(p.D, kt) > d.info.MaxSharedBytes {
			kt = 16
		}
	}
	if kt != 16 && kt != 32 {
		return 0, fmt.Errorf("gpu.AttentionDevice32: key tile %d, want 16 or 32", kt)
	}
	if n := attnFlashShared(p.D, kt); n > d.info.MaxSharedBytes {
		return 0, fmt.Errorf("gpu.AttentionDevice32: the tiled forward needs %d bytes of shared memory at d=%d, key tile %d; the device has %d: %w", n, p.D, kt, d.info.MaxSharedBytes, ni)
	}
	return kt, nil
}

// flashForward writes j.y (BH, L, DV) and j.stat (BH, L) as attndev.comp's
// FWD does, with attnflash.comp: with a decay, attndev.comp's PREP in
// blocks of 64 first (rows[4r] = within-block cumulative sum of a), then
// one work group of 128 threads per (head, query tile of 64 rows), each
// computing its tile's S = scale·Q·Kᵀ and O = P·V over key tiles of 32 (or
// 16) keys held in shared memory, per thread 4 queries × KT/8 keys of S
// and d/8 queries × 4 columns of O. Cost as the quadratic form: per head
// L²/2 pairs at 4d FLOPs (the diagonal tiles' masked half computed too). Where attnFlashTile refuses
// p, its error wraps backend.ErrNotImplemented and nothing has run (the
// caller falls back).
func (j *attnDev) flashForward() error {
	return j.flash("FWD", j.q, j.k, j.v, j.y, j.stat)
}

// flashDV writes j.dv (BH, L, DV), dv_j = Σ_{i≥j} W_ij·dO_i, as
// attndev.comp's DKV with ONLY_DV does, with attnflash.comp's DVB (the
// forward's tiling with queries and keys exchanged: a work group per
// (head, key tile of 64), query tiles of 16 or 32 staged from the
// diagonal forwards), reading j.stat as the forward wrote it; with a decay
// attndev.comp's PREP in blocks of 64 first. Where attnFlashTile refuses
// p, its error wraps backend.ErrNotImplemented and nothing has run.
func (j *attnDev) flashDV() error {
	return j.flash("DVB", j.q, j.k, j.dO, j.dv, j.stat)
}

// flashDQ writes j.dq (BH, L, D) and, with a decay, the query side of the
// decay gradient into da (BH, L; 0 with the norm), as attndev.comp's DQ,
// with attnflash.comp's DQB (a work group per (head, query tile of 64),
// key tiles from the diagonal backwards); brows is attndev.comp DELTA's
// output (stat, Δ per row). Where attnFlashTile refuses p, its error
// wraps backend.ErrNotImplemented and nothing has run.
func (j *attnDev) flashDQ(brows, da *Buffer) error {
	return j.flash("DQB", j.q, j.k, j.v, j.dq, brows, j.dO, da)
}

// flashDK writes j.dk (BH, L, D) and, with a decay, subtracts the key side
// of the decay gradient from da (after flashDQ or DQ), as attndev.comp's
// DKV with ONLY_DK, with attnflash.comp's DKB (a work group per (head, key
// tile of 64), query tiles from the diagonal forwards).
func (j *attnDev) flashDK(brows, da *Buffer) error {
	return j.flash("DKB", j.q, j.k, j.v, j.dk, brows, j.dO, da)
}

// flash runs attnflash.comp's stage (FWD, DVB, DQB or DKB) over one work
// group per (head, tile of 64 rows) with b0, b1, b2, b4 and then more
// bound at 0, 1, 2, 4, 5, … (a nil one bound to q, unread) and the decay
// sums at 3: j.flashCB, attndev.comp's PREP in blocks of 64 (run here,
// with a decay, by the call's first tiled stage unless the backward's own
// blocks are 64).
// attnFlashShared bounds the shared memory of every stage.
func (j *attnDev) flash(stage string, b0, b1, b2, b4 *Buffer, more ...*Buffer) error {
	p := j.p
	kt, err := j.d.attnFlashTile(p)
	if err != nil {
		return err
	}
	defs := []string{stage, fmt.Sprintf("D %d", p.D), fmt.Sprintf("KT %d", kt)}
	if p.Exp {
		defs = append(defs, "EXP")
	} else {
		defs = append(defs, fmt.Sprintf("ORDER %d", p.Order))
	}
	if p.Norm {
		defs = append(defs, "NORM")
	}
	rows := j.q // unread without a decay
	if j.a != nil && j.flashCB != nil {
		rows = j.flashCB
		defs = append(defs, "MASKED")
	} else if j.a != nil {
		if rows, err = j.scratch("flashrows", 4*p.BH*p.L); err != nil {
			return err
		}
		prep, err := j.d.program("attndev.comp", attndevSrc, "PREP", fmt.Sprintf("B %d", attnFlashQT), fmt.Sprintf("DK %d", p.D), fmt.Sprintf("DV %d", p.DV), "ORDER 1")
		if err != nil {
			return err
		}
		nb := ceilDiv(p.L, attnFlashQT)
		if err := j.d.run(prep, rowGroups(ceilDiv(p.BH*nb, 64)), []*Buffer{j.a, rows}, iarg("BH", p.BH), iarg("L", p.L)); err != nil {
			return err
		}
		defs = append(defs, "MASKED")
		j.flashCB = rows
	}
	prog, err := j.d.program("attnflash.comp", attnflashSrc, defs...)
	if err != nil {
		return err
	}
	bufs := append([]*Buffer{b0, b1, b2, rows, b4}, more...)
	for i, b := range bufs {
		if b == nil {
			bufs[i] = j.q
		}
	}
	return j.d.run(prog, rowGroups(p.BH*ceilDiv(p.L, attnFlashQT)), bufs,
		iarg("BH", p.BH), iarg("L", p.L), farg("scale", p.Scale))
}
