package gpu

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/furious-lab/furious/backend"
)

// ssdxVariants are the tilings BenchmarkSSDX compares: OUTX and STATEX
// (ssdx.comp) off (the ssdf.comp paths) or in a tiling; ssdxConfig{} is off.
var ssdxVariants = []struct {
	name     string
	out, sta ssdxConfig
	nodenb   bool // DENB off
}{
	{"base", ssdxConfig{}, ssdxConfig{}, false},
	{"oxsx", ssdxConfig{128, 4, 1, 8}, ssdxConfig{128, 4, 1, 8}, false},
	{"oxsx-nodenb", ssdxConfig{128, 4, 1, 8}, ssdxConfig{128, 4, 1, 8}, true},
	{"ox64t4x4+sx", ssdxConfig{64, 4, 1, 8}, ssdxConfig{128, 4, 1, 8}, false},
	{"ox128t4x4k4+sx", ssdxConfig{128, 4, 1, 4}, ssdxConfig{128, 4, 1, 8}, false},
	{"ox+sx256t4x4", ssdxConfig{128, 4, 1, 8}, ssdxConfig{256, 4, 1, 8}, false},
	{"ox+sx64t4x4", ssdxConfig{128, 4, 1, 8}, ssdxConfig{64, 4, 1, 8}, false},
	{"ox+sx128t4x4k4", ssdxConfig{128, 4, 1, 8}, ssdxConfig{128, 4, 1, 4}, false},
}

var benchXOut = flag.String("ssdx.out", "", "OUTX's tiling in the SSD benchmarks: rx,tm,tnv,ks, or off (default: the code's)")
var benchXState = flag.String("ssdx.state", "", "STATEX's tiling in the SSD benchmarks: rx,tm,tnv,ks, or off (default: the code's)")

// parseSSDX reads a tiling flag: "" keeps def, "off" is the zero tiling.
func parseSSDX(s string, def ssdxConfig) ssdxConfig {
	if s == "" {
		return def
	}
	if s == "off" {
		return ssdxConfig{}
	}
	var c ssdxConfig
	if _, err := fmt.Sscanf(s, "%d,%d,%d,%d", &c.rx, &c.tm, &c.tnv, &c.ks); err != nil {
		panic("-ssdx tiling " + s + ": " + err.Error())
	}
	return c
}

// setSSDXFlags sets OUTX's and STATEX's tilings from -ssdx.out and
// -ssdx.state and returns the function that restores them.
func setSSDXFlags() (restore func()) {
	o, s := ssdOutXCfg, ssdStateXCfg
	ssdOutXCfg, ssdStateXCfg = parseSSDX(*benchXOut, o), parseSSDX(*benchXState, s)
	return func() { ssdOutXCfg, ssdStateXCfg = o, s }
}

// BenchmarkSSDX times order-2 chunked SSD (B=1, H=16, d=64, softmax norm,
// softplus decays) with each of ssdxVariants at chunks 256 and 512: the
// median total (ms/median, TFLOP/s as counted by SSDFlops) and, over as
// many more calls with a glFinish after each dispatch, each stage's median
// (STATE or STATEX, SCAN, OUTX, OUT, cumsum). Every timed result is
// checked at 3 rows against float64 prefix sums.
func BenchmarkSSDX(b *testing.B) {
	d := device(b)
	defer setSSDFlags()()
	const bh, dk = 16, 64
	defer func(o, s ssdxConfig) { ssdOutXCfg, ssdStateXCfg, ssdxDenB, ssdProfile = o, s, true, nil }(ssdOutXCfg, ssdStateXCfg)
	for _, vr := range ssdxVariants {
		for _, chunk := range []int{256, 512} {
			for _, L := range benchLs(d, 131072) {
				b.Run(fmt.Sprintf("v=%s/chunk=%d/L=%d", vr.name, chunk, L), func(b *testing.B) {
					ssdOutXCfg, ssdStateXCfg, ssdxDenB = vr.out, vr.sta, !vr.nodenb
					q, k, v, a, y := ssdInputs(b, d, L)
					defer func() {
						for _, x := range []*Buffer{q, k, v, a, y} {
							x.Release()
						}
					}()
					p := backend.SSDParams{BH: bh, L: L, D: dk, DV: dk, Order: 2, Norm: true, Scale: 0.125, Form: "chunked", Chunk: chunk}
					call := func() error { _, err := d.SSD(y, q, k, v, a, p); return err }
					timeMedian(b, d, SSDFlops(p), call)
					checkSSDSample(b, d, q, k, v, a, y, bh, L, dk, 2, 0.125)
					stages := map[string][]float64{}
					for i := 0; i < b.N; i++ {
						ssdProfile = map[string]float64{}
						if err := call(); err != nil {
							b.Fatal(err)
						}
						for s, t := range ssdProfile {
							stages[s] = append(stages[s], t)
						}
					}
					ssdProfile = nil
					var names []string
					for s, ts := range stages {
						b.ReportMetric(median(ts)*1e3, s+"-ms")
						names = append(names, s)
					}
					if len(names) == 0 {
						b.Fatal("no stage timed")
					}
					if *benchAll {
						b.Logf("stages: %s", strings.Join(names, " "))
					}
				})
			}
		}
	}
}
