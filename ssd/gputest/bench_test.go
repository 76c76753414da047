package gputest

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/gpu"
	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

var (
	benchL    = flag.Int("ssd.L", 4096, "sequence length of BenchmarkChunked")
	benchH    = flag.Int("ssd.H", 16, "heads of BenchmarkChunked (B = 1, d = d_v = 64)")
	benchWarm = flag.Duration("bench.warm", 500*time.Millisecond, "how long each GPU mode of BenchmarkChunked runs before it is timed")
)

// BenchmarkChunked times ssd.Chunked of order 1 and 2 (softmax norm, with
// decay) five ways: the fused shader alone on the same device buffers
// (gpu.SSDAuto: the floor), inputs resident on the gpu with the output and
// the final state left there (Chunked) or the output alone (ssd.Auto), host
// inputs moved to the gpu for the call and the output read back
// (host-to-gpu), and the CPU. Each GPU mode runs for -bench.warm first (an idle
// H100 runs its first calls up to 4x slower) and waits for the GPU
// (glFinish) in each iteration.
//
//	go test -tags gl,egl -run '^$' -bench Chunked -benchtime 5x ./ssd/gputest/
func BenchmarkChunked(b *testing.B) {
	d, err := gpu.Default()
	if err != nil {
		b.Skipf("no OpenGL 4.3 context: %v", err)
	}
	b.Setenv("FURIOUS_GPU_SOFTWARE", "1")
	b.Logf("%s", d.Describe())
	L, H := *benchL, *benchH
	for _, order := range []int{1, 2} {
		q, k, v, a := inputs(1, 1, H, L, 64, 64, true, true)
		o := ssd.Options{Order: order, Norm: ssd.NormSoftmax}
		chunk := gpu.SSDChunk(order)
		for _, mode := range []string{"shader", "resident", "resident-auto", "host-to-gpu", "cpu"} {
			b.Run(fmt.Sprintf("order%d/%s/L%d", order, mode, L), func(b *testing.B) {
				in := []*tensor.Tensor{q, k, v, a}
				switch mode {
				case "shader", "resident", "resident-auto":
					in = gpuAll(q, k, v, a)
				}
				call := func() {
					var y *tensor.Tensor
					var s *ssd.State
					switch mode {
					case "shader":
						bs := make([]*gpu.Buffer, 4)
						for i, t := range in {
							buf, _ := t.DeviceBuffer()
							bs[i] = buf.(*gpu.Buffer)
						}
						out, err := d.NewBuffer(H * L * 64)
						if err != nil {
							b.Fatal(err)
						}
						if _, err := d.SSD(out, bs[0], bs[1], bs[2], bs[3], backend.SSDParams{BH: H, L: L, D: 64, DV: 64, Order: order, Norm: true, Scale: 1 / 8.0, Form: "auto"}); err != nil {
							b.Fatal(err)
						}
						d.Finish()
						out.Release()
						return
					case "resident-auto":
						y = ssd.Auto(in[0], in[1], in[2], in[3], o)
					case "host-to-gpu":
						r := gpuAll(q, k, v, a)
						y, s = ssd.Chunked(r[0], r[1], r[2], r[3], o, chunk, nil)
						y, s.S = y.To("cpu"), s.S.To("cpu")
						for _, t := range r {
							t.Release()
						}
						return
					default:
						y, s = ssd.Chunked(in[0], in[1], in[2], in[3], o, chunk, nil)
					}
					if mode != "cpu" {
						if y.Device() != backend.GPU {
							b.Fatalf("result on %v", y.Device())
						}
						d.Finish() // the work is done, not only queued
						for _, t := range []*tensor.Tensor{y, stateOf(s)} {
							if t == nil {
								continue
							}
							if buf, _ := t.DeviceBuffer(); buf != nil {
								buf.Release()
							}
						}
					}
				}
				if mode != "cpu" && !d.Software() {
					for start := time.Now(); time.Since(start) < *benchWarm; {
						call()
					}
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					call()
				}
			})
		}
	}
}

// stateOf is s's tensor, nil for a nil state.
func stateOf(s *ssd.State) *tensor.Tensor {
	if s == nil {
		return nil
	}
	return s.S
}
