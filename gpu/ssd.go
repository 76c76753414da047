package gpu

import (
	_ "embed"
	"fmt"
)

//go:embed ssd.comp
var ssdSrc string

// SSD1 computes the chunked state-space dual of order 1 (linear attention
// under a decay mask), per head:
//
//	y_i = Σ_{j≤i} s_ij·AM_ij·v_j,  s_ij = scale·q_i·k_j,  AM_ij = exp(Σ_{u=j+1}^{i} a_u)
//
// and with norm (softmax norm) y_i divided by Σ_{j≤i} s_ij·AM_ij (0 where
// that is 0). q, k (bh, L, dk), v, y (bh, L, dv), a (bh, L) log-decays.
// Chunks of chunk positions (≤ 1024; 64 is a good start): within a chunk the
// quadratic form, across chunks the states S_c (dk × dv, plus a ones column
// under norm) passed by S_{c+1} = exp(Σ_{u∈c} a_u)·S_c + T_c. The decays are
// within-chunk cumulative sums, never one long float32 cumulative sum.
// Scores s_ij may be negative; the softmax norm assumes they are not (use
// non-negative features such as ReLU(q), ReLU(k)).
func (d *Device) SSD1(y, q, k, v, a *Buffer, bh, L, dk, dv, chunk int, scale float32, norm bool) error {
	const name = "ssd.comp"
	if bh < 0 || L < 0 || dk < 1 || dv < 1 || dk > 256 || dv > 256 || chunk < 1 || chunk > 1024 ||
		q.Len() < bh*L*dk || k.Len() < bh*L*dk || v.Len() < bh*L*dv || y.Len() < bh*L*dv || a.Len() < bh*L {
		argPanic(name, "dispatch", "bh=%d L=%d dk=%d dv=%d (≤ 256) chunk=%d (≤ 1024): q %d, k %d, v %d, y %d, a %d floats",
			bh, L, dk, dv, chunk, q.Len(), k.Len(), v.Len(), y.Len(), a.Len())
	}
	if bh == 0 || L == 0 {
		return nil
	}
	nch := ceilDiv(L, chunk)
	dve := dv
	if norm {
		dve++
	}
	cs, err := d.NewBuffer(bh * L)
	if err != nil {
		return err
	}
	defer cs.Release()
	T, err := d.NewBuffer(bh * nch * dk * dve)
	if err != nil {
		return err
	}
	defer T.Release()
	S, err := d.NewBuffer(bh * nch * dk * dve)
	if err != nil {
		return err
	}
	defer S.Release()
	if err := d.ChunkCumsum(cs, a, bh, L, chunk); err != nil {
		return err
	}
	defs := []string{fmt.Sprintf("CH %d", chunk), fmt.Sprintf("DK %d", dk), fmt.Sprintf("DV %d", dv)}
	if norm {
		defs = append(defs, "NORM")
	}
	bufs := []*Buffer{q, k, v, cs, T, S, y}
	args := []arg{iarg("BH", bh), iarg("L", L), iarg("nch", nch), farg("scale", scale)}
	for _, stage := range []string{"STATES", "PASS", "OUTPUT"} {
		p, err := d.program(name, ssdSrc, append(defs, stage)...)
		if err != nil {
			return err
		}
		groups := rowGroups(bh * nch)
		if stage == "PASS" {
			groups = [3]int{min(ceilDiv(bh*dk*dve, 256), 65535), 1, 1}
		}
		if err := d.run(p, groups, bufs, args...); err != nil {
			return err
		}
	}
	return nil
}
