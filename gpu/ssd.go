package gpu

import (
	_ "embed"
	"fmt"
)

//go:embed ssd.comp
var ssdSrc string

// ssdMaxStateFloats, when positive, caps the chunk-state buffers below the
// device's limit (tests use it to exercise the loop over head batches).
var ssdMaxStateFloats int

// SSD computes the chunked state-space dual of order 1 (linear attention
// under a decay mask) or 2 (2Mamba), per head:
//
//	y_i = Σ_{j≤i} f(s_ij)·AM_ij·v_j,  s_ij = scale·q_i·k_j,  AM_ij = exp(Σ_{u=j+1}^{i} a_u)
//	f(s) = s (order 1), s² (order 2)
//
// and with norm (softmax norm) y_i divided by Σ_{j≤i} f(s_ij)·AM_ij (0 where
// that is 0). q, k (bh, L, dk), v, y (bh, L, dv), a (bh, L) log-decays.
// Chunks of chunk positions (≤ 1024; 64 is a good start): within a chunk the
// quadratic form, across chunks the states S_c (F × dv, plus a ones column
// under norm; F = dk, or dk(dk+1)/2 features φ(q), φ(scale·k) of order 2)
// passed by S_{c+1} = exp(Σ_{u∈c} a_u)·S_c + T_c. The decays are
// within-chunk cumulative sums, never one long float32 cumulative sum.
// Order-1 scores may be negative; the softmax norm assumes they are not
// (use non-negative features such as ReLU(q), ReLU(k)).
//
// Where the shapes allow (dk ≤ 64, and the tiles fit the device's shared
// memory) the fused shader ssdf.comp runs (see ssdFused), else the four
// stages of ssd.comp.
func (d *Device) SSD(y, q, k, v, a *Buffer, bh, L, dk, dv, chunk, order int, scale float32, norm bool) error {
	ssdCheck(y, q, k, v, a, bh, L, dk, dv, chunk, order)
	if bh == 0 || L == 0 {
		return nil
	}
	if cfg, ok := d.ssdFusedConfig(dk, dv, norm); ok && !ssdNoFused {
		return d.ssdFused(cfg, y, q, k, v, a, bh, L, dk, dv, chunk, order, scale, norm)
	}
	return d.ssdStaged(y, q, k, v, a, bh, L, dk, dv, chunk, order, scale, norm)
}

// ssdNoFused, when set, makes SSD use the four-stage shader (tests).
var ssdNoFused bool

// ssdCheck panics on arguments that no SSD form accepts.
func ssdCheck(y, q, k, v, a *Buffer, bh, L, dk, dv, chunk, order int) {
	const name = "ssd.comp"
	if order != 1 && order != 2 {
		argPanic(name, "dispatch", "order %d, want 1 or 2", order)
	}
	if bh < 0 || L < 0 || dk < 1 || dv < 1 || dk > 256 || dv > 256 || chunk < 1 || chunk > 1024 ||
		q.Len() < bh*L*dk || k.Len() < bh*L*dk || v.Len() < bh*L*dv || y.Len() < bh*L*dv || a.Len() < bh*L {
		argPanic(name, "dispatch", "bh=%d L=%d dk=%d dv=%d (≤ 256) chunk=%d (≤ 1024): q %d, k %d, v %d, y %d, a %d floats",
			bh, L, dk, dv, chunk, q.Len(), k.Len(), v.Len(), y.Len(), a.Len())
	}
}

// ssdStaged is SSD in the four stages of ssd.comp, one output per thread.
func (d *Device) ssdStaged(y, q, k, v, a *Buffer, bh, L, dk, dv, chunk, order int, scale float32, norm bool) error {
	const name = "ssd.comp"
	nch := ceilDiv(L, chunk)
	dve, nf := dv, dk
	if norm {
		dve++
	}
	if order == 2 {
		nf = FeatureMapDim(dk)
	}
	// T and S hold one state per chunk for hb heads at a time: as many as
	// one storage buffer may hold (GL_MAX_SHADER_STORAGE_BLOCK_SIZE).
	perHead := nch * nf * dve
	maxFloats := d.info.MaxSSBOBytes / 4
	if ssdMaxStateFloats > 0 {
		maxFloats = ssdMaxStateFloats
	}
	if maxFloats <= 0 || maxFloats > 1<<29 {
		maxFloats = 1 << 29 // 2 GiB: 32-bit indices stay in range
	}
	if perHead > maxFloats {
		return &Error{Shader: name, Op: "dispatch", Err: fmt.Errorf("%d chunk states of %d×%d floats exceed one storage buffer (%d floats): use a longer chunk", nch, nf, dve, maxFloats)}
	}
	hb := min(bh, maxFloats/perHead)
	cs, err := d.NewBuffer(bh * L)
	if err != nil {
		return err
	}
	defer cs.Release()
	T, err := d.NewBuffer(hb * perHead)
	if err != nil {
		return err
	}
	defer T.Release()
	S, err := d.NewBuffer(hb * perHead)
	if err != nil {
		return err
	}
	defer S.Release()
	Z, err := d.NewBuffer(bh * L * dve)
	if err != nil {
		return err
	}
	defer Z.Release()
	if err := d.ChunkCumsum(cs, a, bh, L, chunk); err != nil {
		return err
	}
	defs := []string{fmt.Sprintf("CH %d", chunk), fmt.Sprintf("DK %d", dk), fmt.Sprintf("DV %d", dv),
		fmt.Sprintf("ELS %d", ceilDiv(dve, 32)*32)}
	if norm {
		defs = append(defs, "NORM")
	}
	if order == 2 {
		defs = append(defs, "ORDER2")
	}
	if hb*nch > 65535 {
		argPanic(name, "dispatch", "%d chunks per head exceed 65535: use a longer chunk", nch)
	}
	bufs := []*Buffer{q, k, v, cs, T, S, y, Z}
	for h0 := 0; h0 < bh; h0 += hb {
		n := min(hb, bh-h0)
		args := []arg{iarg("BH", n), iarg("H0", h0), iarg("L", L), iarg("nch", nch), farg("scale", scale)}
		for _, stage := range []string{"STATES", "PASS", "INTER", "OUTPUT"} {
			p, err := d.program(name, ssdSrc, append(defs, stage)...)
			if err != nil {
				return err
			}
			var groups [3]int
			switch stage {
			case "STATES":
				groups = [3]int{ceilDiv(nf*dve, 256), n * nch, 1}
			case "PASS":
				groups = rowGroups(ceilDiv(n*perHead, 256))
			case "INTER":
				groups = rowGroups(n * L)
			case "OUTPUT":
				groups = rowGroups(n * nch)
			}
			if err := d.run(p, groups, bufs, args...); err != nil {
				return err
			}
		}
	}
	return nil
}
