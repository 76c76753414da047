package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// benchLs are the sequence lengths of the SSD and attention benchmarks:
// the table on a real GPU, one small size on a software renderer.
func benchLs(d *Device, max int) []int {
	if d.Software() {
		return []int{256}
	}
	var ls []int
	for _, l := range []int{2048, 8192, 32768, 131072} {
		if l <= max {
			ls = append(ls, l)
		}
	}
	return ls
}

// timeMedian runs f once to warm up, then b.N times between glFinish calls,
// and reports the median in ms and flops/median in TFLOP/s.
func timeMedian(b *testing.B, d *Device, flops float64, f func() error) {
	if err := f(); err != nil {
		b.Fatal(err)
	}
	d.Finish()
	times := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		d.Finish()
		times = append(times, time.Since(start).Seconds())
	}
	b.StopTimer()
	med := median(times)
	b.ReportMetric(med*1e3, "ms/median")
	b.ReportMetric(flops/med/1e12, "TFLOP/s")
}

// ssdInputs uploads q, k (ReLU'd), v and decays a = −softplus(x) for
// B=1, H=16, d=64 at length L.
func ssdInputs(b *testing.B, d *Device, L int) (q, k, v, a, y *Buffer) {
	const bh, dk = 16, 64
	r := rand.New(rand.NewPCG(uint64(L), 21))
	qs, ks := randFloats(r, bh*L*dk), randFloats(r, bh*L*dk)
	for i := range qs {
		qs[i] = max(qs[i], 0)
		ks[i] = max(ks[i], 0)
	}
	as := randFloats(r, bh*L)
	for i := range as {
		as[i] = -float32(math.Log1p(math.Exp(float64(as[i]))))
	}
	return upload(b, d, qs), upload(b, d, ks), upload(b, d, randFloats(r, bh*L*dk)), upload(b, d, as), poisoned(b, d, bh*L*dk)
}

// BenchmarkSSD times the chunked forward with softmax norm at B=1, H=16,
// d=64, chunk 64: order 1 (Mamba-2 form) to L = 128K, order 2 (2Mamba,
// F = 2080 features) to 32K. FLOPs counted: within-chunk pairs
// L·C/2·(2d + 2(d+1)), states and their use 2·2·L·F·(d+1).
func BenchmarkSSD(b *testing.B) {
	d := device(b)
	const bh, dk, chunk = 16, 64, 64
	for _, order := range []int{1, 2} {
		maxL, nf := 131072, dk
		if order == 2 {
			maxL, nf = 32768, FeatureMapDim(dk)
		}
		for _, L := range benchLs(d, maxL) {
			b.Run(fmt.Sprintf("order=%d/L=%d", order, L), func(b *testing.B) {
				q, k, v, a, y := ssdInputs(b, d, L)
				defer func() {
					for _, x := range []*Buffer{q, k, v, a, y} {
						x.Release()
					}
				}()
				flops := float64(bh) * (float64(L)*chunk/2*(2*dk+2*(dk+1)) + 4*float64(L)*float64(nf)*(dk+1))
				timeMedian(b, d, flops, func() error {
					return d.SSD(y, q, k, v, a, bh, L, dk, dk, chunk, order, 0.125, true)
				})
			})
		}
	}
}

// BenchmarkQuadratic times the quadratic form of the same SSD functions
// (orders 1 and 2, softmax norm) at B=1, H=16, d=64 to L = 32K: together
// with BenchmarkSSD it shows where the chunked form overtakes. FLOPs
// counted: L²/2·(2d + 2(d+1)).
func BenchmarkQuadratic(b *testing.B) {
	d := device(b)
	const bh, dk = 16, 64
	for _, order := range []int{1, 2} {
		for _, L := range benchLs(d, 32768) {
			b.Run(fmt.Sprintf("order=%d/L=%d", order, L), func(b *testing.B) {
				q, k, v, a, y := ssdInputs(b, d, L)
				defer func() {
					for _, x := range []*Buffer{q, k, v, a, y} {
						x.Release()
					}
				}()
				flops := float64(bh) * float64(L) * float64(L) / 2 * (2*dk + 2*(dk+1))
				timeMedian(b, d, flops, func() error {
					return d.Quadratic(y, q, k, v, a, bh, L, dk, dk, order, 0.125, true)
				})
			})
		}
	}
}

// BenchmarkAttention times causal softmax attention with the log-decay
// bias at B=1, H=16, d=64; FLOPs counted: L²/2·(2d + 2d).
func BenchmarkAttention(b *testing.B) {
	d := device(b)
	const bh, dk = 16, 64
	for _, L := range benchLs(d, 32768) {
		b.Run(fmt.Sprintf("L=%d", L), func(b *testing.B) {
			q, k, v, a, y := ssdInputs(b, d, L)
			defer func() {
				for _, x := range []*Buffer{q, k, v, a, y} {
					x.Release()
				}
			}()
			flops := float64(bh) * float64(L) * float64(L) / 2 * 4 * dk
			timeMedian(b, d, flops, func() error {
				return d.Attention(y, q, k, v, a, bh, L, dk, dk, 0.125)
			})
		})
	}
}
