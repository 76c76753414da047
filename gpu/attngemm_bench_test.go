package gpu

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkAttnGemmShapes times the GEMM attention form's two forward
// products at L 2048 and 8192 (16 heads, d 64) under candidate tilings,
// with A's slices kept as stored (AKM) and transposed: S = Q·Kᵀ
// (CausalOut) as stored, and with Kᵀ stored (d × L, B as stored: "NN"),
// and y = W·V (CausalA). The FLOPs counted are the causal half.
func BenchmarkAttnGemmShapes(b *testing.B) {
	d := device(b)
	defer func() { sgemmTiling, sgemmAKM = nil, nil }()
	const H, D = 16, 64
	Ls := []int{2048, 8192}
	if d.Software() {
		Ls = []int{256}
	}
	tilings := map[string]*sgemmTile{
		"auto":         nil,
		"128x128-t8x8": {128, 128, 8, 8, 8, 8},
		"128x64-t8x4":  {128, 64, 16, 8, 4, 8},
		"128x64-t8x8":  {128, 64, 16, 8, 8, 8},
		"64x64-t8x4":   {64, 64, 16, 8, 4, 8},
		"64x64-t4x4":   {64, 64, 16, 4, 4, 8},
	}
	r := rand.New(rand.NewPCG(21, 22))
	for _, L := range Ls {
		hb := min(H, (1<<28)/(L*L))
		q, k := upload(b, d, randFloats(r, H*L*D)), upload(b, d, randFloats(r, H*L*D))
		S := poisoned(b, d, hb*L*L)
		y := poisoned(b, d, H*L*D)
		shapes := map[string]Gemm{
			"S=QKt":    {M: L, N: L, K: D, Alpha: 0.125, TransB: true, A: q, B: k, C: S, Causal: CausalOut, StrideA: L * D, StrideB: L * D, StrideC: L * L},
			"S=QKt-NN": {M: L, N: L, K: D, Alpha: 0.125, A: q, B: k, C: S, Causal: CausalOut, StrideA: L * D, StrideB: L * D, StrideC: L * L},
			"y=WV":     {M: L, N: D, K: L, Alpha: 1, A: S, B: k, C: y, Causal: CausalA, StrideA: L * L, StrideB: L * D, StrideC: L * D},
		}
		for sn, g := range shapes {
			for tn, tl := range tilings {
				if tl != nil && !tl.valid(true) {
					continue
				}
				for _, akm := range []bool{false, true} {
					b.Run(fmt.Sprintf("L=%d/%s/%s/akm=%v", L, sn, tn, akm), func(b *testing.B) {
						sgemmTiling, sgemmAKM = tl, &akm
						flops := float64(H) * float64(L) * float64(L+1) / 2 * 2 * D
						timeMedian(b, d, flops, func() error {
							for h0 := 0; h0 < H; h0 += hb {
								g := g
								g.Batch = hb
								g.OffA, g.OffB, g.OffC = 0, 0, 0
								if g.A != S {
									g.OffA = h0 * L * D
								}
								g.OffB = h0 * L * D
								if g.C != S {
									g.OffC = h0 * L * D
								}
								if err := d.Gemm(g); err != nil {
									return err
								}
							}
							return nil
						})
					})
				}
			}
		}
		for _, x := range []*Buffer{q, k, S, y} {
			x.Release()
		}
	}
}

// BenchmarkFMARate measures the device's multiply-add rate in float32
// (vec2 chains) and, where it offers half floats, f16vec2 chains: 8
// independent chains a thread, 4096 iterations, 1024 groups of 256
// threads. Packed half arithmetic would show twice the float32 rate.
func BenchmarkFMARate(b *testing.B) {
	d := device(b)
	const groups, iters = 1024, 4096
	out := poisoned(b, d, groups*256)
	defer out.Release()
	for _, half := range []bool{false, true} {
		if half && !d.Half() {
			continue
		}
		b.Run(fmt.Sprintf("half=%v", half), func(b *testing.B) {
			defs := []string{}
			if half {
				defs = append(defs, "HALF", d.halfDefine())
			}
			p, err := d.program("fmarate", fmaRateSrc, defs...)
			if err != nil {
				b.Fatal(err)
			}
			flops := float64(groups) * 256 * iters * 8 * 2 * 2
			timeMedian(b, d, flops, func() error {
				return d.run(p, [3]int{groups, 1, 1}, []*Buffer{out}, iarg("iters", iters), farg("seed", 0.5))
			})
		})
	}
}

const fmaRateSrc = `#version 430
#ifdef HALF_NV
#extension GL_NV_gpu_shader5 : require
#elif defined(HALF_AMD)
#extension GL_AMD_gpu_shader_half_float : require
#endif
#ifdef HALF
#define T f16vec2
#else
#define T vec2
#endif
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer B { float o[]; };
uniform int iters;
uniform float seed;
void main() {
	float s0 = seed + float(gl_LocalInvocationIndex) * 1e-3;
	T a0 = T(s0), a1 = T(s0 * 0.5), a2 = T(s0 * 0.25), a3 = T(s0 * 0.125);
	T a4 = T(s0 * 0.7), a5 = T(s0 * 0.3), a6 = T(s0 * 0.2), a7 = T(s0 * 0.1);
	T m = T(0.999), c = T(0.001);
	for (int i = 0; i < iters; i++) {
		a0 = a0 * m + c; a1 = a1 * m + c; a2 = a2 * m + c; a3 = a3 * m + c;
		a4 = a4 * m + c; a5 = a5 * m + c; a6 = a6 * m + c; a7 = a7 * m + c;
	}
	T s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
	o[gl_GlobalInvocationID.x] = float(s.x) + float(s.y);
}
`
