package gputest

import (
	"flag"
	"fmt"
	"testing"

	"github.com/furious-lab/furious/nn"
	"github.com/furious-lab/furious/nn/data"
	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

var (
	benchL = flag.Int("train.L", 256, "sequence length of BenchmarkTrain and BenchmarkAttention")
	benchB = flag.Int("train.B", 4, "batch of BenchmarkTrain and BenchmarkAttention")
)

// trainModes are the devices BenchmarkTrain compares: the model's
// parameters (and so every op of its steps) on the CPU or on the GPU.
var trainModes = []struct{ name, device string }{{"cpu", "cpu"}, {"gpu", "gpu"}}

// setMode places new parameters on mode i's device; the returned function
// restores the CPU.
func setMode(b *testing.B, i int) func() {
	m := trainModes[i]
	if m.device == "gpu" {
		device(b)
	}
	useDevice(b, m.device)
	return func() { useDevice(b, "cpu") }
}

// BenchmarkTrain measures training throughput (forward + backward + AdamW,
// float32, tokens/s) of the model for every preset on each of
// trainModes: 2 layers, d_model 128, 4 heads, L 256, batch 4, on the
// Opticks characters, as nn's BenchmarkTrainPreset. One untimed step
// first compiles the shaders.
//
//	go test -tags gl,egl -run '^$' -bench Train -benchtime 5x ./nn/gputest/
func BenchmarkTrain(b *testing.B) {
	c := data.Opticks()
	B, L := *benchB, *benchL
	for mi, mode := range trainModes {
		for _, name := range nn.Presets {
			b.Run(mode.name+"/"+name, func(b *testing.B) {
				defer setMode(b, mi)()
				bc := nn.Preset(name)
				bc.DModel, bc.Heads = 128, 4
				m := nn.NewLM(nn.ModelConfig{Vocab: c.VocabSize(), Layers: 2, Block: bc, Seed: 1, DType: tensor.Float32})
				opt := nn.NewAdamW(m.Params(), 1e-3)
				bat := data.NewBatcher(c.Train, B, L, 1)
				step := func() {
					ids, tg := bat.Next()
					loss := m.Loss(ids, tg, B, L, -100)
					opt.ZeroGrad()
					loss.Backward()
					opt.Step()
				}
				step()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					step()
				}
				b.ReportMetric(float64(b.N*B*L)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}

// BenchmarkAttention measures the attention core alone, forward and
// backward through nn.Attention (uploads and downloads included on the
// gpu), at the shape of BenchmarkTrain's blocks: B 4, H 4, L 256, d 32.
func BenchmarkAttention(b *testing.B) {
	B, L := *benchB, *benchL
	for mi, mode := range trainModes[:2] {
		for _, o := range []struct {
			name   string
			o      ssd.Options
			masked bool
		}{{"order1", ssd.Options{Order: 1}, false}, {"2mamba", ssd.TwoMamba.Options(), true}, {"2mamba-e", ssd.TwoMambaE.Options(), true}} {
			b.Run(mode.name+"/"+o.name, func(b *testing.B) {
				defer setMode(b, mi)()
				q, k, v := nn.Param(tensor.NewRNG(1).Randn(B, 4, L, 32)), nn.Param(tensor.NewRNG(2).Randn(B, 4, L, 32)), nn.Param(tensor.NewRNG(3).Randn(B, 4, L, 32))
				var a *nn.Var
				if o.masked {
					a = nn.Param(tensor.NewRNG(4).Rand(-0.5, -0.01, B, 4, L))
				}
				dO := tensor.NewRNG(5).Randn(B, 4, L, 32)
				run := func() { nn.Attention(q, k, v, a, o.o).BackwardWith(dO) }
				run()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					run()
				}
				b.ReportMetric(float64(b.N*B*L)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}

// BenchmarkMatMul times one float32 nn.MatMul forward, (m, k)·(k, n), on
// the CPU and on the gpu backend (every size sent there, upload and
// download included), for the products of BenchmarkTrain's model (m = B·L
// = 1024 rows; k, n from d_model 128, 3·128, the SwiGLU's 344) and
// smaller ones: where the GPU starts to win sets nn.GPUGEMMMinWork.
func BenchmarkMatMul(b *testing.B) {
	shapes := [][3]int{{64, 128, 128}, {128, 128, 128}, {256, 128, 128}, {1024, 128, 128}, {1024, 128, 384}, {1024, 344, 128}, {4096, 128, 384}, {1024, 1024, 1024}}
	for _, mode := range []int{0, 2} {
		for _, s := range shapes {
			m, k, n := s[0], s[1], s[2]
			b.Run(fmt.Sprintf("%s/%dx%dx%d", trainModes[mode].name, m, k, n), func(b *testing.B) {
				defer setMode(b, mode)()
				x, w := nn.Const(tensor.NewRNG(1).Randn(m, k)), nn.Const(tensor.NewRNG(2).Randn(k, n))
				nn.MatMul(x, w)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					nn.MatMul(x, w)
				}
				b.ReportMetric(float64(b.N)*2*float64(m*n*k)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
