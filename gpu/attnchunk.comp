#version 430
// The inter-chunk part of the chunked attention forward and backward for
// orders 1 and 2 (attndev.go; attndev.comp runs the intra-chunk part, its
// key loops restricted to the chunk). Per (batch, head) slice h, chunks c
// of C positions [c0, c1), and with the state features
//
//   ψ(x) = x (ORDER 1, FF = DK), or φ(x) (ORDER 2: x_a·x_b for a ≤ b,
//   row-major upper triangle, √2 off the diagonal, FF = DK(DK+1)/2),
//   so that s_ij^ORDER = ψ(q_i)·ψ(k̃_j), k̃ = scale·k,
//   v'_j = [v_j, 1] (NORM; EE = DV + 1) or v_j (EE = DV),
//   dO'_i = stat_i·[dO_i, −Δ_i] (NORM) or dO_i, the gradient w.r.t. the
//   unnormalised output o_i = Σ_j P_ij v'_j,
//   A_i = Σ_{u=c0}^{i} a_u (within-chunk cumulative decay), T_c = A_{c1−1},
//
// the stages are:
//
//   CPREP: one thread per (head, chunk): cw[2r] = exp(A_r), cw[2r+1] =
//          exp(T_c − A_r), the query and key weights (MASKED; else 1).
//   LOC:   one thread per (head, chunk, f, e): states[(h,c), f, e] =
//          Σ_{j∈c} exp(T_c − A_j)·ψ_f(k̃_j)·v'_j[e], the chunk's own state.
//   SCAN:  one thread per (head, f, e): states[(h,c)] ← H_c, the state
//          entering chunk c: H_0 = 0, H_{c+1} = exp(T_c)·H_c + LOC_c.
//   DLOC:  as LOC (into the gradient states): Σ_{i∈c} exp(A_i)·ψ_f(q_i)·dO'_i[e].
//   RSCAN: states[(h,c)] ← dH_c, the gradient w.r.t. H_{c+1}:
//          dH_{last} = 0, dH_{c−1} = exp(T_c)·dH_c + DLOC_c.
//   OINT:  one thread per row: oint[r, e] = exp(A_i)·Σ_f ψ_f(q_i)·H_c[f, e].
//   IQ:    one thread per row: u_f = Σ_e H_c[f, e]·dO'_i[e];
//          dq_i += exp(A_i)·J_ψ(q_i)ᵀ u; da_i += exp(A_i)·ψ(q_i)·u (MASKED
//          without NORM: dO'_i·o_i's inter part; with NORM the query side is
//          identically 0 and skipped, as in attndev.comp's DQ).
//   IK:    one thread per row: w = exp(T_c − A_j), dv'_j = w·dH_cᵀ ψ(k̃_j),
//          dv_j += dv'_j[:DV], dk_j += w·scale·J_ψ(k̃_j)ᵀ (dH_c v'_j),
//          da_j −= v'_j·dv'_j (MASKED).
//
// Defines: DK, DV, ORDER (1 or 2), optional NORM, MASKED; one stage.
layout(local_size_x = 64) in;
uniform int BH, L, C;
uniform float scale;

#if ORDER == 1
#define FF DK
#else
#define FF (DK * (DK + 1) / 2)
#endif
#ifdef NORM
#define EE (DV + 1)
#else
#define EE DV
#endif
const float SQRT2 = 1.41421356237309515;

int thread() { return int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64 + int(gl_LocalInvocationIndex); }
int nchunks() { return (L + C - 1) / C; }

// fpair is the feature f's index pair (a, b), a ≤ b (a = b = f at order 1).
void fpair(int f, out int a, out int b) {
#if ORDER == 1
	a = f;
	b = f;
#else
	int r = f, i = 0;
	while (r >= DK - i) {
		r -= DK - i;
		i++;
	}
	a = i;
	b = i + r;
#endif
}

// psi is ψ_f for the entries xa = x_a, xb = x_b of its pair.
float psi(float xa, float xb, int a, int b) {
#if ORDER == 1
	return xa;
#else
	return a == b ? xa * xa : SQRT2 * xa * xb;
#endif
}

#ifndef CPREP
layout(std430, binding = 0) readonly buffer BufX { float x[]; };   // k (LOC, IK) or q (DLOC, OINT, IQ)
layout(std430, binding = 1) readonly buffer BufW { float w[]; };   // v (LOC, IK) or dO (DLOC, IQ)
layout(std430, binding = 2) readonly buffer BufR { float rows[]; };
layout(std430, binding = 3) buffer BufS { float states[]; }; // H_c (LOC, SCAN, OINT, IQ) or dH_c (DLOC, RSCAN, IK)

layout(std430, binding = 7) readonly buffer BufCW { float cw[]; };

// wq is exp(A_r), wk exp(T_c − A_r) for r in chunk c (1 without MASKED);
// eT is exp(T_c) of head h.
float wq(int r) {
#ifdef MASKED
	return cw[2 * r];
#else
	return 1.0;
#endif
}
float wk(int r) {
#ifdef MASKED
	return cw[2 * r + 1];
#else
	return 1.0;
#endif
}
float eT(int h, int c) { return wq(h * L + min(c * C + C, L) - 1); }

// dOp is dO'_r[e] (w holds dO).
float dOp(int r, int e) {
#ifdef NORM
	float st = rows[4 * r + 1];
	return e < DV ? st * w[r * DV + e] : -st * rows[4 * r + 2];
#else
	return w[r * DV + e];
#endif
}

// vp is v'_r[e] (w holds v).
float vp(int r, int e) { return e < DV ? w[r * DV + e] : 1.0; }
#endif

#ifdef CPREP
layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) writeonly buffer BufCW { float cw[]; };
void main() {
	int nch = nchunks();
	int g = thread();
	if (g >= BH * nch) return;
	int h = g / nch, c0 = (g % nch) * C, c1 = min(c0 + C, L);
	float T = 0.0;
	for (int t = c0; t < c1; t++) T += a[h * L + t];
	float s = 0.0;
	for (int t = c0; t < c1; t++) {
		int r = h * L + t;
		s += a[r];
		cw[2 * r] = exp(s);
		cw[2 * r + 1] = exp(T - s);
	}
}
#endif

#if defined(LOC) || defined(DLOC)
void main() {
	int nch = nchunks();
	int g = thread();
	if (g >= BH * nch * FF * EE) return;
	int e = g % EE, f = (g / EE) % FF, hc = g / (EE * FF);
	int h = hc / nch, c = hc % nch, c0 = c * C, c1 = min(c0 + C, L);
	int fa, fb;
	fpair(f, fa, fb);
	float s = 0.0;
#ifdef LOC
	for (int j = c0; j < c1; j++) {
		int r = h * L + j;
		s += wk(r) * psi(scale * x[r * DK + fa], scale * x[r * DK + fb], fa, fb) * vp(r, e);
	}
	states[hc * FF * EE + f * EE + e] = s;
#else
	for (int i = c0; i < c1; i++) {
		int r = h * L + i;
		s += wq(r) * psi(x[r * DK + fa], x[r * DK + fb], fa, fb) * dOp(r, e);
	}
	states[hc * FF * EE + f * EE + e] = s;
#endif
}
#endif

#if defined(SCAN) || defined(RSCAN)
void main() {
	int nch = nchunks();
	int g = thread();
	if (g >= BH * FF * EE) return;
	int h = g / (FF * EE), fe = g % (FF * EE);
	float st = 0.0;
#ifdef SCAN
	for (int c = 0; c < nch; c++) {
		int idx = (h * nch + c) * FF * EE + fe;
#else
	for (int c = nch - 1; c >= 0; c--) {
		int idx = (h * nch + c) * FF * EE + fe;
#endif
		float loc = states[idx];
		states[idx] = st;
		st = eT(h, c) * st + loc;
	}
}
#endif

#ifdef OINT
layout(std430, binding = 4) writeonly buffer BufO { float oint[]; };
void main() {
	int g = thread();
	if (g >= BH * L) return;
	int h = g / L, i = g % L, c = i / C;
	int base = (h * nchunks() + c) * FF * EE;
	float o[EE];
	for (int e = 0; e < EE; e++) o[e] = 0.0;
	int f = 0;
	for (int a = 0; a < DK; a++) {
#if ORDER == 1
		int b = a;
#else
		for (int b = a; b < DK; b++)
#endif
		{
			float ps = psi(x[g * DK + a], x[g * DK + b], a, b);
			for (int e = 0; e < EE; e++) o[e] += ps * states[base + f * EE + e];
			f++;
		}
	}
	float ex = wq(g);
	for (int e = 0; e < EE; e++) oint[g * EE + e] = ex * o[e];
}
#endif

#ifdef IQ
layout(std430, binding = 4) buffer BufDQ { float dq[]; };
layout(std430, binding = 5) buffer BufDA { float da[]; };
void main() {
	int g = thread();
	if (g >= BH * L) return;
	int h = g / L, i = g % L, c = i / C;
	int base = (h * nchunks() + c) * FF * EE;
	float ex = wq(g);
	float gq[DK];
	for (int a = 0; a < DK; a++) gq[a] = 0.0;
	float dan = 0.0;
	int f = 0;
	for (int a = 0; a < DK; a++) {
#if ORDER == 1
		int b = a;
#else
		for (int b = a; b < DK; b++)
#endif
		{
			float u = 0.0;
			for (int e = 0; e < EE; e++) u += states[base + f * EE + e] * dOp(g, e);
			float qa = x[g * DK + a], qb = x[g * DK + b];
			dan += psi(qa, qb, a, b) * u;
#if ORDER == 1
			gq[a] += u;
#else
			if (a == b) {
				gq[a] += 2.0 * qa * u;
			} else {
				gq[a] += SQRT2 * qb * u;
				gq[b] += SQRT2 * qa * u;
			}
#endif
			f++;
		}
	}
	for (int a = 0; a < DK; a++) dq[g * DK + a] += ex * gq[a];
#if defined(MASKED) && !defined(NORM)
	da[g] += ex * dan;
#endif
}
#endif

#ifdef IK
layout(std430, binding = 4) buffer BufDK { float dk[]; };
layout(std430, binding = 5) buffer BufDV { float dv[]; };
layout(std430, binding = 6) buffer BufDA { float da[]; };
void main() {
	int g = thread();
	if (g >= BH * L) return;
	int h = g / L, j = g % L, c = j / C;
	int base = (h * nchunks() + c) * FF * EE;
	float wt = wk(g);
	float gk[DK], gv[EE];
	for (int a = 0; a < DK; a++) gk[a] = 0.0;
	for (int e = 0; e < EE; e++) gv[e] = 0.0;
	int f = 0;
	for (int a = 0; a < DK; a++) {
#if ORDER == 1
		int b = a;
#else
		for (int b = a; b < DK; b++)
#endif
		{
			float ka = scale * x[g * DK + a], kb = scale * x[g * DK + b];
			float ps = psi(ka, kb, a, b), u = 0.0;
			for (int e = 0; e < EE; e++) {
				float s = states[base + f * EE + e];
				u += s * vp(g, e);
				gv[e] += s * ps;
			}
#if ORDER == 1
			gk[a] += u;
#else
			if (a == b) {
				gk[a] += 2.0 * ka * u;
			} else {
				gk[a] += SQRT2 * kb * u;
				gk[b] += SQRT2 * ka * u;
			}
#endif
			f++;
		}
	}
	for (int a = 0; a < DK; a++) dk[g * DK + a] += wt * scale * gk[a];
	float dam = 0.0;
	for (int e = 0; e < EE; e++) {
		if (e < DV) dv[g * DV + e] += wt * gv[e];
		dam += vp(g, e) * wt * gv[e];
	}
#ifdef MASKED
	da[g] -= dam;
#endif
}
#endif
