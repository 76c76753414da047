#version 430
// Batched SGEMM: C = alpha·op(A)·op(B) + beta·C, row-major, op = identity or
// transpose (TRANS_A, TRANS_B). One work group computes a BM×BN tile of C;
// each of its (BM/TM)·(BN/TN) threads computes a TM×TN block held in
// registers, from BK-deep slices of A and B staged in two shared buffers
// (the next slice is loaded into registers while this one is used).
// Defines set by matmul.go: BM BN BK TM TN (TM, TN multiples of 4), WTX
// (each warp's 32 threads are a (32/WTX)×WTX block of the tile, so a warp
// reads few distinct vec4s of each shared slice), optional TRANS_A TRANS_B,
// VEC4 (16-byte global loads; needs aligned leading dimensions, offsets and
// contiguous extents), EXACT (no bounds checks in the loads: M, N, K are
// tile multiples), VEC4C (C written as vec4s: N, ldc, offC, strideC
// multiples of 4), AKM (with VEC4, A as stored, no TRANS_A: A's slice stays
// in shared memory as loaded, k fastest, and the products read a vec4 of
// four k per row instead of transposing it on its way in; matmul.go says
// where), EPI (attention scores' epilogue) and ASCALE (A's rows scaled per
// block of columns as loaded), both for the GEMM attention form
// (attngemm.go) and described at their declarations, RSUM (A as stored:
// each row's sum of the entries of A the group reads, as loaded)
// likewise. The uniform causal
// (matmul.go's Causal) skips the work on one side of a square operand's
// diagonal (with kchunk, 2's K range in chunks, each summed by a work
// group of its own into its own copy of C: a split-K for the long rows of
// a triangular A): 1 skips the tiles of C past the diagonal's 128-block
// (those of rows m0.. that start at or after the next multiple of 128
// above m0; BN divides 128), 2
// (op(A) lower-triangular) sums k < m0 + BM only (its groups taken from the
// last row tile, whose K range is longest, so that the short ones fill the
// tail), 3 (op(A) upper-triangular) k ≥ m0 only; BM is a multiple of BK,
// so the K range is whole slices. The numbered versions this was chosen
// from are in gpu/BENCH.md.

// TX = BN/TN, TY = BM/TM and NT = TX·TY are defined as literals too (GLSL
// 4.30 needs a literal local size).
layout(local_size_x = NT) in;

#ifdef VEC4
layout(std430, binding = 0) readonly buffer BufA { vec4 A[]; };
layout(std430, binding = 1) readonly buffer BufB { vec4 B[]; };
#else
layout(std430, binding = 0) readonly buffer BufA { float A[]; };
layout(std430, binding = 1) readonly buffer BufB { float B[]; };
#endif
layout(std430, binding = 2) buffer BufC { float C[]; };
#ifdef VEC4C
layout(std430, binding = 2) buffer BufC4 { vec4 C4[]; };
#endif

uniform int M, N, K;                 // C is M×N, the product's inner size is K
uniform int lda, ldb, ldc;           // leading dimensions, in floats
uniform int offA, offB, offC;        // first element, in floats
uniform int strideA, strideB, strideC; // between batch entries, in floats
uniform float alpha, beta;
uniform int causal;                  // 0 none, 1 C lower, 2 op(A) lower, 3 op(A) upper
uniform int kchunk, kcStride;        // causal 2: K in chunks of kchunk (0: whole), chunk c's C at c·kcStride
int gz;                              // the batch entry (work group z)

#ifdef EPI
// The attention scores' epilogue (the GEMM attention form's forward): the
// product's s_ij = alpha·(A·B)_ij, query i = row, key j = column, of head
// epiH0 + z (the batch entry), become, for j ≤ i (0 above the diagonal),
//   EXP:      x_ij = s_ij + seg_ij and P̃_ij = exp(x_ij − m_it), m_it the
//             largest x_ij of row i in this column tile t (BN keys); the
//             row's statistics go to T[((z·M + i)·epiLT + t)·2 + {0, 1}] =
//             {m_it, r_it = Σ_j P̃_ij};
//   EXPB:     EXP against a bound of each row instead: P̃_ij =
//             exp(x_ij − b_i), b_i = bnd[z·M + i] ≥ every x_ij of the row
//             (attngemm.comp BOUND), no statistics (the rows' sums are the
//             next product's, RSUM);
//   ORDER p:  P_ij = s_ij^p·exp(seg_ij) (no statistics: the rows' sums
//             are the next product's, RSUM);
// with seg_ij = cum_i − cum_j (MASKED: cum the per-head inclusive sums of
// the log-decays, in double, formed in float from their (hi, lo) parts,
// epiCum) or 0; C holds P̃ or P. Beta must be 0.
#if defined(EXP) && defined(EXPB)
layout(std430, binding = 3) readonly buffer BufBnd { float bnd[]; };
shared float epiB[BM]; // the tile's rows' bounds
#elif defined(EXP)
layout(std430, binding = 3) writeonly buffer BufT { float T[]; };
#endif
#ifdef MASKED
layout(std430, binding = 4) readonly buffer BufCum { double cum[]; };
#endif
uniform int epiH0, epiLT;
#if defined(EXP) && !defined(EXPB)
shared float epiRed[BM][TX + 1]; // per row: the TX threads' partial maximum, then sum
shared float epiRow[BM];         // per row: the tile's maximum
#endif
#ifdef MASKED
// cum of the tile's rows, then of its columns, each as two floats (hi, lo):
// hi = float(cum), lo = float(cum − hi), so that seg_ij = (hi_i − hi_j) +
// (lo_i − lo_j) is within about an ulp of float(cum_i − cum_j) with no
// double arithmetic per element
shared vec2 epiCum[BM + BN];
#endif
#ifndef EXP
// fpow is s^ORDER, elementwise.
vec4 fpow(vec4 s) {
	vec4 r = s;
	for (int e = 1; e < ORDER; e++) r *= s;
	return r;
}
#endif
#endif
// A as stored (not TRANS_A): load e of a slice (e fixed per thread and
// load slot) reads part e % ALW of row AROW(e) of the slice, ALW loads a row.
#ifdef VEC4
#define ALW (BK / 4)
#else
#define ALW BK
#endif
#define AROW(e) ((e) / ALW)
#ifdef RSUM
// Zs[(kc·B + z)·M + m] = Σ_k A_mk over the K range (chunk kc) this group
// sums, of A's entries as loaded (scaled by ASCALE; A as stored, not
// TRANS_A): the GEMM attention form's normalisers Σ_j P_ij, summed where P
// is read anyway. Each load adds into one of the thread's rs registers;
// the ALW parts of a row are summed at the end.
layout(std430, binding = 4) writeonly buffer BufZ { float Zs[]; };
shared float rsPart[BM][ALW];
#endif
#ifdef ASCALE
// A's entry (m, k) is multiplied by sc[(z·M + m)·ascLT + k/ascW] as it is
// loaded (A as stored, not TRANS_A): the GEMM attention form's per-row,
// per-key-block softmax factors (ascW a multiple of BK). A load's row is
// fixed per thread (AROW), so each load keeps its factor in a register
// and reads the next at the slices that start a block of ascW columns.
layout(std430, binding = 3) readonly buffer BufSc { float sc[]; };
uniform int ascLT, ascW;
#endif

#define BMP (BM + 4) // padded rows: the transposing stores of A avoid bank conflicts
#define NBUF 2
#ifdef AKM // A as stored (M×K, 16-byte loads): its slice kept k fastest, no transposing stores
shared vec4 As[NBUF][BM][BK / 4]; // As[m][k/4]
#else
shared vec4 As[NBUF][BK][BMP / 4]; // As[k][m]: op(A) slice, m fastest
#endif
shared vec4 Bs[NBUF][BK][BN / 4];  // Bs[k][n]: op(B) slice, n fastest

#ifdef VEC4
#define LA (BM * BK / 4 / NT)
#define LB (BN * BK / 4 / NT)
#define RTYPE vec4
#else
#define LA (BM * BK / NT)
#define LB (BN * BK / NT)
#define RTYPE float
#endif
#ifdef EXACT // M, N, K multiples of BM, BN, BK: no bounds checks in the loads
#define INB(c) true
#else
#define INB(c) (c)
#endif

#ifndef AKM
void setA(int buf, int k, int m, float v) { As[buf][k][m >> 2][m & 3] = v; }
#endif
void setB(int buf, int k, int n, float v) { Bs[buf][k][n >> 2][n & 3] = v; }

// loadA returns element e (of LA a thread, e = t + i·NT) of the slice
// k0..k0+BK of op(A) rows m0..; loadB the same of op(B) columns n0..;
// zero outside the matrices.
RTYPE loadA(int baseA, int m0, int k0, int e) {
#ifdef VEC4
#ifdef TRANS_A  // A is K×M: vec4 along m
	int m = (e % (BM / 4)) * 4, k = e / (BM / 4);
	bool in_ = INB(m0 + m < M && k0 + k < K);
	return in_ ? A[(baseA + (k0 + k) * lda + m0 + m) >> 2] : vec4(0.0);
#else           // A is M×K: vec4 along k
	int k = (e % ALW) * 4, m = AROW(e);
	bool in_ = INB(m0 + m < M && k0 + k < K);
	return in_ ? A[(baseA + (m0 + m) * lda + k0 + k) >> 2] : vec4(0.0);
#endif
#else
#ifdef TRANS_A
	int m = e % BM, k = e / BM;
	return (m0 + m < M && k0 + k < K) ? A[baseA + (k0 + k) * lda + m0 + m] : 0.0;
#else
	int k = e % ALW, m = AROW(e);
	return (m0 + m < M && k0 + k < K) ? A[baseA + (m0 + m) * lda + k0 + k] : 0.0;
#endif
#endif
}

RTYPE loadB(int baseB, int n0, int k0, int e) {
#ifdef VEC4
#ifdef TRANS_B  // B is N×K: vec4 along k
	int k = (e % (BK / 4)) * 4, n = e / (BK / 4);
	bool in_ = INB(n0 + n < N && k0 + k < K);
	return in_ ? B[(baseB + (n0 + n) * ldb + k0 + k) >> 2] : vec4(0.0);
#else           // B is K×N: vec4 along n
	int n = (e % (BN / 4)) * 4, k = e / (BN / 4);
	bool in_ = INB(n0 + n < N && k0 + k < K);
	return in_ ? B[(baseB + (k0 + k) * ldb + n0 + n) >> 2] : vec4(0.0);
#endif
#else
#ifdef TRANS_B
	int k = e % BK, n = e / BK;
	return (n0 + n < N && k0 + k < K) ? B[baseB + (n0 + n) * ldb + k0 + k] : 0.0;
#else
	int n = e % BN, k = e / BN;
	return (n0 + n < N && k0 + k < K) ? B[baseB + (k0 + k) * ldb + n0 + n] : 0.0;
#endif
#endif
}

// storeA and storeB write element e of loadA or loadB into shared buffer buf.
void storeA(int buf, int e, RTYPE r) {
#ifdef VEC4
#ifdef TRANS_A
	As[buf][e / (BM / 4)][e % (BM / 4)] = r;
#elif defined(AKM) // as loaded: row m, k/4
	As[buf][e / (BK / 4)][e % (BK / 4)] = r;
#else
	int k = (e % ALW) * 4, m = AROW(e);
	setA(buf, k, m, r.x); setA(buf, k + 1, m, r.y);
	setA(buf, k + 2, m, r.z); setA(buf, k + 3, m, r.w);
#endif
#else
#ifdef TRANS_A
	setA(buf, e / BM, e % BM, r);
#else
	setA(buf, e % BK, e / BK, r);
#endif
#endif
}

void storeB(int buf, int e, RTYPE r) {
#ifdef VEC4
#ifdef TRANS_B
	int k = (e % (BK / 4)) * 4, n = e / (BK / 4);
	setB(buf, k, n, r.x); setB(buf, k + 1, n, r.y);
	setB(buf, k + 2, n, r.z); setB(buf, k + 3, n, r.w);
#else
	Bs[buf][e / (BN / 4)][e % (BN / 4)] = r;
#endif
#else
#ifdef TRANS_B
	setB(buf, e % BK, e / BK, r);
#else
	setB(buf, e / BN, e % BN, r);
#endif
#endif
}

void main() {
	// warp w covers thread rows (w / (TX/WTX))·WTY.. and columns (w % (TX/WTX))·WTX..
#define WTY (32 / WTX)
	int lane = int(gl_LocalInvocationIndex) % 32, w = int(gl_LocalInvocationIndex) / 32;
	int tx = (w % (TX / WTX)) * WTX + lane % WTX;
	int ty = (w / (TX / WTX)) * WTY + lane / WTX;
	// the prefetch registers, named (LA, LB ≤ 4 for the tiles matmul.go
	// sets): the conditions are constants
	RTYPE ra0, ra1, ra2, ra3, rb0, rb1, rb2, rb3;
	int tl = int(gl_LocalInvocationIndex);
#ifdef ASCALE
	float af0 = 0.0, af1 = 0.0, af2 = 0.0, af3 = 0.0; // the loads' factors
#define ASF(e, k0) sc[(gz * M + min(m0 + AROW(e), M - 1)) * ascLT + (k0) / ascW]
#define ASCT(k0) { if ((k0) % ascW == 0 || (k0) == kb) { af0 = ASF(tl, k0); if (LA > 1) af1 = ASF(tl + NT, k0); \
	if (LA > 2) af2 = ASF(tl + 2 * NT, k0); if (LA > 3) af3 = ASF(tl + 3 * NT, k0); } \
	ra0 *= af0; if (LA > 1) ra1 *= af1; if (LA > 2) ra2 *= af2; if (LA > 3) ra3 *= af3; }
#else
#define ASCT(k0)
#endif
#define LOADT(k0) { \
	ra0 = loadA(baseA, m0, k0, tl); if (LA > 1) ra1 = loadA(baseA, m0, k0, tl + NT); \
	if (LA > 2) ra2 = loadA(baseA, m0, k0, tl + 2 * NT); if (LA > 3) ra3 = loadA(baseA, m0, k0, tl + 3 * NT); \
	ASCT(k0) \
	rb0 = loadB(baseB, n0, k0, tl); if (LB > 1) rb1 = loadB(baseB, n0, k0, tl + NT); \
	if (LB > 2) rb2 = loadB(baseB, n0, k0, tl + 2 * NT); if (LB > 3) rb3 = loadB(baseB, n0, k0, tl + 3 * NT); }
#ifdef RSUM
#define RSUMT { rs0 += dot(ra0, RTYPE(1.0)); if (LA > 1) rs1 += dot(ra1, RTYPE(1.0)); \
	if (LA > 2) rs2 += dot(ra2, RTYPE(1.0)); if (LA > 3) rs3 += dot(ra3, RTYPE(1.0)); }
	float rs0 = 0.0, rs1 = 0.0, rs2 = 0.0, rs3 = 0.0;
#else
#define RSUMT
#endif
#define STORET(buf) { RSUMT \
	storeA(buf, tl, ra0); if (LA > 1) storeA(buf, tl + NT, ra1); \
	if (LA > 2) storeA(buf, tl + 2 * NT, ra2); if (LA > 3) storeA(buf, tl + 3 * NT, ra3); \
	storeB(buf, tl, rb0); if (LB > 1) storeB(buf, tl + NT, rb1); \
	if (LB > 2) storeB(buf, tl + 2 * NT, rb2); if (LB > 3) storeB(buf, tl + 3 * NT, rb3); }
	int n0 = int(gl_WorkGroupID.x) * BN;
	int m0 = int(gl_WorkGroupID.y) * BM;
	int kc = 0; // causal 2 with kchunk: work group y is row tile + kc·(row tiles)
	if (causal == 2) {
		int nrt = (M + BM - 1) / BM, wy = int(gl_WorkGroupID.y);
		if (kchunk > 0) {
			kc = wy / nrt;
			wy %= nrt;
		}
		m0 = (nrt - 1 - wy) * BM; // the longest K ranges first
	}
	int z = int(gl_WorkGroupID.z);
	gz = z;
	int baseA = offA + z * strideA;
	int baseB = offB + z * strideB;
	int kb = 0, ke = K; // the K range this tile sums
	if (causal == 1 && n0 >= (m0 / 128 + 1) * 128) return; // uniform over the group
	if (causal == 2) ke = min(K, m0 + BM);
	if (kchunk > 0) { // chunk kc of the row tile's K range, if it has one
		kb = kc * kchunk;
		ke = min(ke, kb + kchunk);
		if (kb >= ke) return; // uniform over the group
	}
	if (causal == 3) kb = m0;

	// acc[i][g]: row (i/4)·(BM·4/TM) + 4·ty + i%4, columns (g)·(BN·4/TN) + 4·tx + 0..3
	vec4 acc[TM][TN / 4];
	for (int i = 0; i < TM; i++)
		for (int g = 0; g < TN / 4; g++) acc[i][g] = vec4(0.0);

#if defined(EPI) && defined(MASKED)
	// the decay sums the epilogue needs, staged before the products (the
	// loop's first barrier publishes them): no global load after the
	// products, and no registers held through them
	for (int r = tl; r < BM + BN; r += NT) {
		int x = r < BM ? m0 + r : n0 + r - BM; // M = N (CausalOut)
		double c = x < N ? cum[(epiH0 + z) * N + x] : 0.0;
		float hi = float(c);
		epiCum[r] = vec2(hi, float(c - double(hi)));
	}
#endif
#if defined(EPI) && defined(EXP) && defined(EXPB)
	for (int r = tl; r < BM; r += NT) epiB[r] = m0 + r < M ? bnd[z * M + m0 + r] : 0.0;
#endif
	int tiles = (ke - kb + BK - 1) / BK;
	LOADT(kb);
	STORET(0);
	barrier();
	for (int t = 0; t < tiles; t++) {
		int cur = t & 1;
		if (t + 1 < tiles) LOADT(kb + (t + 1) * BK);
#ifdef AKM
		// four k at a time: a vec4 of each of the thread's TM rows of A
		for (int kq = 0; kq < BK / 4; kq++) {
			vec4 ar[TM];
			for (int i = 0; i < TM; i++) ar[i] = As[cur][(i / 4) * (BM * 4 / TM) + 4 * ty + i % 4][kq];
			for (int kk = 0; kk < 4; kk++) {
				vec4 b[TN / 4];
				for (int g = 0; g < TN / 4; g++) b[g] = Bs[cur][4 * kq + kk][g * (BN / TN) + tx];
				for (int i = 0; i < TM; i++)
					for (int g = 0; g < TN / 4; g++) acc[i][g] = fma(vec4(ar[i][kk]), b[g], acc[i][g]);
			}
		}
#else
		for (int kk = 0; kk < BK; kk++) {
			vec4 a[TM / 4], b[TN / 4];
			for (int g = 0; g < TM / 4; g++) a[g] = As[cur][kk][g * (BM / TM) + ty];
			for (int g = 0; g < TN / 4; g++) b[g] = Bs[cur][kk][g * (BN / TN) + tx];
			for (int i = 0; i < TM; i++) {
				float ai = a[i / 4][i % 4];
				for (int g = 0; g < TN / 4; g++) acc[i][g] = fma(vec4(ai), b[g], acc[i][g]);
			}
		}
#endif
		if (t + 1 < tiles) STORET(cur ^ 1);
		barrier();
	}

#ifdef RSUM
	{
		rsPart[AROW(tl)][tl % ALW] = rs0;
		if (LA > 1) rsPart[AROW(tl + NT)][(tl + NT) % ALW] = rs1;
		if (LA > 2) rsPart[AROW(tl + 2 * NT)][(tl + 2 * NT) % ALW] = rs2;
		if (LA > 3) rsPart[AROW(tl + 3 * NT)][(tl + 3 * NT) % ALW] = rs3;
		memoryBarrierShared();
		barrier();
		for (int r = tl; r < BM; r += NT) {
			if (m0 + r >= M) continue;
			float s = 0.0;
			for (int u = 0; u < ALW; u++) s += rsPart[r][u];
			Zs[(kc * int(gl_NumWorkGroups.z) + z) * M + m0 + r] = s;
		}
	}
#endif
	int baseC = offC + z * strideC + kc * kcStride;
	float outScale = alpha;
#ifdef EPI
	{
		// acc[i][g][c] is row m0 + ROW(i), column n0 + COL(g, c)
#define ROW(i) ((i) / 4 * (BM * 4 / TM) + 4 * ty + (i) % 4)
#define COL(g, c) ((g) * (BN * 4 / TN) + 4 * tx + (c))
		const float NEG_INF = uintBitsToFloat(0xff800000u);
		int tid = int(gl_LocalInvocationIndex);
#ifdef MASKED
		// the decay sums of the thread's columns, read once for its rows
		vec4 cjHi[TN / 4], cjLo[TN / 4];
		for (int g = 0; g < TN / 4; g++) {
			int cb = BM + COL(g, 0);
			cjHi[g] = vec4(epiCum[cb].x, epiCum[cb + 1].x, epiCum[cb + 2].x, epiCum[cb + 3].x);
			cjLo[g] = vec4(epiCum[cb].y, epiCum[cb + 1].y, epiCum[cb + 2].y, epiCum[cb + 3].y);
		}
#endif
		for (int i = 0; i < TM; i++) {
			int m = m0 + ROW(i);
#ifdef MASKED
			vec2 ci = epiCum[ROW(i)];
#endif
#if defined(EXP) && defined(EXPB)
			float bi = epiB[ROW(i)];
#elif defined(EXP)
			float part = NEG_INF;
#endif
			// four columns at once, whole vec4s of acc
			for (int g = 0; g < TN / 4; g++) {
				ivec4 n = ivec4(n0 + COL(g, 0)) + ivec4(0, 1, 2, 3);
				bvec4 ok = bvec4(uvec4(lessThanEqual(n, ivec4(m))) & uvec4(lessThan(n, ivec4(N))));
#ifdef MASKED
				vec4 seg = (vec4(ci.x) - cjHi[g]) + (vec4(ci.y) - cjLo[g]);
#else
				vec4 seg = vec4(0.0);
#endif
				vec4 s = alpha * acc[i][g];
#if defined(EXP) && defined(EXPB)
				acc[i][g] = mix(vec4(0.0), exp(s + seg - bi), ok);
#elif defined(EXP)
				vec4 x = mix(vec4(NEG_INF), s + seg, ok);
				part = max(part, max(max(x.x, x.y), max(x.z, x.w)));
				acc[i][g] = x;
#else
				acc[i][g] = mix(vec4(0.0), fpow(s) * exp(seg), ok);
#endif
			}
#if defined(EXP) && !defined(EXPB)
			epiRed[ROW(i)][tx] = part;
#endif
		}
#if defined(EXP) && !defined(EXPB)
		memoryBarrierShared();
		barrier();
		for (int r = tid; r < BM; r += NT) {
			float mm = NEG_INF;
			for (int u = 0; u < TX; u++) mm = max(mm, epiRed[r][u]);
			epiRow[r] = mm;
		}
		memoryBarrierShared();
		barrier();
		for (int i = 0; i < TM; i++) {
			float mm = epiRow[ROW(i)], part = 0.0;
			for (int g = 0; g < TN / 4; g++) {
				acc[i][g] = mix(exp(acc[i][g] - mm), vec4(0.0), equal(acc[i][g], vec4(NEG_INF)));
				part += acc[i][g].x + acc[i][g].y + acc[i][g].z + acc[i][g].w;
			}
			epiRed[ROW(i)][tx] = part;
		}
		memoryBarrierShared();
		barrier();
		for (int r = tid; r < BM; r += NT) {
			if (m0 + r >= M) continue;
			float sum = 0.0;
			for (int u = 0; u < TX; u++) sum += epiRed[r][u];
			int o = ((z * M + m0 + r) * epiLT + n0 / BN) * 2;
			T[o] = epiRow[r];
			T[o + 1] = sum;
		}
#endif
		outScale = 1.0;
	}
#endif
#ifdef VEC4C
	for (int i = 0; i < TM; i++) {
		int m = m0 + (i / 4) * (BM * 4 / TM) + 4 * ty + i % 4;
		for (int g = 0; g < TN / 4; g++) {
			int n = n0 + g * (BN * 4 / TN) + 4 * tx;
			int idx = (baseC + m * ldc + n) >> 2;
			vec4 v = outScale * acc[i][g];
			if (m < M && n < N) {
				if (beta != 0.0) v += beta * C4[idx];
				C4[idx] = v;
			}
		}
	}
#else
	for (int i = 0; i < TM; i++) {
		int m = m0 + (i / 4) * (BM * 4 / TM) + 4 * ty + i % 4;
		if (m >= M) continue;
		for (int g = 0; g < TN / 4; g++) {
			int n = n0 + g * (BN * 4 / TN) + 4 * tx;
			for (int c = 0; c < 4; c++) {
				if (n + c < N) {
					int idx = baseC + m * ldc + n + c;
					float v = outScale * acc[i][g][c];
					if (beta != 0.0) v += beta * C[idx];
					C[idx] = v;
				}
			}
		}
	}
#endif
}
