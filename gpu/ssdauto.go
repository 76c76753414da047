package gpu

// Measured throughput of the two SSD forms on an NVIDIA H100 (gpu/BENCH.md,
// 2026-11-23, B=1, H=16, d=64, softmax norm), in TFLOP/s as counted by
// SSDFlops: the quadratic form (attention.comp) 3.2–4.3, the fused chunked
// form (ssdf.comp, whole-vec4 staging) 2.9–8.0 at order 1 (rising with L;
// 3.3–9.9 since 2026-11-23e, 2.8–12 with 2026-11-23f's OUT; the rate
// below left as it was, so the crossover stays where it was measured) and, with ssdx.comp's state
// products, 7.7 at L = 1K and 11.1, 17.8, 19.0, 19.0 at order 2 for L =
// 2K, 8K, 32K, 128K (2026-11-23e). SSDForm compares the two forms' FLOPs
// at these rates; 14 at order 2 puts the crossover near L = 1.27K, where
// the measured times cross (quadratic 0.90 ms at 1K; chunked 1.22 ms at
// 1K, 1.70 ms at 2K).
const (
	rateQuadratic = 4.0
	rateChunked1  = 6.0
	rateChunked2  = 14.0
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

// SSDFlops counts the floating-point operations of one SSD form per head:
// quadratic L²/2·(2dk + 2(dv+1)); chunked (chunk c) L·c/2·(2dk + 2(dv+1))
// within the chunks plus 4·L·F·(dv+1) for the states and their use, F = dk
// (order 1) or dk(dk+1)/2 (order 2). The ones column of the softmax norm
// is counted in both.
func SSDFlops(form string, L, dk, dv, chunk, order int) float64 {
	pair := float64(2*dk + 2*(dv+1))
	if form == "quadratic" {
		return float64(L) * float64(L) / 2 * pair
	}
	nf := dk
	if order == 2 {
		nf = FeatureMapDim(dk)
	}
	return float64(L)*float64(min(chunk, L))/2*pair + 4*float64(L)*float64(nf)*float64(dv+1)
}

// SSDForm chooses between the quadratic and the chunked form of SSD for a
// shape: the one with the smaller time estimated as FLOPs over the form's
// measured rate. It returns "quadratic" or "chunked" and the chunk length
// the chunked form uses. On the H100 the crossover falls near L = 1.3K at
// order 2 (quadratic below) and near L = 260 at order 1.
func SSDForm(L, dk, dv, order int) (form string, chunk int) {
	chunk = SSDChunk(order)
	rc := rateChunked1
	if order == 2 {
		rc = rateChunked2
	}
	if SSDFlops("quadratic", L, dk, dv, chunk, order)/rateQuadratic <= SSDFlops("chunked", L, dk, dv, chunk, order)/rc {
		return "quadratic", chunk
	}
	return "chunked", chunk
}

// SSDAuto computes SSD (same arguments and result as SSD, without the
// chunk) in the form SSDForm chooses for the shape, and returns that
// form's name.
func (d *Device) SSDAuto(y, q, k, v, a *Buffer, bh, L, dk, dv, order int, scale float32, norm bool) (string, error) {
	form, chunk := SSDForm(L, dk, dv, order)
	if form == "quadratic" {
		return form, d.Quadratic(y, q, k, v, a, bh, L, dk, dv, order, scale, norm)
	}
	return form, d.SSD(y, q, k, v, a, bh, L, dk, dv, chunk, order, scale, norm)
}
