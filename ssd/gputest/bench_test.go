package gputest

import (
	"flag"
	"fmt"
	"testing"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/gpu"
	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

var (
	benchL = flag.Int("ssd.L", 4096, "sequence length of BenchmarkChunked")
	benchH = flag.Int("ssd.H", 16, "heads of BenchmarkChunked (B = 1, d = d_v = 64)")
)

// BenchmarkChunked times ssd.Chunked of order 1 and 2 (softmax norm, with
// decay) three ways: inputs resident on the gpu and the output left there
// (released each iteration; the final state included), host inputs sent to
// the active gpu (ssd.SetHostDispatch: upload, compute, read back), and
// the CPU.
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
		for _, mode := range []string{"resident", "host-to-gpu", "cpu"} {
			b.Run(fmt.Sprintf("order%d/%s/L%d", order, mode, L), func(b *testing.B) {
				in := []*tensor.Tensor{q, k, v, a}
				device := "cpu"
				switch mode {
				case "resident":
					in = gpuAll(q, k, v, a)
				case "host-to-gpu":
					device = "gpu"
					defer ssd.SetHostDispatch(ssd.SetHostDispatch(true))
				}
				if err := tensor.SetDevice(device); err != nil {
					b.Fatal(err)
				}
				defer tensor.SetDevice("cpu")
				for i := 0; i < b.N; i++ {
					y, s := ssd.Chunked(in[0], in[1], in[2], in[3], o, chunk, nil)
					if mode == "resident" {
						if y.Device() != backend.GPU {
							b.Fatalf("result on %v", y.Device())
						}
						d.Finish() // the work is done, not only queued
						if buf, _ := y.DeviceBuffer(); buf != nil {
							buf.Release()
						}
						if buf, _ := s.S.DeviceBuffer(); buf != nil {
							buf.Release()
						}
					}
				}
			})
		}
	}
}
