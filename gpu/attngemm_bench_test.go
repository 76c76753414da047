package gpu

import (
	"fmt"
	"math"
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

// BenchmarkScoresEpilogue times the GEMM attention form's scores product
// S = scale·Q·Kᵀ (CausalOut, Kᵀ as stored) at L 2048 and 8192 (16 heads,
// d 64) with each of the forward's epilogues (matmul.comp EPI) and
// without one, in the forward's tiling (scoreTile) and in chooseTile's:
// what the epilogue costs the product, apart from the forward's other
// passes. The FLOPs counted are the causal half.
func BenchmarkScoresEpilogue(b *testing.B) {
	d := device(b)
	const H, D = 16, 64
	Ls := []int{2048, 8192}
	if d.Software() {
		Ls = []int{256}
	}
	r := rand.New(rand.NewPCG(23, 24))
	for _, L := range Ls {
		hb := min(H, (1<<28)/(L*L)) // 4 heads a pass at 8K (a 1 GiB scratch)
		q, kt := upload(b, d, randFloats(r, H*L*D)), upload(b, d, randFloats(r, H*L*D))
		cums := make([]float32, 2*H*L) // doubles: cum_i = −0.01·(i+1), as bits
		for h := 0; h < H; h++ {
			for i := 0; i < L; i++ {
				bits := math.Float64bits(-0.01 * float64(i+1))
				cums[2*(h*L+i)], cums[2*(h*L+i)+1] = math.Float32frombits(uint32(bits)), math.Float32frombits(uint32(bits>>32))
			}
		}
		cum := upload(b, d, cums)
		bnd := make([]float32, hb*L)
		for i := range bnd {
			bnd[i] = 12
		}
		bound := upload(b, d, bnd)
		S := poisoned(b, d, hb*L*L)
		epis := map[string]func() *scoreEpi{
			"none":          func() *scoreEpi { return nil },
			"order2":        func() *scoreEpi { return &scoreEpi{order: 2} },
			"order2-masked": func() *scoreEpi { return &scoreEpi{order: 2, cum: cum} },
			"expb":          func() *scoreEpi { return &scoreEpi{exp: true, bound: bound} },
			"expb-masked":   func() *scoreEpi { return &scoreEpi{exp: true, bound: bound, cum: cum} },
		}
		tiles := map[string]*sgemmTile{"score": (&attnDev{}).scoreTile(false), "choose": nil}
		for en, epi := range epis {
			for tn, tl := range tiles {
				b.Run(fmt.Sprintf("L=%d/%s/%s", L, en, tn), func(b *testing.B) {
					flops := float64(H) * float64(L) * float64(L+1) / 2 * 2 * D
					timeMedian(b, d, flops, func() error {
						for h0 := 0; h0 < H; h0 += hb {
							e := epi()
							if e != nil {
								e.h0 = h0
							}
							g := Gemm{M: L, N: L, K: D, Alpha: 0.125, A: q, B: kt, C: S, Causal: CausalOut, Batch: hb,
								OffA: h0 * L * D, OffB: h0 * L * D, StrideA: L * D, StrideB: L * D, StrideC: L * L, epi: e, tile: tl}
							if err := d.Gemm(g); err != nil {
								return err
							}
						}
						return nil
					})
				})
			}
		}
		for _, x := range []*Buffer{q, kt, cum, bound, S} {
			x.Release()
		}
	}
}
