#version 430
// Register-tiled causal attention forward (attnflash.go), the quadratic
// form of attndev.comp's FWD with the same outputs (y and stat, which
// attndev.comp's backward reads), for d = d_v = D ∈ {32, 64}. Per (batch,
// head) slice h, for q_i, k_j, v_j (D floats), j ≤ i:
//
//   s_ij = scale·q_i·k_j,  seg_ij = Σ_{u=j+1}^{i} a_u (MASKED; else 0)
//   P_ij = s_ij^ORDER·exp(seg_ij)  or  exp(s_ij + seg_ij)  (EXP)
//   y_i = Σ_j P_ij·v_j [/ Σ_j P_ij under NORM; 0 for a zero sum]
//   stat_i = 1/Σ_j P_ij (NORM; 0 for a zero sum) or 1; EXP: the
//            log-sum-exp of s_ij + seg_ij (NORM) or 0.
//
// seg_ij comes from attndev.comp PREP's within-block cumulative sums cb
// (rows[4r], blocks of QT = 64 positions) as there: same block cb_i − cb_j,
// else cb_i + Σ_{blocks strictly between} tot + (tot_{block of j} − cb_j),
// never a difference of one long cumulative sum.
//
// Tiling (SGEMM-like: every thread computes a small block of outputs from
// vec4 loads of both operands, each load used several times). One work
// group of 128 threads per (head, query tile of QT = 64 rows); the tiles
// with the most keys are dispatched first. The group stages scale·Q^T once
// (Qs[c][i], D×64) and walks the key tiles of KT (32, or 16 where shared
// memory is short) keys from the diagonal backwards; per key tile:
//
//   1. stage K^T (Ks[c][j], D×KT), V (Vs[j][c], KT×D) and per key
//      kd_j = seg_ij − cb_i (one thread per key); barrier.
//   2. S = Q·K^T (64×KT): thread t computes queries 4(t/8) … +3 × keys
//      SK(t%8) … +SK−1 (SK = KT/8), per c one vec4 of Qs and one vec(SK) of
//      Ks for 4·SK FMAs; then P (causal mask by selection, never by
//      multiplication: the decay of pairs above the diagonal may overflow)
//      into Ps[j][i] (KT×64); orders with NORM keep Σ_j P_ij per thread.
//      barrier.
//   3. EXP with NORM only (online softmax): thread t < 64 owns query row t:
//      its running maximum m and sum l in registers; it takes the row's
//      maximum over the tile, rescales (corr = exp(m_old − m_new), shared),
//      and turns the logits in Ps into exp(x − m_new); barrier.
//   4. O += P·V (64×D): thread t computes QV = D/8 queries × 4 columns
//      (columns 4(t % (D/4)) …, queries QV·(t / (D/4)) …) in registers, per
//      key QV/4 vec4s of Ps and one vec4 of Vs for 4·QV FMAs (EXP with
//      NORM: first O *= corr); barrier.
//
// At the end the row sums are reduced through shared memory (orders with
// NORM: the 8 partial sums of each row; EXP with NORM: the owners' l) and
// y, stat written. Shared memory: 4·(D·64 + 2·KT·D + 64·KT + KT + 128)
// bytes (40.6 KiB at D = 64, KT = 32; 28.6 KiB at D = 64, KT = 16). Loops
// have compile-time bounds (D, KT) but the key-tile loop (⌈L/KT⌉ passes at
// most), short enough for llvmpipe's loop limiter at the sizes tested
// (L = 2500 at D = 32, 1000 at D = 64: TestAttentionFlashLong).
// The backward's dv (stage DVB), dq (DQB) and dk (DKB), below, are tiled
// the same way (DVB and DKB with the roles of queries and keys exchanged).
// Defines: one of FWD, DVB, DQB, DKB; D (32 or 64), KT (16 or 32; the
// small tile of the backward stages), ORDER p or EXP, optional NORM,
// MASKED (rows holds PREP's cb in blocks of 64; else no decay).
layout(local_size_x = 128) in;
uniform int BH, L;
uniform float scale;

#define QT 64
#define NT 128
#define D4 (D / 4)
#define SK (KT / 8) // S: keys per thread
#if SK == 4
#define KVEC vec4
#else
#define KVEC vec2
#endif
#define QV (D / 8)  // P·V: queries per thread (8 at D = 64, 4 at D = 32)
#define QV4 (QV / 4)

layout(std430, binding = 0) readonly buffer BufQ { vec4 q4[]; };
layout(std430, binding = 1) readonly buffer BufK { vec4 k4[]; };
layout(std430, binding = 3) readonly buffer BufR { float rows[]; };

// group is the flat work-group index (dispatches over 65,535 groups are 2-D).
int group() { return int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x); }

#ifndef EXP
// fpow is s^ORDER per component.
vec4 fpow(vec4 s) {
	vec4 r = s;
	for (int e = 1; e < ORDER; e++) r *= s;
	return r;
}
#endif

#ifdef MASKED
// blockTot is the decay total of block b (QT positions) of head h.
float blockTot(int h, int b) { return rows[4 * (h * L + min(b * QT + QT, L) - 1)]; }
#endif

#ifdef FWD
layout(std430, binding = 2) readonly buffer BufV { vec4 v4[]; };
layout(std430, binding = 4) writeonly buffer BufY { vec4 y4[]; };
layout(std430, binding = 5) writeonly buffer BufS { float stat[]; };

shared vec4 Qs[D][QT / 4]; // Qs[c][i/4][i%4] = scale·q_i[c] (i within the query tile)
shared KVEC Ks[D][8];      // Ks[c][j/SK][j%SK] = k_j[c] (j within the key tile)
shared vec4 Vs[KT][D4];    // Vs[j][c/4] = v_j[c … c+3]
shared vec4 Ps[KT][QT / 4]; // Ps[j][i/4][i%4] = P_ij (EXP with NORM: the logit first); the end's reduction
shared float kd[KT];       // seg_ij − cb_i per key of the tile
shared float lS[QT];       // per query row: the output's multiplier
#if defined(EXP) && defined(NORM)
shared float corrS[QT];    // per query row: exp(m_old − m_new) of this tile
#endif

void main() {
	int nq = (L + QT - 1) / QT;
	int g = group();
	if (g >= BH * nq) return; // uniform over the group
	int h = g / nq, bi = nq - 1 - g % nq; // the longest rows first
	int t = int(gl_LocalInvocationIndex);
	int q0 = bi * QT;
	for (int n = 0; n < QT * D4 / NT; n++) {
		int e = t + NT * n, i = e % QT, c4 = e / QT;
		vec4 x = q0 + i < L ? scale * q4[(h * L + q0 + i) * D4 + c4] : vec4(0.0);
		for (int u = 0; u < 4; u++) Qs[4 * c4 + u][i >> 2][i & 3] = x[u];
	}
	// S: queries 4tq … 4tq+3 (iS) × keys SK·tk …; P·V: queries QV·ty … × columns 4tx …
	int tq = t >> 3, tk = t & 7;
	ivec4 iS = ivec4(q0 + 4 * tq) + ivec4(0, 1, 2, 3);
	vec4 ci = vec4(0.0);
#ifdef MASKED
	for (int u = 0; u < 4; u++) ci[u] = iS[u] < L ? rows[4 * (h * L + iS[u])] : 0.0;
#endif
	int tx = t % D4, ty = t / D4;
	vec4 acc[QV];
	for (int u = 0; u < QV; u++) acc[u] = vec4(0.0);
	vec4 lp = vec4(0.0);                  // orders: Σ_j P_ij over this thread's keys, its 4 S rows
	float m = 0.0, l = 0.0; bool seen = false; // EXP with NORM, rows t < QT: running max and sum
	float R = 0.0;                        // Σ tot over the blocks strictly between key and query block
	int cur = bi;                         // block of the previous key tile
	for (int kt = (min(q0 + QT, L) - 1) / KT; kt >= 0; kt--) {
		int j0 = kt * KT, bj = j0 / QT;
#ifdef MASKED
		if (bj < cur) {
			if (cur < bi) R += blockTot(h, cur);
			cur = bj;
		}
#endif
		for (int n = 0; n < KT * D4 / NT; n++) {
			int e = t + NT * n, j = e % KT, c4 = e / KT;
			vec4 x = j0 + j < L ? k4[(h * L + j0 + j) * D4 + c4] : vec4(0.0);
			for (int u = 0; u < 4; u++) Ks[4 * c4 + u][j / SK][j % SK] = x[u];
		}
		for (int n = 0; n < KT * D4 / NT; n++) {
			int e = t + NT * n, j = e / D4, c4 = e % D4;
			Vs[j][c4] = j0 + j < L ? v4[(h * L + j0 + j) * D4 + c4] : vec4(0.0);
		}
		if (t < KT) {
			float dj = 0.0;
#ifdef MASKED
			if (j0 + t < L) {
				float cj = rows[4 * (h * L + j0 + t)];
				dj = bj == bi ? -cj : R + (blockTot(h, bj) - cj);
			}
#endif
			kd[t] = dj;
		}
		barrier();
		vec4 s[SK];
		for (int u = 0; u < SK; u++) s[u] = vec4(0.0);
		for (int c = 0; c < D; c++) {
			vec4 qv = Qs[c][tq];
			KVEC kv = Ks[c][tk];
			for (int u = 0; u < SK; u++) s[u] += qv * kv[u];
		}
		for (int u = 0; u < SK; u++) {
			int jl = SK * tk + u;
			bvec4 ok = greaterThanEqual(iS, ivec4(j0 + jl));
			vec4 sg = ci + kd[jl];
#if defined(EXP) && defined(NORM)
			vec4 p = s[u] + sg; // the logit: the row's owner masks and exponentiates
#elif defined(EXP)
			vec4 p = mix(vec4(0.0), exp(s[u] + sg), ok);
#else
			vec4 p = mix(vec4(0.0), fpow(s[u]) * exp(sg), ok);
			lp += p;
#endif
			Ps[jl][tq] = p;
		}
		barrier();
#if defined(EXP) && defined(NORM)
		if (t < QT) {
			int jn = clamp(q0 + t - j0 + 1, 0, KT); // keys j0 … j0+jn−1 are at or before the query
			float corr = 1.0;
			if (jn > 0) {
				float mn = seen ? m : Ps[0][t >> 2][t & 3];
				for (int jl = 0; jl < KT; jl++)
					if (jl < jn) mn = max(mn, Ps[jl][t >> 2][t & 3]);
				corr = seen ? exp(m - mn) : 0.0;
				float sum = 0.0;
				for (int jl = 0; jl < KT; jl++) {
					float p = jl < jn ? exp(Ps[jl][t >> 2][t & 3] - mn) : 0.0;
					Ps[jl][t >> 2][t & 3] = p;
					sum += p;
				}
				l = l * corr + sum;
				m = mn;
				seen = true;
			} else {
				for (int jl = 0; jl < KT; jl++) Ps[jl][t >> 2][t & 3] = 0.0;
			}
			corrS[t] = corr;
		}
		barrier();
		for (int u = 0; u < QV; u++) acc[u] *= corrS[QV * ty + u];
#endif
		for (int jl = 0; jl < KT; jl++) {
			vec4 vv = Vs[jl][tx];
			for (int w = 0; w < QV4; w++) {
				vec4 pw = Ps[jl][QV4 * ty + w];
				acc[4 * w] += pw.x * vv;
				acc[4 * w + 1] += pw.y * vv;
				acc[4 * w + 2] += pw.z * vv;
				acc[4 * w + 3] += pw.w * vv;
			}
		}
		barrier();
	}
#if defined(NORM) && !defined(EXP)
	Ps[tk][tq] = lp; // the 8 partial row sums (Ps has KT ≥ 8 rows)
	barrier();
	if (t < QT) {
		l = 0.0;
		for (int n = 0; n < 8; n++) l += Ps[n][t >> 2][t & 3];
	}
#endif
	if (t < QT && q0 + t < L) {
		int r = h * L + q0 + t;
#if defined(EXP) && defined(NORM)
		lS[t] = 1.0 / l;
		stat[r] = m + log(l);
#elif defined(EXP)
		stat[r] = 0.0;
#elif defined(NORM)
		float mul = l == 0.0 ? 0.0 : 1.0 / l;
		lS[t] = mul;
		stat[r] = mul;
#else
		stat[r] = 1.0;
#endif
	}
#ifdef NORM
	barrier();
#endif
	for (int u = 0; u < QV; u++) {
		int i = q0 + QV * ty + u;
#ifdef NORM
		float mul = lS[QV * ty + u];
#else
		float mul = 1.0;
#endif
		if (i < L) y4[(h * L + i) * D4 + tx] = acc[u] * mul;
	}
}
#endif

#ifdef DVB
// dv_j = Σ_{i≥j} W_ij·dO_i with W_ij = P_ij·stat_i (orders) or
// exp(s_ij + seg_ij − stat_i) (EXP): attndev.comp's ONLY_DV, tiled as FWD
// with the roles of queries and keys exchanged. One group per (head, key
// tile of 64 = QT keys: one decay block bj), which stages K^T once
// (Kb[c][j], D×64) and walks the query tiles of KT queries from the
// diagonal forwards: stage (scale·Q)^T (Qt, D×KT), dO (Os, KT×D) and per
// query its decay term and stat; S (64 keys × KT queries, 4 keys × SK
// queries a thread); W into Ws[i][j] (KT×64); dv (64×D) += Wᵀ·dO, QV
// keys × 4 columns a thread. seg_ij as attndev.comp's DKV: same block
// cb_i − cb_j, else (cb_i + Σ_{blocks strictly between} tot) + (tot_bj − cb_j).
layout(std430, binding = 2) readonly buffer BufO { vec4 o4[]; };
layout(std430, binding = 4) writeonly buffer BufDV { vec4 dv4[]; };
layout(std430, binding = 5) readonly buffer BufS { float stat[]; };

shared vec4 Kb[D][QT / 4]; // Kb[c][j/4][j%4] = k_j[c] (j within the key tile)
shared KVEC Qt[D][8];      // Qt[c][i/SK][i%SK] = scale·q_i[c] (i within the query tile)
shared vec4 Os[KT][D4];    // Os[i][c/4] = dO_i[c … c+3]
shared vec4 Ws[KT][QT / 4]; // Ws[i][j/4][j%4] = W_ij
shared float qd[KT];       // per query: cb_i (+ Σ tot strictly between off the diagonal block)
shared float qst[KT];      // per query: stat_i

void main() {
	int nk = (L + QT - 1) / QT;
	int g = group();
	if (g >= BH * nk) return; // uniform over the group
	int h = g / nk, bj = g % nk; // the longest columns (first keys) first
	int t = int(gl_LocalInvocationIndex);
	int j0 = bj * QT;
	for (int n = 0; n < QT * D4 / NT; n++) {
		int e = t + NT * n, j = e % QT, c4 = e / QT;
		vec4 x = j0 + j < L ? k4[(h * L + j0 + j) * D4 + c4] : vec4(0.0);
		for (int u = 0; u < 4; u++) Kb[4 * c4 + u][j >> 2][j & 3] = x[u];
	}
	// S: keys 4tq … 4tq+3 (jS) × queries SK·tk …; Wᵀ·dO: keys QV·ty … × columns 4tx …
	int tq = t >> 3, tk = t & 7;
	ivec4 jS = ivec4(j0 + 4 * tq) + ivec4(0, 1, 2, 3);
	vec4 cj = vec4(0.0);
	float totj = 0.0;
#ifdef MASKED
	for (int u = 0; u < 4; u++) cj[u] = jS[u] < L ? rows[4 * (h * L + jS[u])] : 0.0;
	totj = blockTot(h, bj);
#endif
	int tx = t % D4, ty = t / D4;
	vec4 acc[QV];
	for (int u = 0; u < QV; u++) acc[u] = vec4(0.0);
	float R = 0.0; // Σ tot over the blocks strictly between key and query block
	int cur = bj;  // block of the previous query tile
	for (int it = j0 / KT; it * KT < L; it++) {
		int i0 = it * KT, bi = i0 / QT;
#ifdef MASKED
		if (bi > cur) {
			if (cur > bj) R += blockTot(h, cur);
			cur = bi;
		}
#endif
		for (int n = 0; n < KT * D4 / NT; n++) {
			int e = t + NT * n, i = e % KT, c4 = e / KT;
			vec4 x = i0 + i < L ? scale * q4[(h * L + i0 + i) * D4 + c4] : vec4(0.0);
			for (int u = 0; u < 4; u++) Qt[4 * c4 + u][i / SK][i % SK] = x[u];
		}
		for (int n = 0; n < KT * D4 / NT; n++) {
			int e = t + NT * n, i = e / D4, c4 = e % D4;
			Os[i][c4] = i0 + i < L ? o4[(h * L + i0 + i) * D4 + c4] : vec4(0.0);
		}
		if (t < KT) {
			float di = 0.0, st = 0.0;
			if (i0 + t < L) {
#ifdef MASKED
				float ci = rows[4 * (h * L + i0 + t)];
				di = bi == bj ? ci : ci + R;
#endif
				st = stat[h * L + i0 + t];
			}
			qd[t] = di;
			qst[t] = st;
		}
		barrier();
		vec4 s[SK];
		for (int u = 0; u < SK; u++) s[u] = vec4(0.0);
		for (int c = 0; c < D; c++) {
			vec4 kv = Kb[c][tq];
			KVEC qv = Qt[c][tk];
			for (int u = 0; u < SK; u++) s[u] += kv * qv[u];
		}
		vec4 kp = bi == bj ? -cj : totj - cj; // seg_ij − qd_i per key
		for (int u = 0; u < SK; u++) {
			int il = SK * tk + u, i = i0 + il;
			bvec4 ok = lessThanEqual(jS, ivec4(i < L ? i : -1));
			vec4 sg = qd[il] + kp;
#ifdef EXP
			vec4 w = mix(vec4(0.0), exp(s[u] + sg - qst[il]), ok);
#else
			vec4 w = mix(vec4(0.0), fpow(s[u]) * (exp(sg) * qst[il]), ok);
#endif
			Ws[il][tq] = w;
		}
		barrier();
		for (int il = 0; il < KT; il++) {
			vec4 ov = Os[il][tx];
			for (int w = 0; w < QV4; w++) {
				vec4 pw = Ws[il][QV4 * ty + w];
				acc[4 * w] += pw.x * ov;
				acc[4 * w + 1] += pw.y * ov;
				acc[4 * w + 2] += pw.z * ov;
				acc[4 * w + 3] += pw.w * ov;
			}
		}
		barrier();
	}
	for (int u = 0; u < QV; u++) {
		int j = j0 + QV * ty + u;
		if (j < L) dv4[(h * L + j) * D4 + tx] = acc[u];
	}
}
#endif

#if defined(DQB) || defined(DKB)
// The backward's dq (DQB) and dk (DKB), with the decay gradient's halves:
// attndev.comp's DQ and DKV with ONLY_DK, tiled as FWD. A work group owns a
// "big" tile of 64 rows (DQB: queries i; DKB: keys j, one decay block) and
// walks the "small" tiles of KT rows of the other side (DQB: key tiles
// from the diagonal backwards; DKB: query tiles from the diagonal
// forwards). For every pair, with G'_ij = dO_i·v_j − Δ_i:
//
//   W_ij = P_ij·stat_i (orders) or exp(s_ij + seg_ij − stat_i) (EXP),
//   dS_ij = G'_ij·f'(s_ij)·exp(seg_ij)·stat_i (orders) or G'_ij·W_ij,
//   dl_ij = G'_ij·W_ij,
//   DQB: dq_i = scale·Σ_j dS_ij·k_j, da_i = Σ_j dl_ij (MASKED without
//        NORM; 0 with NORM, where it is identically 0);
//   DKB: dk_j = Σ_i dS_ij·(scale·q_i), da_j −= Σ_i dl_ij (MASKED; after DQB).
//
// Per small tile, with X one shared D×64 array of the big side:
//   a. stage X = A^T (DQB: scale·Q, DKB: K of the big tile) and Ct = C^T
//      (DQB: K, DKB: scale·Q of the small tile, D×KT); barrier; S = X·Ct
//      into registers (4 big rows × SK small rows a thread); barrier;
//   b. stage X = B^T (DQB: dO, DKB: V of the big tile), Et = E^T (DQB: V,
//      DKB: dO of the small tile) and C row-major over Ct (Cr, KT×D);
//      barrier; G = X·Et likewise; dS into DSs[small][big] (KT×64), dl
//      summed per thread; barrier;
//   c. out (64×D) += DSᵀ·Cr as FWD's P·V; barrier.
// The big side is staged twice a small tile (it does not fit beside the
// rest: 4·(64·D + 2·KT·D + 64·KT + 3·KT) bytes of shared memory, 40 KiB at
// D = 64, KT = 32). The dl sums are reduced over the 8 threads of a big row
// through DSs at the end.
layout(std430, binding = 2) readonly buffer BufV { vec4 v4[]; };
layout(std430, binding = 4) writeonly buffer BufOut { vec4 out4[]; };
layout(std430, binding = 5) readonly buffer BufB { float brows[]; }; // attndev.comp DELTA's: [4r+1] stat, [4r+2] Δ
layout(std430, binding = 6) readonly buffer BufO { vec4 o4[]; };
layout(std430, binding = 7) buffer BufDA { float da[]; };

shared vec4 X[D][QT / 4];   // X[c][b/4][b%4]: A^T, then B^T of the big tile
shared KVEC Ct[D][8];       // Ct[c][s/SK][s%SK] = C_s[c]; then Cr
shared KVEC Et[D][8];       // Et[c][s/SK][s%SK] = E_s[c]
shared vec4 DSs[KT][QT / 4]; // DSs[s][b/4][b%4] = dS of the pair; the end's reduction
shared float sd[KT];        // per small row: DQB kd (seg − cb_i), DKB qd (seg − kp)
#ifdef DKB
shared float sst[KT], sdl[KT]; // per small query: stat_i, Δ_i
#endif

#ifndef EXP
// dpow is ORDER·s^(ORDER−1) per component.
vec4 dpow(vec4 s) {
	vec4 r = vec4(float(ORDER));
	for (int e = 1; e < ORDER; e++) r *= s;
	return r;
}
#endif

// STAGE_BIG writes buf's rows b0 … b0+63 of head h (× mul; 0 past L)
// transposed into X.
#define STAGE_BIG(buf, b0, mul) \
	for (int n = 0; n < QT * D4 / NT; n++) { \
		int e = t + NT * n, b = e % QT, c4 = e / QT; \
		vec4 x = (b0) + b < L ? (mul) * buf[(h * L + (b0) + b) * D4 + c4] : vec4(0.0); \
		for (int u = 0; u < 4; u++) X[4 * c4 + u][b >> 2][b & 3] = x[u]; \
	}
// STAGE_SMALL writes buf's rows s0 … s0+KT−1 (× mul; 0 past L) transposed into T.
#define STAGE_SMALL(T, buf, s0, mul) \
	for (int n = 0; n < KT * D4 / NT; n++) { \
		int e = t + NT * n, sr = e % KT, c4 = e / KT; \
		vec4 x = (s0) + sr < L ? (mul) * buf[(h * L + (s0) + sr) * D4 + c4] : vec4(0.0); \
		for (int u = 0; u < 4; u++) T[4 * c4 + u][sr / SK][sr % SK] = x[u]; \
	}
// PRODUCT returns into r[SK] the 4 big × SK small dot products of X and T.
#define PRODUCT(r, T) \
	for (int u = 0; u < SK; u++) r[u] = vec4(0.0); \
	for (int c = 0; c < D; c++) { \
		vec4 xv = X[c][tq]; \
		KVEC tv = T[c][tk]; \
		for (int u = 0; u < SK; u++) r[u] += xv * tv[u]; \
	}

void main() {
	int nb = (L + QT - 1) / QT;
	int g = group();
	if (g >= BH * nb) return; // uniform over the group
	int h = g / nb;
#ifdef DQB
	int bb = nb - 1 - g % nb; // the longest rows first
#else
	int bb = g % nb;
#endif
	int t = int(gl_LocalInvocationIndex);
	int b0 = bb * QT;
	int tq = t >> 3, tk = t & 7;
	ivec4 bS = ivec4(b0 + 4 * tq) + ivec4(0, 1, 2, 3); // this thread's 4 big rows in S
	vec4 cb = vec4(0.0);
#ifdef MASKED
	for (int u = 0; u < 4; u++) cb[u] = bS[u] < L ? rows[4 * (h * L + bS[u])] : 0.0;
#endif
#ifdef DQB
	vec4 st4, dl4; // stat_i, Δ_i of the 4 big rows
	for (int u = 0; u < 4; u++) {
		int r = h * L + min(bS[u], L - 1);
		st4[u] = brows[4 * r + 1];
		dl4[u] = brows[4 * r + 2];
	}
#else
	float totb = 0.0;
#ifdef MASKED
	totb = blockTot(h, bb);
#endif
#endif
	int tx = t % D4, ty = t / D4;
	vec4 acc[QV];
	for (int u = 0; u < QV; u++) acc[u] = vec4(0.0);
	vec4 dls = vec4(0.0); // Σ dl over this thread's small rows, per big row
	float R = 0.0;        // Σ tot over the blocks strictly between
	int cur = bb;         // block of the previous small tile
#ifdef DQB
	for (int st = (min(b0 + QT, L) - 1) / KT; st >= 0; st--) {
		int s0 = st * KT, bs = s0 / QT;
#ifdef MASKED
		if (bs < cur) {
			if (cur < bb) R += blockTot(h, cur);
			cur = bs;
		}
#endif
		STAGE_BIG(q4, b0, scale)
		STAGE_SMALL(Ct, k4, s0, 1.0)
		if (t < KT) {
			float d = 0.0;
#ifdef MASKED
			if (s0 + t < L) {
				float c = rows[4 * (h * L + s0 + t)];
				d = bs == bb ? -c : R + (blockTot(h, bs) - c);
			}
#endif
			sd[t] = d;
		}
#else
	for (int st = b0 / KT; st * KT < L; st++) {
		int s0 = st * KT, bs = s0 / QT;
#ifdef MASKED
		if (bs > cur) {
			if (cur > bb) R += blockTot(h, cur);
			cur = bs;
		}
#endif
		STAGE_BIG(k4, b0, 1.0)
		STAGE_SMALL(Ct, q4, s0, scale)
		if (t < KT) {
			float d = 0.0, sv = 0.0, dv = 0.0;
			if (s0 + t < L) {
				int r = h * L + s0 + t;
#ifdef MASKED
				d = bs == bb ? rows[4 * r] : rows[4 * r] + R;
#endif
				sv = brows[4 * r + 1];
				dv = brows[4 * r + 2];
			}
			sd[t] = d;
			sst[t] = sv;
			sdl[t] = dv;
		}
#endif
		barrier();
		vec4 s[SK], gg[SK];
		PRODUCT(s, Ct)
		barrier();
#ifdef DQB
		STAGE_BIG(o4, b0, 1.0)
		STAGE_SMALL(Et, v4, s0, 1.0)
		for (int n = 0; n < KT * D4 / NT; n++) { // Cr: K row-major over Ct
			int e = t + NT * n, sr = e / D4, c4 = e % D4;
			vec4 x = s0 + sr < L ? k4[(h * L + s0 + sr) * D4 + c4] : vec4(0.0);
			for (int u = 0; u < 4; u++) Ct[(sr * D + 4 * c4 + u) / (8 * SK)][((sr * D + 4 * c4 + u) / SK) % 8][(sr * D + 4 * c4 + u) % SK] = x[u];
		}
#else
		STAGE_BIG(v4, b0, 1.0)
		STAGE_SMALL(Et, o4, s0, 1.0)
		for (int n = 0; n < KT * D4 / NT; n++) { // Cr: scale·Q row-major over Ct
			int e = t + NT * n, sr = e / D4, c4 = e % D4;
			vec4 x = s0 + sr < L ? scale * q4[(h * L + s0 + sr) * D4 + c4] : vec4(0.0);
			for (int u = 0; u < 4; u++) Ct[(sr * D + 4 * c4 + u) / (8 * SK)][((sr * D + 4 * c4 + u) / SK) % 8][(sr * D + 4 * c4 + u) % SK] = x[u];
		}
#endif
		barrier();
		PRODUCT(gg, Et)
		for (int u = 0; u < SK; u++) {
			int sl = SK * tk + u, sj = s0 + sl;
#ifdef DQB
			bvec4 ok = greaterThanEqual(bS, ivec4(sj)); // key sj ≤ query
			vec4 sg = cb + sd[sl], stv = st4, dlv = dl4;
#else
			bvec4 ok = lessThanEqual(bS, ivec4(sj < L ? sj : -1)); // key ≤ query sj
			vec4 sg = sd[sl] + (bs == bb ? -cb : totb - cb), stv = vec4(sst[sl]), dlv = vec4(sdl[sl]);
#endif
			vec4 gt = gg[u] - dlv, z = vec4(0.0);
#ifdef EXP
			vec4 w = mix(z, exp(s[u] + sg - stv), ok);
			vec4 dl = gt * w, ds = dl;
#else
			vec4 ex = exp(sg) * stv;
			vec4 w = mix(z, fpow(s[u]) * ex, ok);
			vec4 dl = gt * w, ds = mix(z, gt * dpow(s[u]) * ex, ok);
#endif
			dls += dl;
			DSs[sl][tq] = ds;
		}
		barrier();
		for (int sl = 0; sl < KT; sl++) {
			// Cr row sl, columns 4tx … 4tx+3: flat floats sl·D + 4tx … of Ct
			int f = sl * D + 4 * tx;
#if SK == 4
			vec4 cv = Ct[f / 32][(f / 4) % 8];
#else
			vec4 cv = vec4(Ct[f / 16][(f / 2) % 8], Ct[f / 16][(f / 2 + 1) % 8]);
#endif
			for (int w = 0; w < QV4; w++) {
				vec4 pw = DSs[sl][QV4 * ty + w];
				acc[4 * w] += pw.x * cv;
				acc[4 * w + 1] += pw.y * cv;
				acc[4 * w + 2] += pw.z * cv;
				acc[4 * w + 3] += pw.w * cv;
			}
		}
		barrier();
	}
#ifdef DQB
	float outScale = scale;
#else
	float outScale = 1.0;
#endif
	for (int u = 0; u < QV; u++) {
		int b = b0 + QV * ty + u;
		if (b < L) out4[(h * L + b) * D4 + tx] = outScale * acc[u];
	}
#ifdef MASKED
	DSs[tk][tq] = dls; // the 8 partial sums of each big row
	barrier();
	if (t < QT && b0 + t < L) {
		float sum = 0.0;
		for (int n = 0; n < 8; n++) sum += DSs[n][t >> 2][t & 3];
#ifdef DQB
#ifdef NORM
		da[h * L + b0 + t] = 0.0;
#else
		da[h * L + b0 + t] = sum;
#endif
#else
		da[h * L + b0 + t] -= sum;
#endif
	}
#endif
}
#endif
