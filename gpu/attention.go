package gpu

import (
	_ "embed"
	"fmt"
)

//go:embed attention.comp
var attentionSrc string

// quadratic is SSD's quadratic form (attention.comp) for the call c, whose
// buffers newSSDCall checked: per head, for query blocks of 64 positions
// (32 where the staged keys and values do not fit in shared memory), f(s)
// = s or s² weighted by the decay mask, or with Exp softmax attention
// with an online row maximum; a nil a is no decay. The decay bias is summed
// within blocks and across whole blocks, never as a difference of one long
// cumulative sum.
func (d *Device) quadratic(c ssdCall, y, q, k, v, a *Buffer) error {
	const name = "attention.comp"
	// 64 queries (and keys) a block where the staged keys and values fit
	// in shared memory, else 32.
	block := 64
	if 4*(block*(c.D+c.DV+1)+1) > d.info.MaxSharedBytes {
		block = 32
	}
	p, err := d.program(name, attentionSrc, c.quadraticDefs(block, a != nil)...)
	if err != nil {
		return err
	}
	if a == nil {
		a = q // bound but unread
	}
	return d.run(p, rowGroups(c.BH*ceilDiv(c.L, block)), []*Buffer{q, k, v, a, y},
		iarg("BH", c.BH), iarg("L", c.L), farg("scale", c.Scale))
}

// quadraticDefs is attention.comp's macro set for the call: blocks of
// block positions, POW1 or POW2 (none for Exp, the softmax form, which is
// always normalised), NORM, and HAS_BIAS with a decay.
func (c ssdCall) quadraticDefs(block int, bias bool) []string {
	defs := []string{fmt.Sprintf("B %d", block), fmt.Sprintf("DK %d", c.D), fmt.Sprintf("DV %d", c.DV)}
	if !c.Exp {
		defs = append(defs, fmt.Sprintf("POW%d", c.Order))
		if c.Norm {
			defs = append(defs, "NORM")
		}
	}
	if bias {
		defs = append(defs, "HAS_BIAS")
	}
	return defs
}
