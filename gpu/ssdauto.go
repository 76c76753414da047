package gpu

import "github.com/furious-lab/furious/backend"

// Measured throughput of the two SSD forms on an NVIDIA H100 (gpu/BENCH.md,
// 2026-11-23, B=1, H=16, d=64, softmax norm), in TFLOP/s as counted by
// SSDFlops: the quadratic form (attention.comp then; attndev.comp's forward, which
// replaced it, ran 5.5 at 64 heads × L 1K on 2026-12-06) 3.2–4.3, the fused chunked
// form (ssdf.comp, whole-vec4 staging) 2.9–8.0 at order 1 (rising with L;
// 3.3–9.9 since 2026-11-23e, 2.8–12 with 2026-11-23f's OUT; the rate
// below left as it was, so the crossover stays where it was measured) and, with ssdx.comp's state
// products, 7.7 at L = 1K and 11.1, 17.8, 19.0, 19.0 at order 2 for L =
// 2K, 8K, 32K, 128K (2026-11-23e). SSDForm compares the two forms' FLOPs
// at these rates; 14 at order 2 put the crossover near L = 1.27K against
// attention.comp, where the measured times crossed (quadratic 0.90 ms at 1K;
// chunked 1.22 ms at 1K, 1.70 ms at 2K).
// Since 2026-12-06 the quadratic form runs through SGEMM from
// attnGemmMinL to attnGemmMaxL (attngemm.go): 10.2 TFLOP/s as counted here
// at order 2 with the norm and decay, at L 2K and 8K (forward 0.85 and
// 13.6 ms, 16 heads; gpu/BENCH.md, session 8), rateQuadraticGemm, which
// moves the order-2 crossover to about L = 3.2K. The forward has got
// faster since (2mamba 0.47 ms at 2K, 6.6 at 8K, session 12; the chunked
// form 1.28 and 3.9): the crossover lies between 2K and 8K either way, and
// the rate is left at 10 until a length between them is measured.
const (
	rateQuadratic     = 4.0
	rateQuadraticGemm = 10.0
	rateChunked1      = 6.0
	rateChunked2      = 14.0
)

// SSDChunk is the chunk length the automatic choice uses: 64 positions at
// order 1, 256 at order 2 (whose states are 33 times larger, so fewer
// chunks move fewer bytes).
func SSDChunk(order int) int {
	if order == 2 {
		return 256
	}
	return 64
}

// SSDFlops counts the floating-point operations of the SSD call p in the
// form p.Form ("auto": the form and chunk SSDForm picks), over its BH heads.
// Per head: quadratic L²/2·(2D + 2(DV+1)); chunked (chunk c = p.Chunk)
// L·c/2·(2D + 2(DV+1)) within the chunks plus 4·L·F·(DV+1) for the states
// and their use, F = D (order 1) or D(D+1)/2 (order 2). The ones column of
// the softmax norm is counted in both, and eˢ (Exp) as one operation.
func SSDFlops(p backend.SSDParams) float64 {
	if p.Form == "auto" {
		p.Form, p.Chunk = SSDForm(p)
	}
	return float64(p.BH) * headFlops(p)
}

// headFlops is SSDFlops for one head, in the form p.Form.
func headFlops(p backend.SSDParams) float64 {
	L := float64(p.L)
	pair := float64(2*p.D + 2*(p.DV+1))
	if p.Form == "quadratic" {
		return L * L / 2 * pair
	}
	nf := p.D
	if p.Order == 2 {
		nf = FeatureMapDim(p.D)
	}
	return L*float64(min(p.Chunk, p.L))/2*pair + 4*L*float64(nf)*float64(p.DV+1)
}

// SSDForm chooses between the quadratic and the chunked form of SSD for the
// shape of p (L, D, DV, Order; p.Form and p.Chunk are not read): the one
// with the smaller time estimated as FLOPs over the form's measured rate.
// It returns "quadratic" or "chunked" and the chunk length the chunked form
// uses. Exp has only the quadratic form. On the H100 the crossover falls
// near L = 3.2K at order 2 (quadratic below) and near L = 260 at order 1.
func SSDForm(p backend.SSDParams) (form string, chunk int) {
	chunk = SSDChunk(p.Order)
	if p.Exp {
		return "quadratic", chunk
	}
	rc := rateChunked1
	if p.Order == 2 {
		rc = rateChunked2
	}
	rq := rateQuadratic
	if p.L >= attnGemmMinL && p.L <= attnGemmMaxL {
		rq = rateQuadraticGemm
	}
	p.Chunk = chunk
	q, c := p, p
	q.Form, c.Form = "quadratic", "chunked"
	if headFlops(q)/rq <= headFlops(c)/rc {
		return "quadratic", chunk
	}
	return "chunked", chunk
}
