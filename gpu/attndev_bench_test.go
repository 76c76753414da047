package gpu

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/furious-lab/furious/backend"
)

var benchAttnBlock = flag.Int("attndev.block", 0, "BenchmarkAttentionDevice's block size (positions per work group: 4 to 64; 0: the largest that fits shared memory)")

var benchAttnGemmCap = flag.Int("attn.gemmcap", 0, "the GEMM form's L×L scratch in floats, forward and backward (attnGemmFwdCap, attnGemmCap; 0: the code's)")

var benchAttnTile = flag.Int("attn.tile", 0, "the GEMM form's products all in one tiling of sgemmLadder (its index; 0: chooseTile's)")

var benchAttnSTile = flag.String("attn.stile", "", "the GEMM form's scores product in the tiling BM,BN,BK,TM,TN,WTX (attnScoreTiling; \"\": scoreTile's); tests too (TestMain)")

var benchAttnYTile = flag.String("attn.ytile", "", "the GEMM form's y = (sc∘P̃)·V in the tiling BM,BN,BK,TM,TN,WTX (attnOutTiling; \"\": outTile's); tests too (TestMain)")

// attnTilingFlags sets attnScoreTiling and attnOutTiling from -attn.stile
// and -attn.ytile (TestMain: tests and benchmarks run under them).
func attnTilingFlags() error {
	for _, f := range []struct {
		s   string
		dst **sgemmTile
	}{{*benchAttnSTile, &attnScoreTiling}, {*benchAttnYTile, &attnOutTiling}} {
		if f.s == "" {
			continue
		}
		var t sgemmTile
		if _, err := fmt.Sscanf(f.s, "%d,%d,%d,%d,%d,%d", &t.BM, &t.BN, &t.BK, &t.TM, &t.TN, &t.WTX); err != nil || !t.valid(true) {
			return fmt.Errorf("tiling %q: %v (or not a valid tiling)", f.s, err)
		}
		*f.dst = &t
	}
	return nil
}

var benchAttnExpBound = flag.Bool("attn.expbound", true, "the GEMM form's exp forward against row bounds where they allow (attnExpBound)")

var benchAttnKC = flag.Int("attn.kc", 0, "the GEMM form's shortest K chunk of y = (sc∘P̃)·V (attnGemmKC; 0: the code's; longer than L: no split)")

var benchAttnProfile = flag.Bool("attndev.profile", false, "BenchmarkAttentionDevice prints the GPU time of each dispatch of one forward+backward (dispatches serialised) to stdout")

// BenchmarkAttentionDevice times the device attention's forward
// (AttentionDevice32) and forward + backward (then AttentionBackwardDevice32)
// at the attention shapes of issue 12's two training models: small (batch
// 4 × 4 heads, L = 256, d = 32) and large (batch 8 × 8 heads, L = 1024,
// d = 64), and long (16 heads, L = 8192, d = 64), for 2Mamba (order 2,
// decay, norm), softmax with decay (exp, norm) and linear (order 1, decay,
// no norm), and the first and last in the chunked form (chunks of 64; the
// FLOPs counted are still the quadratic form's); on a software renderer the
// small shape only. FLOPs counted: forward L²/2·(2d + 2d_v)
// per head, backward L²/2·(6d + 4d_v) (dq, dk, dv and the recomputed s, dO·v).
// The quadratic form runs twice, attndev.comp's tiled kernels ("tiled")
// and the GEMM form ("gemm", attngemm.go; where its L×L scratch fits), on
// the same buffers in one process; also softmax without a decay (the
// training softmax preset's) and 2mamba without one (its scores'
// epilogue then has no exp: what the decay's exp costs there). -attndev.block sets the
// block size of the tiled kernels, -attn.kc the forward's shortest K chunk, -attn.expbound=false exp's forward against the tiles' maxima only, -attn.stile and -attn.ytile the two products' tilings; -attndev.profile prints a profile of one
// forward+backward of each. With FURIOUS_GL_DUMP=dir the driver's binaries of the matmul.comp programs
// used go into dir (dumpPrograms).
func BenchmarkAttentionDevice(b *testing.B) {
	d := device(b)
	attnDevBlock = *benchAttnBlock
	defer func(cap, fwd int) { attnDevBlock, attnGemmCap, attnGemmFwdCap = 0, cap, fwd }(attnGemmCap, attnGemmFwdCap)
	if *benchAttnGemmCap > 0 {
		attnGemmCap, attnGemmFwdCap = *benchAttnGemmCap, *benchAttnGemmCap
	}
	defer dumpPrograms(b, d)
	defer func() { attnExpBound = true }()
	attnExpBound = *benchAttnExpBound
	if *benchAttnKC > 0 {
		defer func(kc int) { attnGemmKC = kc }(attnGemmKC)
		attnGemmKC = *benchAttnKC
	}
	if *benchAttnTile > 0 {
		sgemmTiling = &sgemmLadder[*benchAttnTile]
		defer func() { sgemmTiling = nil }()
	}
	type shape struct {
		name         string
		bh, L, dk    int
		softwareOnly bool
	}
	shapes := []shape{{"small", 16, 256, 32, true}, {"large", 64, 1024, 64, false}, {"mid", 16, 2048, 64, false}, {"long", 16, 8192, 64, false}}
	forms := []struct {
		name            string
		order           int
		exp, norm, mask bool
		chunk           int // the chunked form with chunks of chunk; 0: quadratic
	}{{"2mamba", 2, false, true, true, 0}, {"softmax", 0, true, true, true, 0}, {"linear", 1, false, false, true, 0},
		{"softmax-nodecay", 0, true, true, false, 0}, {"2mamba-nodecay", 2, false, true, false, 0},
		{"2mamba-chunked", 2, false, true, true, 64}, {"linear-chunked", 1, false, false, true, 64}}
	for _, sh := range shapes {
		if d.Software() && !sh.softwareOnly {
			continue
		}
		for _, f := range forms {
			p := backend.SSDParams{BH: sh.bh, L: sh.L, D: sh.dk, DV: sh.dk, Order: f.order, Exp: f.exp, Norm: f.norm, Scale: float32(1 / math.Sqrt(float64(sh.dk)))}
			if f.chunk > 0 {
				p.Form, p.Chunk = "chunked", f.chunk
			}
			r := rand.New(rand.NewPCG(uint64(sh.L), 5))
			n, nr := sh.bh*sh.L*sh.dk, sh.bh*sh.L
			q, k, v, dO := randFloats(r, n), randFloats(r, n), randFloats(r, n), randFloats(r, n)
			a := randFloats(r, nr)
			for i := range a {
				a[i] = -float32(math.Log1p(math.Exp(float64(a[i])))) // −softplus
			}
			pairs := float64(sh.bh) * float64(sh.L) * float64(sh.L) / 2
			fwd, back := pairs*float64(4*sh.dk), pairs*float64(10*sh.dk)
			impls := []string{"tiled", "gemm"}
			if f.chunk > 0 {
				impls = []string{"chunked"}
			}
			for _, impl := range impls {
				b.Run(fmt.Sprintf("%s/%s/%s", sh.name, f.name, impl), func(b *testing.B) {
					attnForm = impl
					defer func() { attnForm = "" }()
					if impl == "chunked" {
						attnForm = ""
					}
					bufs := backend.AttnBuffers{Q: upload(b, d, q), K: upload(b, d, k), V: upload(b, d, v), DO: upload(b, d, dO),
						Y: poisoned(b, d, n), Stat: poisoned(b, d, nr), DQ: poisoned(b, d, n), DK: poisoned(b, d, n), DV: poisoned(b, d, n)}
					if f.mask {
						bufs.A, bufs.DA = upload(b, d, a), poisoned(b, d, nr)
					}
					defer func() {
						for _, x := range []backend.DeviceBuffer{bufs.Q, bufs.K, bufs.V, bufs.A, bufs.DO, bufs.Y, bufs.Stat, bufs.DQ, bufs.DK, bufs.DV, bufs.DA} {
							if x != nil {
								x.Release()
							}
						}
					}()
					both := func() error {
						if err := d.AttentionDevice32(p, bufs); err != nil {
							return err
						}
						return d.AttentionBackwardDevice32(p, bufs)
					}
					b.Run("forward", func(b *testing.B) {
						timeMedian(b, d, fwd, func() error { return d.AttentionDevice32(p, bufs) })
					})
					b.Run("forward+backward", func(b *testing.B) {
						timeMedian(b, d, fwd+back, both)
						if !*benchAttnProfile {
							return
						}
						d.StartProfile()
						err := both()
						prof := d.StopProfile()
						if err != nil {
							b.Fatal(err)
						}
						// to stdout, not b.Logf: the testing package trims a
						// benchmark's log to its first 10 lines
						fmt.Printf("%s: one forward+backward, each dispatch timed alone:\n", b.Name())
						prof.Write(os.Stdout, 0)
					})
				})
			}
		}
	}
}
