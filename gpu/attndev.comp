#version 430
// Causal attention forward and backward on resident buffers, flash-attention
// style (attndev.go): per (batch, head) slice h, blocks of B positions, no
// L×L matrix. For q_i, k_j (DK) and v_j, dO_i (DV), j ≤ i:
//
//   s_ij = scale·q_i·k_j,  seg_ij = Σ_{u=j+1}^{i} a_u (MASKED; else 0)
//   P_ij = s_ij^ORDER·exp(seg_ij)  or  exp(s_ij + seg_ij)  (EXP)
//
// seg_ij is built from within-block cumulative sums cb (PREP) and a running
// sum of whole-block totals, never as a difference of one long cumulative
// sum: same block, cb_i − cb_j; else cb_i + Σ_{blocks strictly between}
// tot + (tot_{block of j} − cb_j).
//
//   PREP:   one thread per (head, block): rows[4r] = cb_r (MASKED only).
//   DELTA:  one thread per row (backward): rows[4r+1] = stat_r,
//           rows[4r+2] = Δ_r = dO_r·y_r (NORM; else 0), and without MASKED
//           rows[4r] = 0.
//   FWD:    one group per (head, query block), one query per thread, key
//           blocks staged in shared memory from the diagonal backwards:
//           y_i = Σ_j P_ij·v_j [/ Σ_j P_ij under NORM; 0 for a zero sum];
//           EXP with NORM keeps an online row maximum.
//           stat_i = 1/Σ_j P_ij (NORM; 0 for a zero sum) or 1; EXP: the
//           log-sum-exp of s_ij + seg_ij (NORM) or 0.
//   DQ:     one group per (head, query block): dq_i = scale·Σ_j dS_ij·k_j and
//           da_i = Σ_j dl_ij (MASKED without NORM; 0 with NORM, where it is
//           identically 0).
//   DKV:    one group per (head, key block), query blocks staged from the
//           diagonal forwards: with ONLY_DK dk_j = scale·Σ_i dS_ij·q_i and
//           da_j += −Σ_i dl_ij (MASKED; after DQ); with ONLY_DV
//           dv_j = Σ_i W_ij·dO_i (one of the two is defined).
//   DASUM:  one thread per (head, block): bs[h, b] = Σ_{t∈b} da[h, t] (double).
//   DASCAN: one thread per (head, block): da[h, t] ← Σ_{u≥t} da[h, u] in
//           double (the reverse cumulative sum: the gradient w.r.t. a).
//
// with W_ij = P_ij·stat_i (orders) or exp(s_ij + seg_ij − stat_i) (EXP),
// G'_ij = dO_i·v_j − Δ_i, dS_ij = G'_ij·f'(s_ij)·exp(seg_ij)·stat_i
// (orders) or G'_ij·W_ij (EXP), dl_ij = G'_ij·W_ij (the gradient w.r.t.
// log AM_ij). Rows of q, k, v, dO are held as vec4s (zero-padded to
// DK4 = ⌈DK/4⌉, DV4 = ⌈DV/4⌉): vector loads from shared memory, and inner
// loops short enough for llvmpipe to unroll (its loop limiter ends an
// invocation after about 65,535 iterations of loops it keeps). FWD, DQ and
// DKV take the staged rows four at a time (B is a multiple of 4): four
// independent dot products in flight instead of one chain of DK
// dependent FMAs, the rows past the causal edge weighted 0 by selection
// (never by multiplication: their decay may overflow).
// Defines: B, DK, DV; one of PREP, DELTA, FWD, DQ, DKV, DASUM,
// DASCAN; ORDER p or EXP; optional NORM, MASKED, and CHUNKED (FWD: add
// attnchunk.comp's inter-chunk outputs before normalising; with the
// uniform CB > 0, FWD, DQ and DKV visit only the pairs within a chunk).
#if defined(PREP) || defined(DELTA) || defined(DASUM) || defined(DASCAN)
layout(local_size_x = 64) in;
#else
layout(local_size_x = B) in;
#endif
uniform int BH, L;
uniform int CB; // chunk length in blocks: key loops stay within the chunk (0: the whole sequence)
uniform float scale;

#define DK4 ((DK + 3) / 4)
#define DV4 ((DV + 3) / 4)
// LOAD4 is elements 4c … 4c+3 of the row of n floats at buf[base], zero
// beyond n; STORE4 writes X there, dropping what lies beyond n.
#define LOAD4(buf, base, c, n) vec4(buf[(base) + 4 * (c)], \
	4 * (c) + 1 < (n) ? buf[(base) + 4 * (c) + 1] : 0.0, \
	4 * (c) + 2 < (n) ? buf[(base) + 4 * (c) + 2] : 0.0, \
	4 * (c) + 3 < (n) ? buf[(base) + 4 * (c) + 3] : 0.0)
#define STORE4(buf, base, c, n, X) { \
	buf[(base) + 4 * (c)] = (X).x; \
	if (4 * (c) + 1 < (n)) buf[(base) + 4 * (c) + 1] = (X).y; \
	if (4 * (c) + 2 < (n)) buf[(base) + 4 * (c) + 2] = (X).z; \
	if (4 * (c) + 3 < (n)) buf[(base) + 4 * (c) + 3] = (X).w; }

// group is the flat work-group index (dispatches over 65,535 groups are 2-D).
int group() { return int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x); }

// nblocks is the number of blocks of B positions.
int nblocks() { return (L + B - 1) / B; }

#if defined(PREP) || defined(DELTA) || defined(DASUM) || defined(DASCAN)
// thread is the flat invocation index of the one-thread-per-(head, block) and per-row passes.
int thread() { return group() * 64 + int(gl_LocalInvocationIndex); }
#endif

#ifndef EXP
// fpow is s^ORDER, dpow its derivative ORDER·s^(ORDER−1), per component.
vec4 fpow(vec4 s) {
	vec4 r = s;
	for (int e = 1; e < ORDER; e++) r *= s;
	return r;
}
vec4 dpow(vec4 s) {
	vec4 r = vec4(float(ORDER));
	for (int e = 1; e < ORDER; e++) r *= s;
	return r;
}
#endif

// DOT4(x, R, r0, c) is the four dot products of x with rows r0 … r0+3 of
// the shared array R, column block c.
#define DOT4(x, R, r0, c) vec4(dot(x, R[r0][c]), dot(x, R[(r0) + 1][c]), dot(x, R[(r0) + 2][c]), dot(x, R[(r0) + 3][c]))
// AXPY4(P, R, r0, c) is Σ_u P[u]·R[r0+u][c].
#define AXPY4(P, R, r0, c) ((P).x * R[r0][c] + (P).y * R[(r0) + 1][c] + (P).z * R[(r0) + 2][c] + (P).w * R[(r0) + 3][c])
// in4 is which of rows r0 … r0+3 lie in [lo, hi).
bvec4 in4(int r0, int lo, int hi) {
	ivec4 r = ivec4(r0) + ivec4(0, 1, 2, 3);
	return equal(ivec4(greaterThanEqual(r, ivec4(lo))) + ivec4(lessThan(r, ivec4(hi))), ivec4(2));
}

#ifdef PREP
layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) buffer BufR { float rows[]; };
void main() {
	int nb = nblocks();
	int g = thread();
	if (g >= BH * nb) return;
	int h = g / nb, b0 = (g % nb) * B, e = min(b0 + B, L);
	float cs = 0.0;
	for (int t = b0; t < e; t++) {
		int r = h * L + t;
		cs += a[r];
		rows[4 * r] = cs;
	}
}
#endif

#ifdef DELTA
layout(std430, binding = 0) buffer BufR { float rows[]; };
layout(std430, binding = 1) readonly buffer BufS { float stat[]; };
layout(std430, binding = 2) readonly buffer BufO { float dO[]; };
layout(std430, binding = 3) readonly buffer BufY { float y[]; };
void main() {
	int r = thread();
	if (r >= BH * L) return;
#ifndef MASKED
	rows[4 * r] = 0.0; // no decay: DQ and DKV read zero sums (see cbAt)
#endif
	rows[4 * r + 1] = stat[r];
	float dl = 0.0;
#ifdef NORM
	for (int c = 0; c < DV4; c++) dl += dot(LOAD4(dO, r * DV, c, DV), LOAD4(y, r * DV, c, DV));
#endif
	rows[4 * r + 2] = dl;
}
#endif

#if defined(FWD) || defined(DQ) || defined(DKV)
layout(std430, binding = 0) readonly buffer BufQ { float q[]; };
layout(std430, binding = 1) readonly buffer BufK { float k[]; };
layout(std430, binding = 2) readonly buffer BufV { float v[]; };
layout(std430, binding = 3) readonly buffer BufR { float rows[]; };

// cbAt is the within-block cumulative decay of row r (0 without MASKED);
// blockTot the total of block b of head h. The backward reads it from rows
// even without a decay (DELTA writes zeros there): with the sums a
// compile-time 0, NVIDIA's compiler (580.159) reshaped DQ's and DK's loops
// for exp with the norm and ran them 3× slower than with a decay
// (6.3 against 1.9 ms at 64 heads, L 1024, d 64; gpu/BENCH.md).
float cbAt(int r) {
#if defined(MASKED) || defined(DQ) || defined(DKV)
	return rows[4 * r];
#else
	return 0.0;
#endif
}
float blockTot(int h, int b) { return cbAt(h * L + min(b * B + B, L) - 1); }

// firstBlock is the first key block of query block bi's chunk (0 unchunked).
int firstBlock(int bi) { return CB > 0 ? (bi / CB) * CB : 0; }
#endif

#ifdef FWD
layout(std430, binding = 4) writeonly buffer BufY { float y[]; };
layout(std430, binding = 5) writeonly buffer BufS { float stat[]; };
#ifdef CHUNKED
// The inter-chunk outputs (attnchunk.comp OINT): DV columns a row, and
// with NORM a last one, Σ_j P_ij over the earlier chunks.
layout(std430, binding = 6) readonly buffer BufOI { float oint[]; };
#endif
shared vec4 ks[B][DK4];
shared vec4 vs[B][DV4];
shared float kc[B];

void main() {
	int nb = nblocks();
	int g = group();
	if (g >= BH * nb) return; // uniform over the group
	int h = g / nb, bi = g % nb;
	int t = int(gl_LocalInvocationIndex);
	int i = bi * B + t;
	bool valid = i < L;
	vec4 qi[DK4];
	for (int c = 0; c < DK4; c++) qi[c] = valid ? scale * LOAD4(q, (h * L + i) * DK, c, DK) : vec4(0.0);
	float ci = valid ? cbAt(h * L + i) : 0.0;
	vec4 acc[DV4];
	for (int c = 0; c < DV4; c++) acc[c] = vec4(0.0);
	float m = uintBitsToFloat(0xff800000u), l = 0.0; // m = −∞
	float R = 0.0; // Σ a over the whole blocks strictly between key block and query block
	for (int bj = bi; bj >= firstBlock(bi); bj--) {
		int j = bj * B + t;
		bool kin = j < L;
		for (int c = 0; c < DK4; c++) ks[t][c] = kin ? LOAD4(k, (h * L + j) * DK, c, DK) : vec4(0.0);
		for (int c = 0; c < DV4; c++) vs[t][c] = kin ? LOAD4(v, (h * L + j) * DV, c, DV) : vec4(0.0);
		kc[t] = kin ? cbAt(h * L + j) : 0.0;
		float tot = blockTot(h, bj);
		barrier();
		if (valid) {
			int jn = bj == bi ? t + 1 : B; // blocks before the diagonal are whole
			for (int j0 = 0; j0 < jn; j0 += 4) {
				vec4 s = vec4(0.0);
				for (int c = 0; c < DK4; c++) s += DOT4(qi[c], ks, j0, c);
				vec4 kc4 = vec4(kc[j0], kc[j0 + 1], kc[j0 + 2], kc[j0 + 3]);
				vec4 sg = bj == bi ? ci - kc4 : ci + R + (tot - kc4);
				bvec4 ok = in4(j0, 0, jn);
#ifdef EXP
#ifdef NORM
				vec4 x = mix(vec4(uintBitsToFloat(0xff800000u)), s + sg, ok);
				float mn = max(m, max(max(x.x, x.y), max(x.z, x.w)));
				float corr = exp(m - mn);
				vec4 p = exp(x - mn);
				l = l * corr + (p.x + p.y + p.z + p.w);
				for (int c = 0; c < DV4; c++) acc[c] = acc[c] * corr + AXPY4(p, vs, j0, c);
				m = mn;
#else
				vec4 p = mix(vec4(0.0), exp(s + sg), ok);
				for (int c = 0; c < DV4; c++) acc[c] += AXPY4(p, vs, j0, c);
#endif
#else
				vec4 p = mix(vec4(0.0), fpow(s) * exp(sg), ok);
				l += p.x + p.y + p.z + p.w;
				for (int c = 0; c < DV4; c++) acc[c] += AXPY4(p, vs, j0, c);
#endif
			}
		}
		if (bj < bi) R += tot;
		barrier();
	}
	if (!valid) return;
	int r = h * L + i;
#if defined(CHUNKED) && defined(NORM)
	for (int c = 0; c < DV4; c++) acc[c] += LOAD4(oint, r * (DV + 1), c, DV);
	l += oint[r * (DV + 1) + DV];
#elif defined(CHUNKED)
	for (int c = 0; c < DV4; c++) acc[c] += LOAD4(oint, r * DV, c, DV);
#endif
#if defined(EXP) && defined(NORM)
	float mul = 1.0 / l;
	stat[r] = m + log(l);
#elif defined(EXP)
	float mul = 1.0;
	stat[r] = 0.0;
#elif defined(NORM)
	float mul = l == 0.0 ? 0.0 : 1.0 / l;
	stat[r] = mul;
#else
	float mul = 1.0;
	stat[r] = 1.0;
#endif
	for (int c = 0; c < DV4; c++) STORE4(y, r * DV, c, DV, acc[c] * mul);
}
#endif

#if defined(DQ) || defined(DKV)
layout(std430, binding = 4) readonly buffer BufO { float dO[]; };

// pair returns, per component for four pairs, for s = s_ij, sg = seg_ij,
// g = dO_i·v_j, the statistic st = stat_i and dl0 = Δ_i, the weight W_ij
// (into w), dS_ij and dl_ij (into dl); pairs not ok are 0 in all three.
vec4 pair(vec4 s, vec4 sg, vec4 g, vec4 st, vec4 dl0, bvec4 ok, out vec4 w, out vec4 dl) {
	vec4 gt = g - dl0;
	vec4 z = vec4(0.0);
#ifdef EXP
	w = mix(z, exp(s + sg - st), ok);
	dl = gt * w;
	return dl;
#else
	vec4 e = exp(sg) * st;
	w = mix(z, fpow(s) * e, ok);
	dl = gt * w;
	return mix(z, gt * dpow(s) * e, ok);
#endif
}
#endif

#ifdef DQ
layout(std430, binding = 5) writeonly buffer BufDQ { float dq[]; };
layout(std430, binding = 6) writeonly buffer BufDA { float da[]; };
shared vec4 ks[B][DK4];
shared vec4 vs[B][DV4];
shared float kc[B];

void main() {
	int nb = nblocks();
	int g = group();
	if (g >= BH * nb) return; // uniform over the group
	int h = g / nb, bi = g % nb;
	int t = int(gl_LocalInvocationIndex);
	int i = bi * B + t;
	bool valid = i < L;
	int r = h * L + (valid ? i : 0);
	vec4 qi[DK4], doi[DV4], acc[DK4];
	for (int c = 0; c < DK4; c++) {
		qi[c] = valid ? scale * LOAD4(q, r * DK, c, DK) : vec4(0.0);
		acc[c] = vec4(0.0);
	}
	for (int c = 0; c < DV4; c++) doi[c] = valid ? LOAD4(dO, r * DV, c, DV) : vec4(0.0);
	float ci = cbAt(r), st = rows[4 * r + 1], dl0 = rows[4 * r + 2];
	float dan = 0.0, R = 0.0;
	for (int bj = bi; bj >= firstBlock(bi); bj--) {
		int j = bj * B + t;
		bool kin = j < L;
		for (int c = 0; c < DK4; c++) ks[t][c] = kin ? LOAD4(k, (h * L + j) * DK, c, DK) : vec4(0.0);
		for (int c = 0; c < DV4; c++) vs[t][c] = kin ? LOAD4(v, (h * L + j) * DV, c, DV) : vec4(0.0);
		kc[t] = kin ? cbAt(h * L + j) : 0.0;
		float tot = blockTot(h, bj);
		barrier();
		if (valid) {
			int jn = bj == bi ? t + 1 : B;
			for (int j0 = 0; j0 < jn; j0 += 4) {
				vec4 s = vec4(0.0), gv = vec4(0.0);
				for (int c = 0; c < DK4; c++) s += DOT4(qi[c], ks, j0, c);
				for (int c = 0; c < DV4; c++) gv += DOT4(doi[c], vs, j0, c);
				vec4 kc4 = vec4(kc[j0], kc[j0 + 1], kc[j0 + 2], kc[j0 + 3]);
				vec4 sg = bj == bi ? ci - kc4 : ci + R + (tot - kc4);
				vec4 w, dl;
				vec4 ds = pair(s, sg, gv, vec4(st), vec4(dl0), in4(j0, 0, jn), w, dl);
				for (int c = 0; c < DK4; c++) acc[c] += AXPY4(ds, ks, j0, c);
				dan += dl.x + dl.y + dl.z + dl.w;
			}
		}
		if (bj < bi) R += tot;
		barrier();
	}
	if (!valid) return;
	for (int c = 0; c < DK4; c++) STORE4(dq, r * DK, c, DK, scale * acc[c]);
#ifdef MASKED
#ifdef NORM
	da[r] = 0.0;
#else
	da[r] = dan;
#endif
#endif
}
#endif

#ifdef DKV
layout(std430, binding = 5) writeonly buffer BufDK { float dk[]; };
layout(std430, binding = 6) writeonly buffer BufDV { float dv[]; };
layout(std430, binding = 7) buffer BufDA { float da[]; };
shared vec4 qs[B][DK4]; // scale·q_i
shared vec4 os[B][DV4]; // dO_i
shared float qc[B], qst[B], qdl[B];

void main() {
	int nb = nblocks();
	int g = group();
	if (g >= BH * nb) return; // uniform over the group
	int h = g / nb, bj = g % nb;
	int t = int(gl_LocalInvocationIndex);
	int j = bj * B + t;
	bool valid = j < L;
	int r = h * L + (valid ? j : 0);
	vec4 kj[DK4], vj[DV4], gk[DK4], gv[DV4];
	for (int c = 0; c < DK4; c++) {
		kj[c] = valid ? LOAD4(k, r * DK, c, DK) : vec4(0.0);
		gk[c] = vec4(0.0);
	}
	for (int c = 0; c < DV4; c++) {
		vj[c] = valid ? LOAD4(v, r * DV, c, DV) : vec4(0.0);
		gv[c] = vec4(0.0);
	}
	float cj = cbAt(r), totj = blockTot(h, bj);
	float dam = 0.0, R = 0.0;
	int bend = CB > 0 ? min(nb, (bj / CB + 1) * CB) : nb;
	for (int bi = bj; bi < bend; bi++) {
		int i = bi * B + t;
		bool qin = i < L;
		int ri = h * L + (qin ? i : 0);
		for (int c = 0; c < DK4; c++) qs[t][c] = qin ? scale * LOAD4(q, ri * DK, c, DK) : vec4(0.0);
		for (int c = 0; c < DV4; c++) os[t][c] = qin ? LOAD4(dO, ri * DV, c, DV) : vec4(0.0);
		qc[t] = cbAt(ri);
		qst[t] = rows[4 * ri + 1];
		qdl[t] = rows[4 * ri + 2];
		float tot = blockTot(h, bi);
		barrier();
		if (valid) {
			int ilo = bi == bj ? t : 0, ie = min(B, L - bi * B);
			for (int i0 = ilo & ~3; i0 < ie; i0 += 4) {
				vec4 s = vec4(0.0), gg = vec4(0.0);
				for (int c = 0; c < DK4; c++) s += vec4(dot(qs[i0][c], kj[c]), dot(qs[i0 + 1][c], kj[c]), dot(qs[i0 + 2][c], kj[c]), dot(qs[i0 + 3][c], kj[c]));
				for (int c = 0; c < DV4; c++) gg += vec4(dot(os[i0][c], vj[c]), dot(os[i0 + 1][c], vj[c]), dot(os[i0 + 2][c], vj[c]), dot(os[i0 + 3][c], vj[c]));
				vec4 qc4 = vec4(qc[i0], qc[i0 + 1], qc[i0 + 2], qc[i0 + 3]);
				vec4 sg = bi == bj ? qc4 - cj : qc4 + R + (totj - cj);
				vec4 w, dl;
				vec4 ds = pair(s, sg, gg, vec4(qst[i0], qst[i0 + 1], qst[i0 + 2], qst[i0 + 3]),
					vec4(qdl[i0], qdl[i0 + 1], qdl[i0 + 2], qdl[i0 + 3]), in4(i0, ilo, ie), w, dl);
#ifdef ONLY_DK
				for (int c = 0; c < DK4; c++) gk[c] += AXPY4(ds, qs, i0, c);
				dam += dl.x + dl.y + dl.z + dl.w;
#endif
#ifdef ONLY_DV
				for (int c = 0; c < DV4; c++) gv[c] += AXPY4(w, os, i0, c);
#endif
			}
		}
		if (bi > bj) R += tot;
		barrier();
	}
	if (!valid) return;
#ifdef ONLY_DK
	for (int c = 0; c < DK4; c++) STORE4(dk, r * DK, c, DK, gk[c]);
#ifdef MASKED
	da[r] -= dam;
#endif
#endif
#ifdef ONLY_DV
	for (int c = 0; c < DV4; c++) STORE4(dv, r * DV, c, DV, gv[c]);
#endif
}
#endif

#ifdef DASUM
layout(std430, binding = 0) readonly buffer BufDA { float da[]; };
layout(std430, binding = 1) writeonly buffer BufBS { double bs[]; };
void main() {
	int nb = nblocks();
	int g = thread();
	if (g >= BH * nb) return;
	int h = g / nb, b0 = (g % nb) * B, e = min(b0 + B, L);
	double s = 0.0;
	for (int t = b0; t < e; t++) s += double(da[h * L + t]);
	bs[g] = s;
}
#endif

#ifdef DASCAN
layout(std430, binding = 0) buffer BufDA { float da[]; };
layout(std430, binding = 1) readonly buffer BufBS { double bs[]; };
void main() {
	int nb = nblocks();
	int g = thread();
	if (g >= BH * nb) return;
	int h = g / nb, b = g % nb, b0 = b * B, e = min(b0 + B, L);
	double s = 0.0;
	for (int u = b + 1; u < nb; u++) s += bs[h * nb + u];
	for (int t = e - 1; t >= b0; t--) {
		s += double(da[h * L + t]);
		da[h * L + t] = float(s);
	}
}
#endif
