package gpu

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/furious-lab/furious/backend"
)

// benchLs are the sequence lengths of the SSD and attention benchmarks:
// the table on a real GPU (or those of -bench.ls), one small size
// on a software renderer.
func benchLs(d *Device, max int) []int {
	if d.Software() {
		return []int{256}
	}
	all := []int{2048, 8192, 32768, 131072}
	if *benchLsFlag != "" {
		all = nil
		for _, f := range strings.Split(*benchLsFlag, ",") {
			l, err := strconv.Atoi(f)
			if err != nil {
				panic("-bench.ls: " + err.Error())
			}
			all = append(all, l)
		}
	}
	var ls []int
	for _, l := range all {
		if l <= max {
			ls = append(ls, l)
		}
	}
	return ls
}

// glDebugOn and glDebugDrain turn on the GL driver's debug output and
// return what it logged since (set by a build with the gl tag; -gl.debug).
var (
	glDebugOn    func(*Device)
	glDebugDrain func(*Device) []string
	benchGLDebug = flag.Bool("gl.debug", false, "benchmarks log the GL driver's debug messages (buffer placement on NVIDIA)")
)

// logGLDebug logs the driver's debug messages gathered since the last call.
func logGLDebug(b *testing.B, d *Device, when string) {
	if !*benchGLDebug || glDebugDrain == nil {
		return
	}
	for _, m := range glDebugDrain(d) {
		b.Logf("gl debug (%s): %s", when, m)
	}
}

var benchLsFlag = flag.String("bench.ls", "", "the SSD and attention benchmarks' lengths on a hardware GPU, comma-separated (default 2048,8192,32768,131072)")

var benchWarm = flag.Duration("bench.warm", 500*time.Millisecond, "how long the benchmarks repeat a call before timing it on a hardware GPU")

// warmUp runs f once (compiling its programs), then on a hardware GPU
// again and again for -bench.warm (0.5 s): on the H100 the first 0.1–0.25 s
// of repeated calls ran up to 4× slower (an idle H100 drops to a 345 MHz
// SM clock), so short calls timed without this were often slow (BENCH.md,
// "Erratic 32K").
func warmUp(d *Device, f func() error) error {
	if err := f(); err != nil {
		return err
	}
	d.Finish()
	if d.Software() {
		return nil
	}
	for start := time.Now(); time.Since(start) < *benchWarm; {
		if err := f(); err != nil {
			return err
		}
		d.Finish()
	}
	return nil
}

// timeMedian warms up (warmUp), then runs f b.N times between glFinish calls,
// and reports the median in ms and flops/median in TFLOP/s. With -ssd.all
// it also logs every run's time.
func timeMedian(b *testing.B, d *Device, flops float64, f func() error) {
	if *benchGLDebug && glDebugOn != nil {
		glDebugOn(d)
	}
	logGLDebug(b, d, "before")
	if err := warmUp(d, f); err != nil {
		b.Fatal(err)
	}
	logGLDebug(b, d, "warm-up")
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
	logGLDebug(b, d, "timed")
	if *benchAll {
		ms := make([]string, len(times))
		for i, t := range times {
			ms[i] = fmt.Sprintf("%.3g", t*1e3)
		}
		b.Logf("ms of each run: %s", strings.Join(ms, " "))
	}
	med := median(times)
	b.ReportMetric(med*1e3, "ms/median")
	b.ReportMetric(flops/med/1e12, "TFLOP/s")
}

var benchAll = flag.Bool("ssd.all", false, "the SSD benchmarks log the time of every run")

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

// BenchmarkSSD times the fused chunked forward with softmax norm at B=1,
// H=16, d=64: order 1 (Mamba-2 form, chunk 64) and order 2 (2Mamba, F =
// 2080 features, chunks 128 and 256) to L = 128K. FLOPs as counted by
// SSDFlops.
func BenchmarkSSD(b *testing.B) {
	d := device(b)
	const bh, dk = 16, 64
	defer setSSDFlags()()
	for _, order := range []int{1, 2} {
		chunks := []int{64}
		if order == 2 {
			chunks = []int{128, 256}
		}
		if *benchChunk1 != "" && order == 1 {
			chunks = nil
			for _, f := range strings.Split(*benchChunk1, ",") {
				c, err := strconv.Atoi(f)
				if err != nil {
					b.Fatalf("-ssd.chunk1: %v", err)
				}
				chunks = append(chunks, c)
			}
		}
		for _, chunk := range chunks {
			for _, L := range benchLs(d, 131072) {
				b.Run(fmt.Sprintf("order=%d/chunk=%d/L=%d", order, chunk, L), func(b *testing.B) {
					q, k, v, a, y := ssdInputs(b, d, L)
					defer func() {
						for _, x := range []*Buffer{q, k, v, a, y} {
							x.Release()
						}
					}()
					p := backend.SSDParams{BH: bh, L: L, D: dk, DV: dk, Order: order, Norm: true, Scale: 0.125, Form: "chunked", Chunk: chunk}
					timeMedian(b, d, SSDFlops(p), func() error {
						_, err := d.SSD(y, q, k, v, a, p)
						return err
					})
					checkSSDSample(b, d, q, k, v, a, y, bh, L, dk, order, 0.125)
				})
			}
		}
	}
}

var (
	benchChunk1  = flag.String("ssd.chunk1", "", "BenchmarkSSD's chunk lengths at order 1, comma-separated (default 64)")
	benchNarrow  = flag.Bool("ssd.narrow", false, "the SSD benchmarks use 64-feature STATE groups at order 2")
	benchNoFull  = flag.Bool("ssd.nofull", false, "ssdf.comp keeps its bounds checks along the sequence where the chunks are full")
	benchNoVecIO = flag.Bool("ssd.novecio", false, "ssdf.comp's OUT reads q, k and writes y as floats, not vec4s")
	benchOutW    = flag.Bool("ssd.outw", true, "ssdf.comp's OUT stages its operands whole at order 1 where the chunk is one row tile (OWH)")
	benchOutWD   = flag.Bool("ssd.outwdenb", true, "with -ssd.outw and the norm, OUT sums the denominators apart from its products (DENB)")
	benchNoSPF   = flag.Bool("ssd.nospf", false, "ssdf.comp's STATE at order 1 without its register prefetch (SPF)")
	benchNoCSF   = flag.Bool("ssd.nocsf", false, "ssdf.comp runs ChunkCumsum apart at order 1 (not folded into STATE)")
	benchScanS   = flag.Int("ssd.scans", 8, "segments of ssdf.comp's SCAN at order 1 (0: the sequential SCAN)")
	benchScanU   = flag.Int("ssd.scanu", 16, "chunks' loads in flight a thread of ssdf.comp's SCAN")
)

// setSSDFlags sets ssdf.comp's variant switches from the -ssd.* flags and
// returns the function that restores the defaults.
func setSSDFlags() (restore func()) {
	restoreX := setSSDXFlags() // ssdx_bench_test.go
	ssdStateWide = !*benchNarrow
	ssdVecIO, ssdFull, ssdOutWhole, ssdOutDenB = !*benchNoVecIO, !*benchNoFull, *benchOutW, *benchOutWD
	ssdScanSegs, ssdCumsumFused, ssdStatePref1, ssdScanUnroll = *benchScanS, !*benchNoCSF, !*benchNoSPF, *benchScanU
	return func() {
		restoreX()
		ssdScanSegs, ssdCumsumFused, ssdStatePref1, ssdScanUnroll = 8, true, true, 16
		ssdStateWide, ssdVecIO, ssdFull, ssdOutWhole, ssdOutDenB = true, true, true, true, true
	}
}

// BenchmarkSSDAuto times SSD with form "auto" (the form SSDForm chooses by shape), at B=1, H=16,
// d=64 with softmax norm, orders 1 and 2, L = 2K to 128K; the name says
// which form ran. FLOPs as counted by SSDFlops for that form.
func BenchmarkSSDAuto(b *testing.B) {
	d := device(b)
	defer setSSDFlags()()
	const bh, dk = 16, 64
	for _, order := range []int{1, 2} {
		for _, L := range benchLs(d, 131072) {
			p := backend.SSDParams{BH: bh, L: L, D: dk, DV: dk, Order: order, Norm: true, Scale: 0.125, Form: "auto"}
			form, _ := SSDForm(p)
			b.Run(fmt.Sprintf("order=%d/L=%d/form=%s", order, L, form), func(b *testing.B) {
				q, k, v, a, y := ssdInputs(b, d, L)
				defer func() {
					for _, x := range []*Buffer{q, k, v, a, y} {
						x.Release()
					}
				}()
				timeMedian(b, d, SSDFlops(p), func() error {
					_, err := d.SSD(y, q, k, v, a, p)
					return err
				})
				checkSSDSample(b, d, q, k, v, a, y, bh, L, dk, order, 0.125)
			})
		}
	}
}

// checkSSDSample compares a few output rows of a timed SSD with float64
// sums over the whole prefix (the quadratic form), 1e-3 relative to the
// row's magnitude: the timed numbers come from a correct computation.
func checkSSDSample(b *testing.B, d *Device, q, k, v, a, y *Buffer, bh, L, dk, order int, scale float64) {
	r := rand.New(rand.NewPCG(uint64(L), 5))
	for n := 0; n < 3; n++ {
		h, i := r.IntN(bh), r.IntN(L)
		if n == 0 {
			i = L - 1
		}
		qi := make([]float32, dk)
		yi := make([]float32, dk)
		ks := make([]float32, (i+1)*dk)
		vs := make([]float32, (i+1)*dk)
		as := make([]float32, i+1)
		for _, c := range []struct {
			buf *Buffer
			off int
			dst []float32
		}{{q, (h*L + i) * dk, qi}, {y, (h*L + i) * dk, yi}, {k, h * L * dk, ks}, {v, h * L * dk, vs}, {a, h * L, as}} {
			if err := c.buf.ReadAt(c.off, c.dst); err != nil {
				b.Fatal(err)
			}
		}
		num := make([]float64, dk)
		den, mag, lg := 0.0, 0.0, 0.0
		for j := i; j >= 0; j-- {
			s := 0.0
			for p := 0; p < dk; p++ {
				s += float64(qi[p]) * float64(ks[j*dk+p])
			}
			s *= scale
			if order == 2 {
				s *= s
			}
			w := s * math.Exp(lg)
			den += w
			for e := 0; e < dk; e++ {
				num[e] += w * float64(vs[j*dk+e])
				mag += math.Abs(w * float64(vs[j*dk+e]))
			}
			lg += float64(as[j])
		}
		for e := 0; e < dk; e++ {
			want := num[e] / den
			if err := math.Abs(float64(yi[e])-want) / (mag/den/float64(dk) + 1e-30); !(err < 1e-3) {
				b.Fatalf("head %d row %d col %d: got %v, want %v", h, i, e, yi[e], want)
			}
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
				p := backend.SSDParams{BH: bh, L: L, D: dk, DV: dk, Order: order, Norm: true, Scale: 0.125, Form: "quadratic"}
				timeMedian(b, d, SSDFlops(p), func() error {
					_, err := d.SSD(y, q, k, v, a, p)
					return err
				})
			})
		}
	}
}

// BenchmarkAttention times causal softmax attention with the log-decay
// bias (SSD with Exp and Norm, quadratic form) at B=1, H=16, d=64; FLOPs counted: L²/2·(2d + 2d).
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
			p := backend.SSDParams{BH: bh, L: L, D: dk, DV: dk, Exp: true, Norm: true, Scale: 0.125, Form: "quadratic"}
			timeMedian(b, d, flops, func() error {
				_, err := d.SSD(y, q, k, v, a, p)
				return err
			})
		})
	}
}

// BenchmarkSSDStages times each dispatch of the fused chunked SSD (with
// glFinish between them) at B=1, H=16, d=64, softmax norm, and reports the
// median ms of each stage. With FURIOUS_GL_DUMP=dir it also writes the
// driver's binaries of the programs used into dir (dumpPrograms).
func BenchmarkSSDStages(b *testing.B) {
	d := device(b)
	defer setSSDFlags()()
	const bh, dk = 16, 64
	defer func() { ssdProfile = nil }()
	for _, c := range []struct{ order, chunk, maxL int }{{1, 64, 131072}, {2, 256, 131072}} {
		for _, L := range benchLs(d, c.maxL) {
			b.Run(fmt.Sprintf("order=%d/chunk=%d/L=%d", c.order, c.chunk, L), func(b *testing.B) {
				q, k, v, a, y := ssdInputs(b, d, L)
				defer func() {
					for _, x := range []*Buffer{q, k, v, a, y} {
						x.Release()
					}
				}()
				stages := map[string][]float64{}
				if *benchGLDebug && glDebugOn != nil {
					glDebugOn(d)
				}
				defer logGLDebug(b, d, "stages")
				p := backend.SSDParams{BH: bh, L: L, D: dk, DV: dk, Order: c.order, Norm: true, Scale: 0.125, Form: "chunked", Chunk: c.chunk}
				if err := warmUp(d, func() error { _, err := d.SSD(y, q, k, v, a, p); return err }); err != nil {
					b.Fatal(err)
				}
				for i := 0; i < b.N; i++ {
					ssdProfile = map[string]float64{}
					if _, err := d.SSD(y, q, k, v, a, p); err != nil {
						b.Fatal(err)
					}
					for s, t := range ssdProfile {
						stages[s] = append(stages[s], t)
					}
				}
				ssdProfile = nil
				for s, ts := range stages {
					b.ReportMetric(median(ts)*1e3, s+"-ms")
					if *benchAll {
						ms := make([]string, len(ts))
						for i, t := range ts {
							ms[i] = fmt.Sprintf("%.3g", t*1e3)
						}
						b.Logf("%s ms of each run: %s", s, strings.Join(ms, " "))
					}
				}
			})
		}
	}
	dumpPrograms(b, d)
}

// dumpPrograms writes the driver's binaries of the ssdf.comp and
// matmul.comp programs compiled so far into the folder FURIOUS_GL_DUMP
// names, if set (NVIDIA's hold the generated assembly as text).
func dumpPrograms(b *testing.B, d *Device) {
	dir := os.Getenv("FURIOUS_GL_DUMP")
	if dir == "" {
		return
	}
	for name, bin := range d.ProgramBinaries() {
		if strings.HasPrefix(name, "ssdf.comp") || strings.HasPrefix(name, "matmul.comp") {
			fn := strings.NewReplacer(" ", "", ";", "_", "[", "_", "]", "").Replace(name)
			if err := os.WriteFile(filepath.Join(dir, fn+".bin"), bin, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}
