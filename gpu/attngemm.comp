#version 430
// The quadratic form of causal attention through SGEMM (attngemm.go): the
// products S = scale·Q·Kᵀ, y = W·V and the backward's run on matmul.comp
// with its Causal modes over an L×L matrix per (batch, head); these are
// the passes between them. For q_i, k_j, v_j, dO_i, j ≤ i (as attndev.comp):
//
//   s_ij = scale·q_i·k_j,  seg_ij = Σ_{u=j+1}^{i} a_u = cum_i − cum_j (MASKED)
//   P_ij = s_ij^ORDER·exp(seg_ij)  or  exp(s_ij + seg_ij)  (EXP)
//   W_ij = P_ij·stat_i (orders) or exp(s_ij + seg_ij − stat_i) (EXP)
//   stat_i = 1/Σ_j P_ij (NORM; 0 for a zero sum) or 1 (orders);
//            log Σ_j exp(s_ij + seg_ij) (EXP with NORM) or 0 (EXP)
//
//   CUM:   one group of CUMT threads per head: cum[h, r] = Σ_{u≤r} a[h, u]
//          in double (blocks of CUMT·CUME positions, CUME consecutive a
//          thread, scanned in shared memory), so seg_ij = cum_i − cum_j
//          loses nothing to cancellation however long the sequence.
//   ROWS:  EXP: one thread per row of the call's heads, after matmul.comp's
//          EPI wrote P̃ and each row's per-tile statistics T (maximum m_t,
//          sum r_t over the tiles t of W keys with a key j ≤ i): writes
//          stat_i and the factors sc_it by which the product y = P̃·V scales
//          row i's keys of tile t (matmul.comp ASCALE), for the tiles to the
//          end of i's 128-block (what the causal product reads): M = max_t
//          m_t, l = Σ_t exp(m_t − M)·r_t, stat_i = M + log l (NORM) or 0,
//          sc_it = exp(m_t − stat_i) (0 for tiles past i).
//   BOUND: EXP with NORM, groups × heads groups of RT threads, four a
//          row: |scale|·|q_i| into bnd (hl·L + i) and the group's largest
//          |q_i|², |k_i|² and (MASKED) a_i into part (hl·groups + group).
//   DECIDE: after BOUND, a thread a row (groups: ⌈L/RT⌉ × heads): b_i = |scale|·|q_i|·max_j
//          |k_j| ≥ s_ij ≥ x_ij (seg ≤ 0 when every log-decay a ≤ 0) in
//          bnd; the first group decides: where every head's largest b_i ≤
//          EXPB_MAX and (MASKED) every a ≤ 0, the forward computes P̃ =
//          exp(x − b) in matmul.comp's EXPB (x_ii ≥ −b_i, so a row's
//          largest term is at least exp(−2·EXPB_MAX), far from float's
//          underflow), with its rows' sums in y's product (RSUM) and YSUM
//          dividing (EXPB: stat_i = b_i + log z_i) (path 1), else against
//          the tiles' maxima (ROWS, ASCALE) (path 0). It writes the
//          work-group counts of the nslot dispatches held (gate.go), slot
//          k's gx[k], gy[k], gz[k] where its path gp[k] is the one chosen
//          and 0, 0, 0 where not, into args (3·k..), and the path chosen
//          into args[3·nslot].
//   YSUM:  one thread per entry of y (per 4 with V4): y_i = Σ_c part_c,i
//          over the K chunks c of the product y = (sc∘P̃)·V or P·V
//          (Gemm.kChunk) that hold a key j ≤ i (c·KC ≤ i); for the orders
//          under NORM divided by z_i = Σ_c Z_c,i (the product's row sums of
//          P, matmul.comp RSUM), and the orders' stat_i written by the row's
//          first thread: 1/z_i (NORM; 0 for a zero sum) or 1.
//   ROWB:  one group per row: reads s_ij from S and G_ij = dO_i·v_j from G;
//          with G'_ij = G_ij − Δ_i (NORM; Δ_i = dO_i·y_i, from attndev.comp
//          DELTA's rows[4r+2]) and dl_ij = G'_ij·W_ij (the gradient w.r.t.
//          log AM_ij) writes scale·dS_ij into S (dS_ij = G'_ij·f'(s_ij)·
//          exp(seg_ij)·stat_i for orders, dl_ij for EXP) and W_ij into G
//          (zeros to the end of i's 128-block), and with DA (a decay and
//          its gradient wanted) dl_ij into D for j < i and the query-side
//          decay gradient da_i = Σ_{j<i} dl_ij.
//   COLDA: one thread per key j (DA): subtracts the key-side decay
//          gradient Σ_{i>j} dl_ij from da_j; attndev.comp's DASUM and
//          DASCAN then take da's reverse cumulative sum. The diagonal
//          dl_jj, which the two sides would cancel, is in neither. (Forming
//          the key side as v_j·dv_j − Σ_i W_ij·Δ_i instead, with no D,
//          cancelled: 2mamba-e's large model gave 1.7e-4 of the decay
//          weight's gradient against the float64 model, the tiled kernels
//          6.5e-5, llvmpipe 2026-12-06.)//
// Uniforms: BH (heads in this call's group), L, h0 (the group's first
// head, for the per-row arrays), scale; LT and W (ROWS: tiles a row in T
// and sc, keys a tile); HD (YSUM: d_v), KC
// (YSUM: the K chunk); HD (YSUM: d_v; BOUND: d); NB, gx, gy, gz, gp, nslot
// (DECIDE). S
// and G hold the group's heads (hl·L·L + i·L + j), as D (DA). Defines: one
// of CUM, ROWS, YSUM, ROWB, COLDA, BOUND, DECIDE; ORDER p or EXP; optional
// NORM, MASKED, DA (ROWB: with MASKED), EXPB (YSUM), V4 (YSUM, BOUND); RT (threads of ROWB,
// BOUND and DECIDE); NSLOT (DECIDE: the most slots); CUMT (CUM's threads, a power of two).
#ifdef CUM
#define CUME 8 // CUM's positions a thread, a block
layout(local_size_x = CUMT) in;
#elif defined(COLDA) || defined(ROWS) || defined(YSUM)
layout(local_size_x = 64) in;
#else
layout(local_size_x = RT) in;
#endif
uniform int BH, L, h0, LT, W, HD, KC;
uniform float scale;

// group is the flat work-group index (dispatches over 65,535 groups are 2-D).
int group() { return int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x); }

// EXPB_MAX is the largest bound b_i with which DECIDE chooses path 1.
#define EXPB_MAX 35.0

#ifdef BOUND
#ifdef V4
#define QT vec4
#define HW (HD / 4)
#else
#define QT float
#define HW HD
#endif
layout(std430, binding = 0) readonly buffer BufQ { QT q[]; };
layout(std430, binding = 1) readonly buffer BufK { QT k[]; };
layout(std430, binding = 2) readonly buffer BufA { float a[]; };
layout(std430, binding = 3) writeonly buffer BufB { float bnd[]; };
layout(std430, binding = 4) writeonly buffer BufP { vec4 part[]; };
shared vec4 bred[RT];

// Four threads a row (RT/4 rows at a time, a group's rows blk, blk + nb,
// ... in steps of RT/4), each summing every fourth entry (vec4 with V4)
// of q_i and k_i: a warp's loads cover whole 32-byte sectors.
void main() {
	int t = int(gl_LocalInvocationIndex), blk = int(gl_WorkGroupID.x), hl = int(gl_WorkGroupID.y);
	int nb = int(gl_NumWorkGroups.x), r = t >> 2, l = t & 3, h = h0 + hl;
	vec4 m = vec4(0.0, 0.0, -1.0, 0.0); // the largest |q_i|², |k_i|², a_i
	for (int i0 = blk * (RT / 4); i0 < L; i0 += nb * (RT / 4)) {
		int i = i0 + r;
		vec2 n2 = vec2(0.0);
		if (i < L) {
			for (int f = l; f < HW; f += 4) {
				QT x = q[(h * L + i) * HW + f], y = k[(h * L + i) * HW + f];
				n2 += vec2(dot(x, x), dot(y, y));
			}
		}
		bred[t] = vec4(n2, 0.0, 0.0);
		memoryBarrierShared();
		barrier();
		if (l == 0 && i < L) {
			n2 += bred[t + 1].xy + bred[t + 2].xy + bred[t + 3].xy;
			m.xy = max(m.xy, n2);
#ifdef MASKED
			m.z = max(m.z, a[h * L + i]);
#endif
			bnd[hl * L + i] = abs(scale) * sqrt(n2.x);
		}
		barrier();
	}
	bred[t] = m;
	memoryBarrierShared();
	barrier();
	for (int s = RT / 2; s > 0; s >>= 1) {
		if (t < s) bred[t] = max(bred[t], bred[t + s]);
		memoryBarrierShared();
		barrier();
	}
	if (t == 0) part[hl * nb + blk] = bred[0];
}
#endif

#ifdef DECIDE
layout(std430, binding = 0) readonly buffer BufP { vec4 part[]; };
layout(std430, binding = 1) buffer BufB { float bnd[]; };
layout(std430, binding = 2) writeonly buffer BufArgs { uint args[]; };
uniform int NB; // BOUND's groups a head
uniform int gx[NSLOT], gy[NSLOT], gz[NSLOT], gp[NSLOT];
uniform int nslot;
shared int fits[RT];
shared float kmax; // the group's head's max_j |k_j|

// headMax is the largest |q|², |k|², a of head hl (over BOUND's groups).
vec4 headMax(int hl) {
	vec4 m = vec4(0.0, 0.0, -1.0, 0.0);
	for (int b = 0; b < NB; b++) m = max(m, part[hl * NB + b]);
	return m;
}

void main() {
	int t = int(gl_LocalInvocationIndex), blk = int(gl_WorkGroupID.x), hl = int(gl_WorkGroupID.y);
	int i = blk * RT + t;
	if (t == 0) kmax = sqrt(headMax(hl).y); // once a group, not once a thread
	memoryBarrierShared();
	barrier();
	if (i < L) bnd[hl * L + i] *= kmax;
	if (blk != 0 || hl != 0) return; // uniform over the group
	int ok = 1;
	for (int u = t; u < BH; u += RT) {
		vec4 m = headMax(u);
		if (!(abs(scale) * sqrt(m.x) * sqrt(m.y) <= EXPB_MAX && m.z <= 0.0)) ok = 0;
	}
	fits[t] = ok;
	memoryBarrierShared();
	barrier();
	if (t != 0) return;
	int path = 1;
	for (int u = 0; u < min(BH, RT); u++) path = min(path, fits[u]);
	for (int s = 0; s < nslot; s++) {
		bool run = gp[s] == path;
		args[3 * s] = run ? uint(gx[s]) : 0u;
		args[3 * s + 1] = run ? uint(gy[s]) : 0u;
		args[3 * s + 2] = run ? uint(gz[s]) : 0u;
	}
	args[3 * nslot] = uint(path);
}
#endif

#ifdef CUM
layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) writeonly buffer BufC { double cum[]; };
shared double part[CUMT];

// A block of CUMT·CUME positions at a time, thread t its CUME consecutive
// ones (a warp's loads and stores one contiguous span): the thread's sum,
// the block's inclusive scan of them in shared memory (Hillis–Steele),
// then each thread writes its positions' sums from the positions before
// its own (the carry of earlier blocks, then the threads before it).
void main() {
	int h = group(), t = int(gl_LocalInvocationIndex);
	if (h >= BH) return; // uniform over the group
	double carry = 0.0;
	for (int b0 = 0; b0 < L; b0 += CUMT * CUME) {
		int u0 = b0 + t * CUME, u1 = min(L, u0 + CUME);
		float x[CUME];
		double s = 0.0;
		for (int e = 0; e < CUME; e++) {
			x[e] = u0 + e < u1 ? a[h * L + u0 + e] : 0.0;
			s += double(x[e]);
		}
		part[t] = s;
		memoryBarrierShared();
		barrier();
		for (int off = 1; off < CUMT; off <<= 1) {
			double y = t >= off ? part[t - off] : 0.0;
			memoryBarrierShared();
			barrier();
			part[t] += y;
			memoryBarrierShared();
			barrier();
		}
		double c = carry + (t > 0 ? part[t - 1] : 0.0);
		for (int e = 0; e < CUME; e++) {
			c += double(x[e]);
			if (u0 + e < u1) cum[h * L + u0 + e] = c;
		}
		carry += part[CUMT - 1];
		memoryBarrierShared();
		barrier();
	}
}
#endif

#ifdef ROWB
layout(std430, binding = 0) buffer BufS { float S[]; };
layout(std430, binding = 1) readonly buffer BufC { double cum[]; };
layout(std430, binding = 2) buffer BufR { float rows[]; }; // DELTA's rows
layout(std430, binding = 3) buffer BufG { float G[]; };
layout(std430, binding = 4) buffer BufDA { float da[]; };
layout(std430, binding = 5) writeonly buffer BufD { float Dl[]; };
// The row reduction: a tree in shared memory, the root handed to every
// thread through a broadcast variable, each barrier preceded by
// memoryBarrierShared (with barrier() alone and one array for a maximum
// and then a sum, NVIDIA's driver (580) gave rows of the former ROWF's
// exp with the norm wrong at random on the H100, none on llvmpipe).
#define REDUCE(NAME, ARR, BC, OP) \
shared float ARR[RT]; \
shared float BC; \
float NAME(float x) { \
	int t = int(gl_LocalInvocationIndex); \
	ARR[t] = x; \
	memoryBarrierShared(); \
	barrier(); \
	for (int s = RT / 2; s > 0; s >>= 1) { \
		if (t < s) ARR[t] = OP(ARR[t], ARR[t + s]); \
		memoryBarrierShared(); \
		barrier(); \
	} \
	if (t == 0) BC = ARR[0]; \
	memoryBarrierShared(); \
	barrier(); \
	float r = BC; \
	barrier(); \
	return r; \
}
float add(float a, float b) { return a + b; }
// reduceSum returns the sum of x over the group.
REDUCE(reduceSum, redS, bcS, add)

#ifndef EXP
// fpow is s^ORDER; fdiff its derivative ORDER·s^(ORDER−1).
float fpow(float s) {
	float r = s;
	for (int e = 1; e < ORDER; e++) r *= s;
	return r;
}
float fdiff(float s) {
	float r = float(ORDER);
	for (int e = 1; e < ORDER; e++) r *= s;
	return r;
}
#endif

void main() {
	int g = group();
	if (g >= BH * L) return; // uniform over the group
	int hl = g / L, i = g % L, t = int(gl_LocalInvocationIndex);
	int r = (h0 + hl) * L + i; // the row's index in the per-row arrays
	int base = (hl * L + i) * L;
	int end = min(L, (i / 128 + 1) * 128); // the causal products read to here
#ifdef MASKED
	double ci = cum[r];
#define SEG(j) float(ci - cum[(h0 + hl) * L + (j)])
#else
#define SEG(j) 0.0
#endif
	float st = rows[4 * r + 1], delta = rows[4 * r + 2];
	float dsum = 0.0; // Σ_{j<i} dl_ij over this thread's keys
	for (int j = t; j < end; j += RT) {
		float ds = 0.0, w = 0.0;
		if (j <= i) {
			float s = S[base + j], gp = G[base + j] - delta;
#ifdef EXP
			w = exp(s + SEG(j) - st);
			ds = gp * w;
#else
			float e = exp(SEG(j)) * st;
			w = fpow(s) * e;
			ds = gp * fdiff(s) * e;
#endif
#ifdef DA
			if (j < i) {
				float dl = gp * w;
				dsum += dl;
				Dl[base + j] = dl;
			}
#endif
		}
		S[base + j] = scale * ds;
		G[base + j] = w;
	}
#ifdef DA
	dsum = reduceSum(dsum);
	if (t == 0) da[r] = dsum;
#endif
}
#endif

#ifdef ROWS
layout(std430, binding = 0) readonly buffer BufT { float T[]; };
layout(std430, binding = 1) writeonly buffer BufSc { float sc[]; };
layout(std430, binding = 2) writeonly buffer BufR { float rows[]; }; // stat

void main() {
	int n = group() * 64 + int(gl_LocalInvocationIndex);
	if (n >= BH * L) return;
	int hl = n / L, i = n % L;
	int base = (hl * L + i) * LT;
	int nt = i / W + 1;                                // tiles holding a key j ≤ i
	int ne = min(LT, ((i / 128 + 1) * 128 + W - 1) / W); // tiles to the end of i's 128-block
	float m = T[2 * base];
	for (int t = 1; t < nt; t++) m = max(m, T[2 * (base + t)]);
	float l = 0.0;
	for (int t = 0; t < nt; t++) l += exp(T[2 * (base + t)] - m) * T[2 * (base + t) + 1];
#ifdef NORM
	float st = m + log(l);
#else
	float st = 0.0;
#endif
	for (int t = 0; t < ne; t++) sc[base + t] = t < nt ? exp(T[2 * (base + t)] - st) : 0.0;
	rows[(h0 + hl) * L + i] = st;
}
#endif

#ifdef YSUM
#ifdef V4
#define YT vec4
#define YW 4
#else
#define YT float
#define YW 1
#endif
layout(std430, binding = 0) readonly buffer BufP { YT part[]; };
layout(std430, binding = 1) writeonly buffer BufY { YT y[]; };
layout(std430, binding = 2) readonly buffer BufZ { float Z[]; };
layout(std430, binding = 3) writeonly buffer BufR { float rows[]; }; // stat (orders, EXPB)
#ifdef EXPB
layout(std430, binding = 4) readonly buffer BufB { float bnd[]; };
#endif

// One thread per YW entries e·YW = (hl·L + i)·HD + n.. of the group's y.
void main() {
	int e = group() * 64 + int(gl_LocalInvocationIndex), hw = HD / YW;
	if (e >= BH * L * hw) return;
	int r = e / hw, i = r % L; // r = hl·L + i
	YT s = YT(0.0);
	for (int c = 0; c * KC <= i; c++) s += part[c * BH * L * hw + e];
#if defined(EXPB) || (!defined(EXP) && defined(NORM))
	float z = 0.0; // the row's sum over the chunks holding a key j ≤ i
	for (int c = 0; c * KC <= i; c++) z += Z[c * BH * L + r];
#endif
#if defined(EXP) && defined(EXPB) // NORM: z_i = Σ_j exp(x_ij − b_i) > 0
	s /= z;
	if (e % hw == 0) rows[h0 * L + r] = bnd[r] + log(z);
#elif !defined(EXP)
#ifdef NORM
	float st = z == 0.0 ? 0.0 : 1.0 / z;
	s *= st;
#else
	float st = 1.0;
#endif
	if (e % hw == 0) rows[h0 * L + r] = st;
#endif
	y[h0 * L * hw + e] = s;
}
#endif

#ifdef COLDA
layout(std430, binding = 0) readonly buffer BufD { float D[]; };
layout(std430, binding = 1) buffer BufDA { float da[]; };

void main() {
	int n = group() * 64 + int(gl_LocalInvocationIndex);
	if (n >= BH * L) return;
	int hl = n / L, j = n % L;
	float c = 0.0; // Σ_{i>j} dl_ij: consecutive threads read consecutive j
	for (int i = j + 1; i < L; i++) c += D[(hl * L + i) * L + j];
	da[(h0 + hl) * L + j] -= c;
}
#endif
