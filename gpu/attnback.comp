#version 430
// The elementwise and reduction steps of nn's quadratic attention, forward
// and backward, around the GEMMs that attnback.go runs with matmul.comp.
// Per (batch, head) slice h of nb heads handled by one dispatch, with
// rows r = h·L + i, S_r the row i of the head's L×L score matrix:
//
//   ACS:    acs[h, t] = Σ_{u ≤ t} a[h, u] in float64, one thread per head,
//           so that seg_ij = acs_i − acs_j = Σ_{u=j+1}^{i} a_u keeps ~1e-16
//           relative accuracy (a float32 cumulative sum would lose ~1e-4).
//   PROB:   s_ij = S[r, j] (already c·q_i·k_j), p_ij = f(s_ij)·exp(seg_ij), j ≤ i,
//           f(s) = s (ORDER1), s² (ORDER2), eˢ (EXP: with NORM the row maximum
//           of s_ij + seg_ij is subtracted first); W[r, j] = p_ij / Σ_j p_ij
//           (NORM) or p_ij, 0 for j > i; inv[r] = 1/Σ_j p_ij (NORM; 0 when the
//           sum is exactly 0, whose row is then 0) or 1.
//   DS:     G[r, j] = (dO Vᵀ)_ij in, R = Σ_j W_ij G_ij (NORM; else 0),
//           G'_ij = G_ij − R, dl_ij = G'_ij·W_ij (the gradient w.r.t. log AM_ij);
//           dS_ij = G'_ij·f'(s_ij)·exp(seg_ij)·inv_i (ORDER1, ORDER2) or dl_ij (EXP);
//           G[r, j] ← dS_ij, S[r, j] ← dl_ij (0 for j > i), dan[headOff·L + r] = Σ_j dl_ij.
//   COLSUM: dam[headOff + h, j] = −Σ_{i ≥ j} DL[h, i, j], one thread per (head, column).
// PROB and DS run one work group of 256 threads per row; the exponents are
// ≤ 0 for a ≤ 0 (except EXP without NORM, which the caller checks for
// overflow). Defines: one of ACS, PROB, DS, COLSUM; for PROB and DS one of
// ORDER1, ORDER2, EXP, optional NORM and MASKED.
#if defined(ACS) || defined(COLSUM)
layout(local_size_x = 64) in;
#else
layout(local_size_x = 256) in;
#endif
uniform int rows, L, headOff; // rows = nb·L (or nb for ACS, nb·L columns for COLSUM); headOff: first head of acs

#ifdef ACS
layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) writeonly buffer BufC { double acs[]; };
void main() {
	int h = int(gl_GlobalInvocationID.x);
	if (h >= rows) return;
	double s = 0.0;
	for (int t = 0; t < L; t++) {
		s += double(a[h * L + t]);
		acs[h * L + t] = s;
	}
}
#endif

#ifdef COLSUM
layout(std430, binding = 0) readonly buffer BufD { float dl[]; };
layout(std430, binding = 1) writeonly buffer BufM { float dam[]; };
void main() {
	int g = int(gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x + gl_GlobalInvocationID.x);
	if (g >= rows) return;
	int h = g / L, j = g % L;
	int base = h * L * L + j;
	float s = 0.0;
	for (int i = j; i < L; i++) s += dl[base + i * L];
	dam[headOff * L + g] = -s;
}
#endif

#if defined(PROB) || defined(DS)
layout(std430, binding = 0) buffer BufS { float S[]; };
layout(std430, binding = 1) buffer BufW { float W[]; };
layout(std430, binding = 2) readonly buffer BufC { double acs[]; };
layout(std430, binding = 3) buffer BufI { float inv[]; };
#ifdef DS
layout(std430, binding = 4) buffer BufG { float G[]; };
layout(std430, binding = 5) writeonly buffer BufN { float dan[]; };
#endif
shared float part[256];

// rsum and rmax return Σ and max of x over the work group.
float rsum(float x) {
	int t = int(gl_LocalInvocationIndex);
	barrier();
	part[t] = x;
	barrier();
	for (int s = 128; s > 0; s >>= 1) {
		if (t < s) part[t] += part[t + s];
		barrier();
	}
	return part[0];
}

float rmax(float x) {
	int t = int(gl_LocalInvocationIndex);
	barrier();
	part[t] = x;
	barrier();
	for (int s = 128; s > 0; s >>= 1) {
		if (t < s) part[t] = max(part[t], part[t + s]);
		barrier();
	}
	return part[0];
}

// seg is log AM_ij = Σ_{u=j+1}^{i} a_u of head h (0 without a mask).
float seg(int h, int i, int j) {
#ifdef MASKED
	return float(acs[(headOff + h) * L + i] - acs[(headOff + h) * L + j]);
#else
	return 0.0;
#endif
}

void main() {
	int r = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x);
	if (r >= rows) return; // uniform over the group
	int h = r / L, i = r % L;
	int t = int(gl_LocalInvocationIndex);
	int base = r * L;
#ifdef PROB
	float off = 0.0;
#if defined(EXP) && defined(NORM)
	float m = uintBitsToFloat(0xff800000u); // −∞
	for (int j = t; j <= i; j += 256) m = max(m, S[base + j] + seg(h, i, j));
	off = rmax(m);
#endif
	float sum = 0.0;
	for (int j = t; j < L; j += 256) {
		float p = 0.0;
		if (j <= i) {
			float s = S[base + j];
#if defined(ORDER1)
			p = s * exp(seg(h, i, j));
#elif defined(ORDER2)
			p = s * s * exp(seg(h, i, j));
#else
			p = exp(s + seg(h, i, j) - off);
#endif
		}
		W[base + j] = p;
		sum += p;
	}
#ifdef NORM
	sum = rsum(sum);
	float iv = sum == 0.0 ? 0.0 : 1.0 / sum;
	for (int j = t; j <= i; j += 256) W[base + j] = sum == 0.0 ? 0.0 : W[base + j] / sum;
	if (t == 0) inv[r] = iv;
#else
	if (t == 0) inv[r] = 1.0;
#endif
#endif // PROB

#ifdef DS
	float R = 0.0;
#ifdef NORM
	float part0 = 0.0;
	for (int j = t; j <= i; j += 256) part0 += W[base + j] * G[base + j];
	R = rsum(part0);
#endif
	float iv = inv[r];
	float dan0 = 0.0;
	for (int j = t; j < L; j += 256) {
		float ds = 0.0, dl = 0.0;
		if (j <= i) {
			float gt = G[base + j] - R;
			dl = gt * W[base + j];
#if defined(ORDER1)
			ds = gt * exp(seg(h, i, j)) * iv;
#elif defined(ORDER2)
			ds = gt * 2.0 * S[base + j] * exp(seg(h, i, j)) * iv;
#else
			ds = dl;
#endif
		}
		G[base + j] = ds;
		S[base + j] = dl;
		dan0 += dl;
	}
#ifdef MASKED
	float dn = rsum(dan0);
	if (t == 0) dan[headOff * L + r] = dn;
#endif
#endif // DS
}
#endif
