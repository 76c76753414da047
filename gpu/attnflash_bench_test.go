//go:build dev

package gpu

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/furious-lab/furious/backend"
)

var benchFlashProfile = flag.Bool("attnflash.profile", true, "BenchmarkAttentionFlash logs the GPU time of each dispatch of one forward+backward (a profile: dispatches serialised)")

var benchFlashKT = flag.Int("attnflash.kt", 0, "BenchmarkAttentionFlash's small tile of the tiled kernels (16 or 32; 0: 32 where it fits shared memory)")

// BenchmarkAttentionFlash times the device attention's quadratic form
// with attndev.comp's kernels ("current") and attnflash.comp's
// register-tiled ones ("flash", attnFlash on: FWD, and in the backward
// DQB, DKB and DVB for attndev.comp's DQ and DKV), the forward alone and
// forward + backward, in one process on the same buffers: at the large
// shape (64 heads, L = 1024, d = d_v = 64) and long (16 heads, L = 8192,
// d = 64), for 2mamba (order 2, decay, norm), softmax (exp, norm, no
// decay), softmax-decay (exp, decay, norm) and linear (order 1, norm, no
// decay); on a software renderer a tiny shape only (2 heads, L = 256,
// d = 64: that it runs, not its speed). FLOPs counted as
// BenchmarkAttentionDevice: forward L²/2·(2d + 2d_v) per head, backward
// L²/2·(6d + 4d_v). -attnflash.kt sets the tiled kernels' small tile (16
// or 32); a shape they do not take is skipped. After the timed runs of
// forward+backward, one more is profiled (each dispatch's GPU time, the
// dispatches serialised) and logged, unless -attnflash.profile=false.
func BenchmarkAttentionFlash(b *testing.B) {
	d := device(b)
	attnFlashKT = *benchFlashKT
	defer func() { attnFlashKT = 0 }()
	type shape struct {
		name         string
		bh, L, dk    int
		softwareOnly bool
	}
	shapes := []shape{{"tiny", 2, 256, 64, true}, {"large", 64, 1024, 64, false}, {"long", 16, 8192, 64, false}}
	forms := []struct {
		name            string
		order           int
		exp, norm, mask bool
	}{{"2mamba", 2, false, true, true}, {"softmax", 0, true, true, false}, {"softmax-decay", 0, true, true, true}, {"linear", 1, false, true, false}}
	for _, sh := range shapes {
		if d.Software() != sh.softwareOnly {
			continue
		}
		for _, f := range forms {
			p := backend.SSDParams{BH: sh.bh, L: sh.L, D: sh.dk, DV: sh.dk, Order: f.order, Exp: f.exp, Norm: f.norm, Scale: float32(1 / math.Sqrt(float64(sh.dk)))}
			r := rand.New(rand.NewPCG(uint64(sh.L), 5))
			n, nr := sh.bh*sh.L*sh.dk, sh.bh*sh.L
			q, k, v, dO := randFloats(r, n), randFloats(r, n), randFloats(r, n), randFloats(r, n)
			var a []float32
			if f.mask {
				a = randFloats(r, nr)
				for i := range a {
					a[i] = -float32(math.Log1p(math.Exp(float64(a[i])))) // −softplus
				}
			}
			pairs := float64(sh.bh) * float64(sh.L) * float64(sh.L) / 2
			fwd, back := pairs*float64(4*sh.dk), pairs*float64(10*sh.dk)
			bufs := backend.AttnBuffers{Q: upload(b, d, q), K: upload(b, d, k), V: upload(b, d, v), DO: upload(b, d, dO),
				Y: poisoned(b, d, n), Stat: poisoned(b, d, nr), DQ: poisoned(b, d, n), DK: poisoned(b, d, n), DV: poisoned(b, d, n)}
			if f.mask {
				bufs.A, bufs.DA = upload(b, d, a), poisoned(b, d, nr)
			}
			for _, flash := range []bool{false, true} {
				name := "current"
				if flash {
					name = "flash"
				}
				b.Run(fmt.Sprintf("%s/%s/%s", sh.name, f.name, name), func(b *testing.B) {
					if _, err := d.attnFlashTile(p); flash && err != nil {
						b.Skip(err)
					}
					attnFlash = flash
					defer func() { attnFlash = false }()
					b.Run("forward", func(b *testing.B) {
						timeMedian(b, d, fwd, func() error { return d.AttentionDevice32(p, bufs) })
					})
					both := func() error {
						if err := d.AttentionDevice32(p, bufs); err != nil {
							return err
						}
						return d.AttentionBackwardDevice32(p, bufs)
					}
					b.Run("forward+backward", func(b *testing.B) {
						timeMedian(b, d, fwd+back, both)
						if !*benchFlashProfile {
							return
						}
						d.StartProfile()
						err := both()
						prof := d.StopProfile()
						if err != nil {
							b.Fatal(err)
						}
						var sb strings.Builder
						prof.Write(&sb, 0)
						b.Logf("one forward+backward, each dispatch timed alone:\n%s", sb.String())
					})
				})
			}
			for _, x := range []backend.DeviceBuffer{bufs.Q, bufs.K, bufs.V, bufs.A, bufs.DO, bufs.Y, bufs.Stat, bufs.DQ, bufs.DK, bufs.DV, bufs.DA} {
				if x != nil {
					x.Release()
				}
			}
		}
	}
}
