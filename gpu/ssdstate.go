package gpu

import (
	_ "embed"
	"fmt"
)

//go:embed ssdstate.comp
var ssdStateSrc string

// ssdFinal runs ssdstate.comp for the n heads from h0: S (heads, nf, W) ←
// the state after the sequence, summed from the chunk states T (n, nch, nf,
// dvp) that ssdf.comp's STATE wrote and the within-chunk cumulative decays
// cs; W = dv+1 with norm (the denominator column), else dv.
func (d *Device) ssdFinal(S, T, cs *Buffer, n, h0, L, nch, chunk, nf, dvp, dv, order int, scale float32, norm bool) error {
	W := dv
	if norm {
		W++
	}
	p, err := d.program("ssdstate.comp", ssdStateSrc, fmt.Sprintf("F %d", nf), fmt.Sprintf("DVP %d", dvp),
		fmt.Sprintf("W %d", W), fmt.Sprintf("CH %d", chunk))
	if err != nil {
		return err
	}
	sc := scale
	if order == 2 {
		sc = 1
	}
	return d.run(p, rowGroups(ceilDiv(n*nf*W, 256)), []*Buffer{T, cs, S},
		iarg("BH", n), iarg("H0", h0), iarg("L", L), iarg("nch", nch), farg("SC", sc))
}
