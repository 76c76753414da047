#version 430
// Causal attention with an optional log-decay bias, one pass over the keys:
//   y_i = Σ_{j≤i} f(s_ij)·exp(b_ij)·v_j  [÷ Σ_{j≤i} f(s_ij)·exp(b_ij) under NORM]
//   s_ij = scale·q_i·k_j,  b_ij = Σ_{u=j+1}^{i} a_u  (HAS_BIAS; else 0)
// f(s) = exp(s) with an online softmax (running maximum m_i; NORM implied:
// the Forgetting Transformer / 2Mamba-E form), or under POW1 / POW2 f(s) = s
// or s² (the quadratic form of SSD of order 1 / 2, 2Mamba).
// q, k (BH, L, DK), v, y (BH, L, DV), a (BH, L). One work group of B threads
// per (head, block of B queries), one query per thread; key blocks of B are
// staged in shared memory and visited from the diagonal block backwards, so
// that b_ij is built from within-block cumulative sums and a running sum of
// whole blocks, never as a difference of one long float32 cumulative sum.
// Defines: B, DK, DV, optional HAS_BIAS, POW1 or POW2, NORM.
layout(local_size_x = B) in;
layout(std430, binding = 0) readonly buffer BufQ { float q[]; };
layout(std430, binding = 1) readonly buffer BufK { float k[]; };
layout(std430, binding = 2) readonly buffer BufV { float v[]; };
layout(std430, binding = 3) readonly buffer BufA { float a[]; };
layout(std430, binding = 4) writeonly buffer BufY { float y[]; };
uniform int BH, L;
uniform float scale;

shared float ks[B][DK];
shared float vs[B][DV];
shared float kl[B];  // Σ a from the key block's start to each key, inclusive
shared float ktot;   // Σ a over the whole key block

// localSum is Σ_{u=start}^{t} a[h, u].
float localSum(int h, int start, int t) {
	float s = 0.0;
#ifdef HAS_BIAS
	for (int u = start; u <= t; u++) s += a[h * L + u];
#endif
	return s;
}

void main() {
	int nb = (L + B - 1) / B;
	int g = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x);
	if (g >= BH * nb) return; // uniform over the group
	int h = g / nb, bi = g % nb;
	int t = int(gl_LocalInvocationIndex);
	int i = bi * B + t;
	bool valid = i < L;

	float qi[DK];
	for (int c = 0; c < DK; c++) qi[c] = valid ? scale * q[(h * L + i) * DK + c] : 0.0;
	float cli = valid ? localSum(h, bi * B, i) : 0.0;
	float acc[DV];
	for (int c = 0; c < DV; c++) acc[c] = 0.0;
	float m = uintBitsToFloat(0xff800000u), l = 0.0;
	float R = 0.0; // Σ a over the whole blocks strictly between key block and query block

	for (int bj = bi; bj >= 0; bj--) {
		int j = bj * B + t;
		bool kin = j < L;
		for (int c = 0; c < DK; c++) ks[t][c] = kin ? k[(h * L + j) * DK + c] : 0.0;
		for (int c = 0; c < DV; c++) vs[t][c] = kin ? v[(h * L + j) * DV + c] : 0.0;
		float cl = kin ? localSum(h, bj * B, j) : 0.0;
		kl[t] = cl;
		if (j == min(bj * B + B, L) - 1) ktot = cl;
		barrier();
		if (valid) {
			int jn = (bj == bi) ? t + 1 : min(B, L - bj * B);
			for (int jj = 0; jj < jn; jj++) {
				float s = 0.0;
				for (int c = 0; c < DK; c++) s += qi[c] * ks[jj][c];
				float b = 0.0;
#ifdef HAS_BIAS
				b = (bj == bi) ? cli - kl[jj] : cli + R + (ktot - kl[jj]);
#endif
#if defined(POW1) || defined(POW2)
#ifdef POW2
				s *= s;
#endif
				float p = s * exp(b);
				l += p;
				for (int c = 0; c < DV; c++) acc[c] += p * vs[jj][c];
#else
				s += b;
				float mn = max(m, s);
				float corr = exp(m - mn), p = exp(s - mn);
				l = l * corr + p;
				for (int c = 0; c < DV; c++) acc[c] = acc[c] * corr + p * vs[jj][c];
				m = mn;
#endif
			}
		}
		if (bj < bi) R += ktot;
		barrier();
	}
	if (valid)
		for (int c = 0; c < DV; c++) {
#if defined(POW1) || defined(POW2)
#ifdef NORM
			y[(h * L + i) * DV + c] = l != 0.0 ? acc[c] / l : 0.0;
#else
			y[(h * L + i) * DV + c] = acc[c];
#endif
#else
			y[(h * L + i) * DV + c] = acc[c] / l;
#endif
		}
}
