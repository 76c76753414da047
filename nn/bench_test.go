package nn

import (
	"fmt"
	"testing"
	"time"

	"github.com/furious-lab/furious/nn/data"
	"github.com/furious-lab/furious/tensor"
)

// benchLM runs forward + backward + AdamW for a 2-block tinyLM-style model
// (d_model 128, 4 heads, L 256, batch 4, vocab of the Opticks corpus).
func benchLM(b *testing.B, order int, norm bool) {
	const nl, D, H, F, B, L = 2, 128, 4, 256, 4, 256
	c := data.Opticks()
	V := c.VocabSize()
	var blocks [][]*Var
	var all []*Var
	for i := 0; i < nl; i++ {
		ps := tinyParams(V, D, H, F, tensor.Float32)
		vs := make([]*Var, len(ps))
		for j, p := range ps {
			vs[j] = Param(p)
		}
		blocks = append(blocks, vs)
		all = append(all, vs...)
	}
	opt := NewAdamW(all, 1e-3)
	bat := data.NewBatcher(c.Train, B, L, 1)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		ids, tg := bat.Next()
		// Reuse tinyLM per block: the loss sums the per-block LM losses,
		// a stand-in with the cost profile of a 2-layer model.
		var loss *Var
		for _, vs := range blocks {
			l := tinyLM(vs, ids, tg, B, L, H, order, norm)
			if loss == nil {
				loss = l
			} else {
				loss = Add(loss, l)
			}
		}
		opt.ZeroGrad()
		loss.Backward()
		opt.Step()
	}
	b.ReportMetric(float64(b.N*B*L)/time.Since(start).Seconds(), "tokens/s")
}

func BenchmarkTrainStep(b *testing.B) {
	for _, c := range []struct {
		order int
		norm  bool
	}{{OrderLinear, false}, {OrderSquared, true}, {OrderExp, true}} {
		b.Run(fmt.Sprintf("order%d_norm%v", c.order, c.norm), func(b *testing.B) { benchLM(b, c.order, c.norm) })
	}
}
