package gpu

import "github.com/furious-lab/furious/backend"

// quadratic is SSD's quadratic form for the call c, whose buffers
// newSSDCall checked: attndev.comp's forward, training's attention
// (AttentionDevice32), with its row statistic written to a scratch buffer
// and dropped. One quadratic family serves inference and training: per
// head, query blocks of up to 64 positions, key blocks staged in shared
// memory from the diagonal backwards, f(s) = s^p or eˢ with an online row
// maximum, the decay built from within-block sums (never a difference of
// one long cumulative sum); a nil a is no decay.
func (d *Device) quadratic(c ssdCall, y, q, k, v, a *Buffer) error {
	stat, give, err := d.takeScratch("ssd.stat", c.BH*c.L)
	if err != nil {
		return err
	}
	defer give()
	p := c.SSDParams
	p.Form, p.Chunk = "quadratic", 0
	b := backend.AttnBuffers{Q: q, K: k, V: v, Y: y, Stat: stat}
	if a != nil {
		b.A = a
	}
	return d.AttentionDevice32(p, b)
}
