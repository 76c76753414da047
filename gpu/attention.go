package gpu

import (
	_ "embed"
	"fmt"
)

//go:embed attention.comp
var attentionSrc string

// Attention computes causal softmax attention with an optional log-decay
// bias, per head h:
//
//	y_i = Σ_{j≤i} exp(s_ij + b_ij) v_j / Σ_{j≤i} exp(s_ij + b_ij)
//	s_ij = scale·q_i·k_j,  b_ij = Σ_{u=j+1}^{i} a_u  (b = 0 when a is nil)
//
// q, k (bh, L, dk), v, y (bh, L, dv), a (bh, L) log-decays (≤ 0), with
// dk, dv ≤ 256. The bias is summed within blocks of 32 or 64 positions and
// across whole blocks, never as a difference of one long cumulative sum.
func (d *Device) Attention(y, q, k, v, a *Buffer, bh, L, dk, dv int, scale float32) error {
	return d.attention(y, q, k, v, a, bh, L, dk, dv, 0, scale, true)
}

// Quadratic computes SSD of order 1 or 2 in its quadratic (attention) form,
// the same function as SSD:
//
//	y_i = Σ_{j≤i} f(s_ij)·AM_ij·v_j,  s_ij = scale·q_i·k_j,  AM_ij = exp(Σ_{u=j+1}^{i} a_u)
//	f(s) = s (order 1), s² (order 2)
//
// with norm dividing by Σ_{j≤i} f(s_ij)·AM_ij (0 where that is 0). Its cost
// is quadratic in L and linear in d: the better form for short sequences.
// q, k (bh, L, dk), v, y (bh, L, dv), a (bh, L) log-decays, dk, dv ≤ 256.
func (d *Device) Quadratic(y, q, k, v, a *Buffer, bh, L, dk, dv, order int, scale float32, norm bool) error {
	if order != 1 && order != 2 {
		argPanic("attention.comp", "dispatch", "order %d, want 1 or 2", order)
	}
	return d.attention(y, q, k, v, a, bh, L, dk, dv, order, scale, norm)
}

// attention dispatches attention.comp: order 0 is the softmax (exp) form.
func (d *Device) attention(y, q, k, v, a *Buffer, bh, L, dk, dv, order int, scale float32, norm bool) error {
	const name = "attention.comp"
	if bh < 0 || L < 0 || dk < 1 || dv < 1 || dk > 256 || dv > 256 ||
		q.Len() < bh*L*dk || k.Len() < bh*L*dk || v.Len() < bh*L*dv || y.Len() < bh*L*dv ||
		(a != nil && a.Len() < bh*L) {
		argPanic(name, "dispatch", "bh=%d L=%d dk=%d dv=%d (≤ 256): q %d, k %d, v %d, y %d, a %d floats",
			bh, L, dk, dv, q.Len(), k.Len(), v.Len(), y.Len(), lenOf(a))
	}
	if bh == 0 || L == 0 {
		return nil
	}
	// 64 queries (and keys) a block where the staged keys and values fit
	// in shared memory, else 32.
	block := 64
	if 4*(block*(dk+dv+1)+1) > d.info.MaxSharedBytes {
		block = 32
	}
	defs := []string{fmt.Sprintf("B %d", block), fmt.Sprintf("DK %d", dk), fmt.Sprintf("DV %d", dv)}
	if order > 0 {
		defs = append(defs, fmt.Sprintf("POW%d", order))
		if norm {
			defs = append(defs, "NORM")
		}
	}
	if a != nil {
		defs = append(defs, "HAS_BIAS")
	} else {
		a = q // bound but unread
	}
	p, err := d.program(name, attentionSrc, defs...)
	if err != nil {
		return err
	}
	return d.run(p, rowGroups(bh*ceilDiv(L, block)), []*Buffer{q, k, v, a, y},
		iarg("BH", bh), iarg("L", L), farg("scale", scale))
}
