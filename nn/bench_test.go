package nn

import (
	"fmt"
	"strings"
	"testing"

	"github.com/furious-lab/furious/nn/data"
	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// BenchmarkTrainPreset measures training throughput (forward + backward +
// AdamW, float32) of the benchmark model for each preset of the
// table (and the chunked 2Mamba with and without dt on values): 2 layers,
// d_model 128, 4 heads, L 256, batch 4, on the Opticks characters.
//
//	go test -run '^$' -bench TrainPreset -benchtime 3x ./nn/
func BenchmarkTrainPreset(b *testing.B) {
	c := data.Opticks()
	const B, L = 4, 256
	var names []string
	for _, p := range ssd.PresetTable() {
		names = append(names, p.Key)
	}
	for _, name := range append(names, "2mamba-chunk64", "2mamba-dt-chunk64") {
		b.Run(name, func(b *testing.B) {
			var bc BlockConfig
			if base, ok := strings.CutSuffix(name, "-chunk64"); ok {
				bc = Preset(base)
				bc.Chunk = 64
			} else {
				bc = Preset(name)
			}
			bc.DModel, bc.Heads = 128, 4
			m := NewLM(ModelConfig{Vocab: c.VocabSize(), Layers: 2, Block: bc, Seed: 1, DType: tensor.Float32})
			opt := NewAdamW(m.Params(), 1e-3)
			bat := data.NewBatcher(c.Train, B, L, 1)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ids, tg := bat.Next()
				loss := m.Loss(ids, tg, B, L, -100)
				opt.ZeroGrad()
				loss.Backward()
				opt.Step()
			}
			b.ReportMetric(float64(b.N*B*L)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkAttentionExp measures forward + backward of the exp order with
// softmax norm and a decay (2Mamba-E's core) in float32 at B 4, H 4, d 32,
// the shape of the throughput benchmark, for growing L; allocs/op shows the
// L×L matrices the quadratic backward materialises.
//
//	go test -tags openblas -run '^$' -bench AttentionExp -benchmem ./nn/
func BenchmarkAttentionExp(b *testing.B) {
	for _, L := range []int{256, 1024} {
		b.Run(fmt.Sprintf("L%d", L), func(b *testing.B) {
			q, k, v := tensor.NewRNG(1).Randn(4, 4, L, 32), tensor.NewRNG(2).Randn(4, 4, L, 32), tensor.NewRNG(3).Randn(4, 4, L, 32)
			a := tensor.NewRNG(4).Rand(-0.5, -0.01, 4, 4, L)
			dO := tensor.NewRNG(5).Randn(4, 4, L, 32)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				o := ssd.Options{Exp: true, Norm: ssd.NormSoftmax}
				ssd.Quadratic(q, k, v, a, o)
				ssd.QuadraticBackward(q, k, v, a, o, dO)
			}
			b.ReportMetric(float64(b.N*4*L)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
