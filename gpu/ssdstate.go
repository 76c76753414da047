package gpu

import (
	_ "embed"
	"fmt"
)

//go:embed ssdstate.comp
var ssdStateSrc string

// ssdFinal runs ssdstate.comp for the n heads from h0 of the call c: S
// (heads, F, W) ← the state after the sequence, summed from the chunk
// states T (n, nch, F, dvp) that ssdf.comp's STATE wrote and the
// within-chunk cumulative decays cs; W = DV+1 with Norm (the denominator
// column), else DV.
func (d *Device) ssdFinal(c ssdCall, S, T, cs *Buffer, n, h0, dvp int) error {
	p, err := d.program("ssdstate.comp", ssdStateSrc, fmt.Sprintf("F %d", c.nf), fmt.Sprintf("DVP %d", dvp),
		fmt.Sprintf("W %d", c.dve), fmt.Sprintf("CH %d", c.Chunk))
	if err != nil {
		return err
	}
	sc := c.Scale
	if c.Order == 2 {
		sc = 1
	}
	return d.run(p, rowGroups(ceilDiv(n*c.nf*c.dve, 256)), []*Buffer{T, cs, S},
		iarg("BH", n), iarg("H0", h0), iarg("L", c.L), iarg("nch", c.nch), farg("SC", sc))
}
