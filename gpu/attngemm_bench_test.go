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
