#version 430
// Chunked SSD of order 1 (linear attention with a decay mask), per head h,
// chunks of CH positions, within-chunk cumulative log-decays cs (ChunkCumsum):
//   y_i = Σ_{j≤i} s_ij·exp(Σ_{u=j+1}^{i} a_u)·v_j   (÷ the same sum with v = 1 under NORM)
//   s_ij = scale·q_i·k_j
// in three stages, one of STATES, PASS, OUTPUT defined:
//   STATES: T_c[p][e] = Σ_{j∈c} exp(cs_last − cs_j)·k_jp·v_je          (BH, nch, DK, DVE)
//   PASS:   S_0 = 0, S_{c+1} = exp(cs_last(c))·S_c + T_c; writes S_c     (BH, nch, DK, DVE)
//   OUTPUT: y_i = Σ_{j∈c, j≤i} s_ij·exp(cs_i − cs_j)·v_j + exp(cs_i)·scale·q_iᵀS_c
// DVE = DV + 1 under NORM (a ones column appended to v gives the
// denominator; a zero denominator gives y = 0), else DV.
// q, k (BH, L, DK), v, y (BH, L, DV), cs (BH, L).
#ifdef OUTPUT
layout(local_size_x = CH) in;
#else
layout(local_size_x = 256) in;
#endif
layout(std430, binding = 0) readonly buffer BufQ { float q[]; };
layout(std430, binding = 1) readonly buffer BufK { float k[]; };
layout(std430, binding = 2) readonly buffer BufV { float v[]; };
layout(std430, binding = 3) readonly buffer BufC { float cs[]; };
layout(std430, binding = 4) buffer BufT { float T[]; };  // chunk states T_c
layout(std430, binding = 5) buffer BufS { float S[]; };  // states entering each chunk
layout(std430, binding = 6) writeonly buffer BufY { float y[]; };
uniform int BH, L, nch;
uniform float scale;

#ifdef NORM
#define DVE (DV + 1)
#else
#define DVE DV
#endif

// vv is v_je, with the ones column e = DV under NORM.
float vv(int h, int j, int e) {
#ifdef NORM
	if (e == DV) return 1.0;
#endif
	return v[(h * L + j) * DV + e];
}

int groupIndex() { return int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x); }

void main() {
#if defined(STATES)
	int g = groupIndex();
	if (g >= BH * nch) return;
	int h = g / nch, c = g % nch;
	int j0 = c * CH, j1 = min(j0 + CH, L);
	float last = cs[h * L + j1 - 1];
	for (int idx = int(gl_LocalInvocationIndex); idx < DK * DVE; idx += 256) {
		int p = idx / DVE, e = idx % DVE;
		float acc = 0.0;
		for (int j = j0; j < j1; j++)
			acc += exp(last - cs[h * L + j]) * k[(h * L + j) * DK + p] * vv(h, j, e);
		T[g * DK * DVE + idx] = acc;
	}
#elif defined(PASS)
	int stride = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
	for (int x = int(gl_GlobalInvocationID.x); x < BH * DK * DVE; x += stride) {
		int h = x / (DK * DVE), idx = x % (DK * DVE);
		float s = 0.0;
		for (int c = 0; c < nch; c++) {
			int o = (h * nch + c) * DK * DVE + idx;
			S[o] = s;
			int last = min(c * CH + CH, L) - 1;
			s = exp(cs[h * L + last]) * s + T[o];
		}
	}
#elif defined(OUTPUT)
	int g = groupIndex();
	if (g >= BH * nch) return;
	int h = g / nch, c = g % nch;
	int i = c * CH + int(gl_LocalInvocationIndex);
	if (i >= L) return;
	float acc[DVE];
	for (int e = 0; e < DVE; e++) acc[e] = 0.0;
	float csi = cs[h * L + i];
	for (int j = c * CH; j <= i; j++) {
		float s = 0.0;
		for (int p = 0; p < DK; p++) s += q[(h * L + i) * DK + p] * k[(h * L + j) * DK + p];
		float w = scale * s * exp(csi - cs[h * L + j]);
		for (int e = 0; e < DVE; e++) acc[e] += w * vv(h, j, e);
	}
	float f = exp(csi) * scale;
	int so = g * DK * DVE;
	for (int p = 0; p < DK; p++) {
		float qp = f * q[(h * L + i) * DK + p];
		for (int e = 0; e < DVE; e++) acc[e] += qp * S[so + p * DVE + e];
	}
	for (int e = 0; e < DV; e++) {
#ifdef NORM
		y[(h * L + i) * DV + e] = acc[DV] != 0.0 ? acc[e] / acc[DV] : 0.0;
#else
		y[(h * L + i) * DV + e] = acc[e];
#endif
	}
#endif
}
