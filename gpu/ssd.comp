#version 430
// Chunked SSD of order 1 or 2 (ORDER2) with a decay mask, per head h, chunks
// of CH positions, within-chunk cumulative log-decays cs (ChunkCumsum):
//   y_i = Σ_{j≤i} f(s_ij)·exp(Σ_{u=j+1}^{i} a_u)·v_j   (÷ the same sum with v = 1 under NORM)
//   s_ij = scale·q_i·k_j,  f(s) = s (order 1) or s² (order 2)
// with features φ(q) = scale·q, φ(k) = k (order 1) or φ(q) = φ₂(q),
// φ(k) = φ₂(scale·k), the symmetric Kronecker map of FeatureMap2, so that
// φ(q_i)·φ(k_j) = f(s_ij); F = DK or DK(DK+1)/2 features. Four stages, one
// of STATES, PASS, INTER, OUTPUT defined:
//   STATES: T_c[p][e] = Σ_{j∈c} exp(cs_last − cs_j)·φ(k_j)_p·v_je       (heads, nch, F, DVE)
//   PASS:   S_0 = 0, S_{c+1} = exp(cs_last(c))·S_c + T_c; writes S_c     (heads, nch, F, DVE)
//   INTER:  Z_ie = exp(cs_i)·φ(q_i)ᵀS_c[:, e]                           (BH, L, DVE)
//   OUTPUT: y_i = Z_i + Σ_{j∈c, j≤i} f(s_ij)·exp(cs_i − cs_j)·v_j, then ÷ under NORM
// (inside a chunk f(s) is computed from the d-dimensional dot product).
// Every invocation's loops stay short (Mesa's llvmpipe stops a shader
// invocation's loops after 65535 iterations in all): one output per thread.
// DVE = DV + 1 under NORM (a ones column appended to v gives the
// denominator; a zero denominator gives y = 0), else DV.
// q, k (BH, L, DK), v, y (BH, L, DV), cs (BH, L).
#if defined(OUTPUT)
layout(local_size_x = CH) in;
#elif defined(INTER)
layout(local_size_x = ELS) in; // DVE rounded up to a multiple of 32
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
layout(std430, binding = 7) buffer BufZ { float Z[]; };  // inter-chunk part of y
uniform int BH, H0, L, nch; // BH heads from head H0 in this dispatch; T and S hold only those
uniform float scale;
#ifdef STATES
shared float wj[CH]; // exp(cs_last − cs_j) over the chunk
#endif

#ifdef NORM
#define DVE (DV + 1)
#else
#define DVE DV
#endif
#ifdef ORDER2
#define F (DK * (DK + 1) / 2)
#else
#define F DK
#endif

// pairOf maps feature p to (a, b), a ≤ b, row-major over the upper triangle.
ivec2 pairOf(int p) {
	float n = float(2 * DK + 1);
	int a = int(floor((n - sqrt(n * n - 8.0 * float(p))) * 0.5));
	a = clamp(a, 0, DK - 1);
	while (a > 0 && a * DK - a * (a - 1) / 2 > p) a--;
	while (a + 1 < DK && (a + 1) * DK - (a + 1) * a / 2 <= p) a++;
	return ivec2(a, p - (a * DK - a * (a - 1) / 2) + a);
}

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
	// x: a tile of 256 (p, e) entries; y: (h, c)
	int g = int(gl_WorkGroupID.y);
	if (g >= BH * nch) return; // uniform over the group
	int t = int(gl_LocalInvocationIndex);
	int idx = int(gl_WorkGroupID.x) * 256 + t;
	int h = H0 + g / nch, c = g % nch;
	int j0 = c * CH, j1 = min(j0 + CH, L);
	float last = cs[h * L + j1 - 1];
	for (int j = t; j < j1 - j0; j += 256) wj[j] = exp(last - cs[h * L + j0 + j]);
	barrier();
	if (idx >= F * DVE) return;
	int p = idx / DVE, e = idx % DVE;
#ifdef ORDER2
	ivec2 ab = pairOf(p); // φ(scale·k)_p = coef·k_a·k_b
	float coef = (ab.x == ab.y ? 1.0 : 1.4142135623730951) * scale * scale;
#endif
	float acc = 0.0;
	for (int j = j0; j < j1; j++) {
		int o = (h * L + j) * DK;
#ifdef ORDER2
		float kf = coef * k[o + ab.x] * k[o + ab.y];
#else
		float kf = k[o + p];
#endif
		acc += wj[j - j0] * kf * vv(h, j, e);
	}
	T[g * F * DVE + idx] = acc;
#elif defined(PASS)
	int x = int(gl_WorkGroupID.x) * 256 + int(gl_LocalInvocationIndex);
	if (x >= BH * F * DVE) return;
	int hl = x / (F * DVE), idx = x % (F * DVE), h = H0 + hl;
	float s = 0.0;
	for (int c = 0; c < nch; c++) {
		int o = (hl * nch + c) * F * DVE + idx;
		S[o] = s;
		int last = min(c * CH + CH, L) - 1;
		s = exp(cs[h * L + last]) * s + T[o];
	}
#elif defined(INTER)
	// one work group per (h, i); one thread per e (ELS ≥ DVE threads)
	int r = groupIndex();
	int e = int(gl_LocalInvocationIndex);
	if (r >= BH * L || e >= DVE) return;
	int hl = r / L, i = r % L, h = H0 + hl;
	int so = (hl * nch + i / CH) * F * DVE + e;
	int o = (h * L + i) * DK;
	float acc = 0.0;
#ifdef ORDER2
	// φ(q)ᵀS = Σ_a q_a (q_a S_(a,a) + √2 Σ_{b>a} q_b S_(a,b)), p running over (a, b)
	int p = 0;
	for (int a = 0; a < DK; a++) {
		float qa = q[o + a];
		float diag = qa * S[so + p * DVE];
		p++;
		float off = 0.0;
		for (int b = a + 1; b < DK; b++, p++) off += q[o + b] * S[so + p * DVE];
		acc += qa * (diag + 1.4142135623730951 * off);
	}
#else
	for (int p = 0; p < DK; p++) acc += q[o + p] * S[so + p * DVE];
	acc *= scale;
#endif
	Z[(h * L + i) * DVE + e] = exp(cs[h * L + i]) * acc;
#elif defined(OUTPUT)
	int g = groupIndex();
	if (g >= BH * nch) return;
	int h = H0 + g / nch, c = g % nch;
	int i = c * CH + int(gl_LocalInvocationIndex);
	if (i >= L) return;
	float acc[DVE];
	for (int e = 0; e < DVE; e++) acc[e] = Z[(h * L + i) * DVE + e];
	float csi = cs[h * L + i];
	for (int j = c * CH; j <= i; j++) {
		float s = 0.0;
		for (int p = 0; p < DK; p++) s += q[(h * L + i) * DK + p] * k[(h * L + j) * DK + p];
		s *= scale;
#ifdef ORDER2
		s *= s;
#endif
		float w = s * exp(csi - cs[h * L + j]);
		for (int e = 0; e < DVE; e++) acc[e] += w * vv(h, j, e);
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
