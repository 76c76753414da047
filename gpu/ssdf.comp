#version 430
// Fused chunked SSD of order 1 or 2 (ORDER2), three dispatches after the
// within-chunk cumulative log-decays cs (ChunkCumsum; at order 1 STATE
// computes them itself and writes cs: CSF):
//   STATE: T_c = Φ(K_c)ᵀ·(w ∘ V_c), w_j = exp(cs_last − cs_j)          (heads, nch, F, DVP)
//          one work group per (feature tile of RT features, head, chunk)
//   SCAN:  in place, T_c ← S_c with S_0 = 0, S_{c+1} = exp(cs_last(c))·S_c + T_c
//          one thread per vec4 of state entries, sequential over chunks (at order 1
//          SCANS: the chunks split into segments composed in shared memory)
//   OUT:   y_i = exp(cs_i)·φ(q_i)ᵀS_c + Σ_{j∈c, j≤i} f(s_ij)·exp(cs_i − cs_j)·v_j
//          one work group per (tile of RT rows, head, chunk): the first
//          term a register-tiled product over the F features, the second
//          the scores of the row tile against each key tile of the chunk up
//          to the diagonal, masked and weighted in registers, put in shared
//          memory and multiplied by the key tile's values; then ÷ under NORM.
// Features: φ(q) = q, φ(k) = k (order 1; scale applied to the product) or
// φ(q) = φ₂(q), φ(k) = φ₂(scale·k), the symmetric Kronecker map of
// FeatureMap2 (F = DK(DK+1)/2), so that φ(q_i)·φ(k_j) = f(s_ij).
// Values are padded to DVP columns (a multiple of 4, ≥ RT): column DV is
// the ones column under NORM (its sum is the denominator), the rest zeros.
// Each thread of STATE and OUT holds an RPT × 4 block of the output; the
// reduction runs in slices of KS = RT/RPT rows staged in shared memory and
// read as vec4s. q, k (BH, L, DK), v, y (BH, L, DV), cs (BH, L).
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
#define TR (RT / RPT)   // thread rows
#define TC (DVP / 4)    // thread columns
#define NT (TR * TC)    // threads per group
#define KS TR           // reduction slice
#define RQ (RT / 4)     // vec4s per row tile
#define RV (RPT / 4)    // vec4s of rows per thread
#define SQRT2 1.4142135623730951
// Shared tiles are vec4 arrays: a store of one float at a computed
// component (X[i][e >> 2][e & 3] = f) compiles to a four-way branch on
// NVIDIA, so VV (values), VLOAD (q, k, as 4×4 blocks transposed in
// registers) and VPH (order-2 features) stage whole vec4s instead.
// FULL (set where L is a multiple of CH and CH of RT): every row and key
// index of a chunk is inside the sequence, so STATE's and OUT's loads and
// masks drop those bounds checks.
#ifdef FULL
#define INB(c) true
#else
#define INB(c) (c)
#endif

#if defined(SCAN) && defined(SCANS)
layout(local_size_x = SCANNT) in; // SCANE entries × SCANS segments, a literal
#elif defined(SCAN)
layout(local_size_x = 256) in;
#else
layout(local_size_x = NTHREADS) in; // = NT, a literal (GLSL 4.30 layouts take no expressions)
#endif
layout(std430, binding = 0) readonly buffer BufQ { float q[]; };
layout(std430, binding = 1) readonly buffer BufK { float k[]; };
layout(std430, binding = 2) readonly buffer BufV { float v[]; };
#ifdef CSF // STATE writes cs from the decays a (order 1; ChunkCumsum is skipped)
layout(std430, binding = 3) writeonly buffer BufC { float cs[]; };
layout(std430, binding = 6) readonly buffer BufA { float la[]; };
#else
layout(std430, binding = 3) readonly buffer BufC { float cs[]; };
#endif
#if defined(SCAN) && defined(SCANS)
layout(std430, binding = 4) buffer BufT { float T[]; };
#else
layout(std430, binding = 4) buffer BufT { vec4 T4[]; };
#endif
layout(std430, binding = 5) writeonly buffer BufY { float y[]; };
#ifdef VLOAD // DK % 4 == 0: OUT reads the q and k tiles as vec4s
layout(std430, binding = 0) readonly buffer BufQ4 { vec4 q4[]; };
layout(std430, binding = 1) readonly buffer BufK4 { vec4 k4[]; };
#endif
#ifdef VV // DV % 4 == 0: STATE and OUT stage v as whole vec4s
layout(std430, binding = 2) readonly buffer BufV4 { vec4 v4[]; };
#endif
#ifdef VSTORE // DV % 4 == 0: OUT writes y as vec4s
layout(std430, binding = 5) writeonly buffer BufY4 { vec4 y4[]; };
#endif
uniform int BH, H0, L, nch, G; // BH heads from H0 in this dispatch; G = BH·nch groups
uniform float scale;

// pairOf maps feature p to (a, b), a ≤ b, row-major over the upper triangle.
ivec2 pairOf(int p) {
	float n = float(2 * DK + 1);
	int a = int(floor((n - sqrt(n * n - 8.0 * float(p))) * 0.5));
	a = clamp(a, 0, DK - 1);
	while (a > 0 && a * DK - a * (a - 1) / 2 > p) a--;
	while (a + 1 < DK && (a + 1) * DK - (a + 1) * a / 2 <= p) a++;
	return ivec2(a, p - (a * DK - a * (a - 1) / 2) + a);
}

// groupIndex is the (head, chunk) index g = hl·nch + c, from y and z.
int groupIndex() { return int(gl_WorkGroupID.z) * 65535 + int(gl_WorkGroupID.y); }

// fma4 adds a[m]·b to rows 4m..4m+3 of acc.
#define FMA4(acc, m, a, b) \
	acc[4 * (m)] += (a).x * (b); acc[4 * (m) + 1] += (a).y * (b); \
	acc[4 * (m) + 2] += (a).z * (b); acc[4 * (m) + 3] += (a).w * (b);

#if defined(STATE)
shared vec4 Ph[KS][RQ]; // φ(k_j) for the slice, this tile's features
shared vec4 Vs[KS][TC]; // w_j·[v_j, 1, 0…]
#ifdef ORDER2
shared float Kr[KS][DK];
shared ivec2 pr[RT];
shared float pc[RT];
#endif
#ifdef CSF
#ifdef ORDER2
#error CSF is an order-1 path
#endif
// CSF (order 1): the group sums its chunk's decays itself (al), keeps the
// weights w_j = exp(Σ_{u>j} a_u) in wl, and the first feature tile writes
// cs_j = Σ_{u≤j} a_u for SCAN and OUT: one dispatch less.
shared float al[CH], wl[CH];
#define WJ(j) wl[(j) - j0]
#else
#define WJ(j) exp(last - cs[h * L + (j)])
#endif
#ifdef SPF
#ifdef ORDER2
#error SPF is an order-1 path
#endif
// SPF (order 1, VV and VLOAD): the next slice's w∘v and k are loaded into
// registers while this slice's products run.
#define NV1 ((KS * TC + NT - 1) / NT)
#define NK1 ((KS * RQ + NT - 1) / NT)
vec4 vn[NV1], kn[NK1];
void loadSlice1(int h, int s0, int j0, int j1, int p0, float last) {
	int t = int(gl_LocalInvocationIndex);
	for (int u = 0; u < NV1; u++) {
		int x = t + u * NT, e4 = x % TC, j = s0 + x / TC;
		vec4 val = vec4(0.0);
		if (x < KS * TC && INB(j < j1)) {
			float w = WJ(j);
			if (e4 < DV / 4) val = w * v4[(h * L + j) * (DV / 4) + e4];
#ifdef NORM
			else if (e4 == DV / 4) val = vec4(w, 0.0, 0.0, 0.0);
#endif
		}
		vn[u] = val;
	}
	for (int u = 0; u < NK1; u++) {
		int x = t + u * NT, p4 = x % RQ, j = s0 + x / RQ, p = p0 + 4 * p4;
		kn[u] = x < KS * RQ && INB(j < j1) && p < F ? k4[(h * L + j) * (DK / 4) + p / 4] : vec4(0.0);
	}
}
#ifdef CSF
#define LAST 0.0 // WJ reads wl
#else
#define LAST last
#endif
#endif
#ifdef ORDER2
// The next slice's w∘v and k, loaded into registers while this slice's
// features and products are computed (at order 2).
#define NVL ((KS * DVP + NT - 1) / NT)
#define NKL ((KS * DK + NT - 1) / NT)
#define NVL4 ((KS * TC + NT - 1) / NT)
#ifdef VV
vec4 vr[NVL4];
#else
float vr[NVL];
#endif
float kr[NKL];
void loadSlice(int h, int s0, int j1, float last) {
	int t = int(gl_LocalInvocationIndex);
#ifdef VV
	for (int u = 0; u < NVL4; u++) {
		int x = t + u * NT, e4 = x % TC, j = s0 + x / TC;
		vec4 val = vec4(0.0);
		if (x < KS * TC && j < j1) {
			float w = exp(last - cs[h * L + j]);
			if (e4 < DV / 4) val = w * v4[(h * L + j) * (DV / 4) + e4];
#ifdef NORM
			else if (e4 == DV / 4) val = vec4(w, 0.0, 0.0, 0.0);
#endif
		}
		vr[u] = val;
	}
#else
	for (int u = 0; u < NVL; u++) {
		int x = t + u * NT, jj = x / DVP, e = x % DVP, j = s0 + jj;
		float val = 0.0;
		if (x < KS * DVP && j < j1) {
			float w = exp(last - cs[h * L + j]);
			if (e < DV) val = w * v[(h * L + j) * DV + e];
#ifdef NORM
			else if (e == DV) val = w;
#endif
		}
		vr[u] = val;
	}
#endif
	for (int u = 0; u < NKL; u++) {
		int x = t + u * NT, j = s0 + x / DK;
		kr[u] = x < KS * DK && j < j1 ? k[(h * L + j) * DK + x % DK] : 0.0;
	}
}
#endif
void main() {
	int g = groupIndex();
	if (g >= G) return; // uniform over the group
	int hl = g / nch, c = g % nch, h = H0 + hl;
	int t = int(gl_LocalInvocationIndex), ti = t / TC, tj = t % TC;
	int p0 = int(gl_WorkGroupID.x) * RT;
	int j0 = c * CH, j1 = min(j0 + CH, L);
#ifdef CSF
	for (int x = t; x < CH; x += NT) al[x] = INB(j0 + x < j1) ? la[h * L + j0 + x] : 0.0;
	barrier();
	for (int x = t; x < CH; x += NT) {
		float pre = 0.0, suf = 0.0; // in order from the chunk's start
		for (int u = 0; u < CH; u++) {
			float au = al[u];
			if (u <= x) pre += au;
			else suf += au;
		}
		wl[x] = exp(suf);
		if (gl_WorkGroupID.x == 0u && INB(j0 + x < j1)) cs[h * L + j0 + x] = pre;
	}
	barrier();
#else
	float last = cs[h * L + j1 - 1];
#endif
#ifdef ORDER2
	for (int x = t; x < RT; x += NT) {
		ivec2 ab = pairOf(min(p0 + x, F - 1));
		pr[x] = ab;
		pc[x] = (ab.x == ab.y ? 1.0 : SQRT2) * scale * scale;
	}
#endif
	vec4 acc[RPT];
	for (int r = 0; r < RPT; r++) acc[r] = vec4(0.0);
#ifdef ORDER2
	loadSlice(h, j0, j1, last);
#endif
#ifdef SPF
	loadSlice1(h, j0, j0, j1, p0, LAST);
#endif
	for (int s0 = j0; s0 < j1; s0 += KS) {
#ifdef SPF
		for (int u = 0; u < NV1; u++) {
			int x = t + u * NT;
			if (x < KS * TC) Vs[x / TC][x % TC] = vn[u];
		}
		for (int u = 0; u < NK1; u++) {
			int x = t + u * NT;
			if (x < KS * RQ) Ph[x / RQ][x % RQ] = kn[u];
		}
		barrier();
		if (s0 + KS < j1) loadSlice1(h, s0 + KS, j0, j1, p0, LAST);
#else
#ifdef ORDER2
#ifdef VV
		for (int u = 0; u < NVL4; u++) {
			int x = t + u * NT;
			if (x < KS * TC) Vs[x / TC][x % TC] = vr[u];
		}
#else
		for (int u = 0; u < NVL; u++) {
			int x = t + u * NT, e = x % DVP;
			if (x < KS * DVP) Vs[x / DVP][e >> 2][e & 3] = vr[u];
		}
#endif
		for (int u = 0; u < NKL; u++) {
			int x = t + u * NT;
			if (x < KS * DK) Kr[x / DK][x % DK] = kr[u];
		}
		barrier();
		if (s0 + KS < j1) loadSlice(h, s0 + KS, j1, last);
#elif defined(VV)
		for (int x = t; x < KS * TC; x += NT) {
			int jj = x / TC, e4 = x % TC, j = s0 + jj;
			vec4 val = vec4(0.0);
			if (INB(j < j1)) {
				float w = WJ(j);
				if (e4 < DV / 4) val = w * v4[(h * L + j) * (DV / 4) + e4];
#ifdef NORM
				else if (e4 == DV / 4) val = vec4(w, 0.0, 0.0, 0.0);
#endif
			}
			Vs[jj][e4] = val;
		}
#else
		for (int x = t; x < KS * DVP; x += NT) {
			int jj = x / DVP, e = x % DVP, j = s0 + jj;
			float val = 0.0;
			if (INB(j < j1)) {
				float w = WJ(j);
				if (e < DV) val = w * v[(h * L + j) * DV + e];
#ifdef NORM
				else if (e == DV) val = w;
#endif
			}
			Vs[jj][e >> 2][e & 3] = val;
		}
#endif
#ifdef ORDER2
#ifdef VPH
		for (int x = t; x < KS * RQ; x += NT) {
			int jj = x / RQ, p4 = 4 * (x % RQ);
			ivec2 a0 = pr[p4], a1 = pr[p4 + 1], a2 = pr[p4 + 2], a3 = pr[p4 + 3];
			vec4 ph = vec4(pc[p4] * Kr[jj][a0.x] * Kr[jj][a0.y], pc[p4 + 1] * Kr[jj][a1.x] * Kr[jj][a1.y],
				pc[p4 + 2] * Kr[jj][a2.x] * Kr[jj][a2.y], pc[p4 + 3] * Kr[jj][a3.x] * Kr[jj][a3.y]);
			Ph[jj][p4 >> 2] = mix(vec4(0.0), ph, lessThan(ivec4(p0 + p4) + ivec4(0, 1, 2, 3), ivec4(F)));
		}
#else
		for (int x = t; x < KS * RT; x += NT) {
			int jj = x / RT, pp = x % RT;
			ivec2 ab = pr[pp];
			Ph[jj][pp >> 2][pp & 3] = p0 + pp < F ? pc[pp] * Kr[jj][ab.x] * Kr[jj][ab.y] : 0.0;
		}
#endif
#elif defined(VLOAD) // order 1, F = DK a multiple of 4: whole vec4s of k
		for (int x = t; x < KS * RQ; x += NT) {
			int jj = x / RQ, p4 = x % RQ, j = s0 + jj, p = p0 + 4 * p4;
			Ph[jj][p4] = (INB(j < j1) && p < F) ? k4[(h * L + j) * (DK / 4) + p / 4] : vec4(0.0);
		}
#else
		for (int x = t; x < KS * RT; x += NT) {
			int jj = x / RT, pp = x % RT, j = s0 + jj, p = p0 + pp;
			Ph[jj][pp >> 2][pp & 3] = (INB(j < j1) && p < F) ? k[(h * L + j) * DK + p] : 0.0;
		}
#endif
		barrier();
#endif // SPF
		for (int jj = 0; jj < KS; jj++) {
			vec4 b = Vs[jj][tj];
			for (int m = 0; m < RV; m++) {
				vec4 a = Ph[jj][ti * RV + m];
				FMA4(acc, m, a, b)
			}
		}
		barrier();
	}
	for (int r = 0; r < RPT; r++) {
		int p = p0 + ti * RPT + r;
		if (p < F) T4[(g * F + p) * TC + tj] = acc[r];
	}
}

#elif defined(SCAN) && defined(SCANS)
// SCAN with the chunks split into segments (SCANS, set at order 1): a work
// group holds SCANE entries of one head's state (warps along the entries:
// 128-byte loads) × SCANS segments and walks the chunks in rounds of
// SCANS·SCANU. In a round each thread loads its segment's SCANU chunk
// states into registers, composes them into one affine step S ↦ A·S + B
// (A the product of the segment's decays), the steps of the segments
// before it (in shared memory) give the state entering its segment, and it
// writes its chunks' entering states. T crosses memory once each way, as
// in the sequential SCAN, with SCANS times its threads in flight; the
// decays of a round are computed once a group.
shared float sA[SCANS][SCANE], sB[SCANS][SCANE];
shared float dcs[SCANS * SCANU];
void main() {
	int per = F * DVP;
	int t = int(gl_LocalInvocationIndex), e = t % SCANE, s = t / SCANE;
	int idx = int(gl_WorkGroupID.x) * SCANE + e, hl = int(gl_WorkGroupID.y), h = H0 + hl;
	bool ok = idx < per;
	int o = hl * nch * per + idx;
	float carry = 0.0;
	for (int r0 = 0; r0 < nch; r0 += SCANS * SCANU) {
		for (int x = t; x < SCANS * SCANU; x += SCANS * SCANE) {
			int c = r0 + x;
			dcs[x] = c < nch ? exp(cs[h * L + min(c * CH + CH, L) - 1]) : 1.0;
		}
		barrier();
		int cb = r0 + s * SCANU;
		float tv[SCANU];
		for (int u = 0; u < SCANU; u++) tv[u] = ok && cb + u < nch ? T[o + (cb + u) * per] : 0.0;
		float A = 1.0, B = 0.0;
		for (int u = 0; u < SCANU; u++) {
			float dc = dcs[s * SCANU + u];
			B = dc * B + tv[u];
			A *= dc;
		}
		sA[s][e] = A;
		sB[s][e] = B;
		barrier();
		float S = carry, sin = 0.0; // sin: the state entering this segment
		for (int s2 = 0; s2 < SCANS; s2++) {
			if (s2 == s) sin = S;
			S = sA[s2][e] * S + sB[s2][e];
		}
		carry = S;
		for (int u = 0; u < SCANU; u++) {
			if (ok && cb + u < nch) T[o + (cb + u) * per] = sin;
			sin = dcs[s * SCANU + u] * sin + tv[u];
		}
		barrier(); // sA, sB and dcs are rewritten next round
	}
}

#elif defined(SCAN)
// The sequential SCAN: one thread per vec4 of state entries (DVP is a
// multiple of 4, so a vec4 never straddles two chunks' states), 16-byte
// loads with SCANU chunks of them in flight.
void main() {
	int x = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 256 + int(gl_LocalInvocationIndex);
	int per = F * DVP / 4;
	if (x >= BH * per) return;
	int hl = x / per, idx = x % per, h = H0 + hl;
	int o = hl * nch * per + idx;
	vec4 s = vec4(0.0);
	int c = 0;
	for (; c + SCANU <= nch; c += SCANU) {
		vec4 tv[SCANU];
		float dc[SCANU];
		for (int u = 0; u < SCANU; u++) {
			tv[u] = T4[o + (c + u) * per];
			dc[u] = exp(cs[h * L + min((c + u) * CH + CH, L) - 1]);
		}
		for (int u = 0; u < SCANU; u++) {
			T4[o + (c + u) * per] = s;
			s = dc[u] * s + tv[u];
		}
	}
	for (; c < nch; c++) {
		vec4 tv = T4[o + c * per];
		T4[o + c * per] = s;
		s = exp(cs[h * L + min(c * CH + CH, L) - 1]) * s + tv;
	}
}

#elif defined(OUT) && defined(OWH)
// OUT at order 1 where the chunk is one row tile (CH = RT) and q, k, v are
// read as vec4s (VLOAD, VV): each operand is staged whole, so the group
// passes 5 barriers instead of 2 per 16-deep slice. SA holds the q tile
// transposed, then the chunk's values; SW holds S_c, then the k tile
// transposed, then the weights P transposed. Same result as OUT.
#define MX(a, b) ((a) > (b) ? (a) : (b))
shared vec4 SA[MX(DK * (RQ + QPAD), RT * TC)];
shared vec4 SW[MX(MX(F * TC, DK * RQ), RT * RQ)];
#ifdef DENB
// DENB (NORM): the ones column is left out of the products, so DVP is the
// product width here (no column group for one useful column) and T's rows
// are TTC vec4s, the ones column at DV. The denominator of row i,
// scale·exp(cs_i)·q_i·z_c + Σ_j P_ij with z_c = S_c[:, DV], is summed apart:
// thread (ti, tj) writes q_i·z_c over the features tj, tj + TC, … into
// Dp[tj][rows], the score thread (si, sj) adds its rows' sums of P over its
// 4 keys into Dp[sj][rows] (RQ ≤ TC), and each thread adds up the TC
// partials of its rows at the end.
#define TROW TTC
shared float zc[F];
shared vec4 Dp[TC * RQ];
#else
#define TROW TC
shared float den[RT];
#endif
// OWC: the chunk's cumulative decays staged in shared memory with the q
// tile, so that the row factors and the score weights wait on no global
// load in the middle of the products
shared float csh[RT];
#define CSI(i) csh[(i) - i0]
#define QT_(a, r4) SA[(a) * (RQ + QPAD) + (r4)]
#define KP_(a, r4) SW[(a) * RQ + (r4)]
void main() {
	int g = groupIndex();
	if (g >= G) return; // uniform over the group
	int hl = g / nch, c = g % nch, h = H0 + hl;
	int i0 = c * CH, iend = min(i0 + CH, L);
	int t = int(gl_LocalInvocationIndex), ti = t / TC, tj = t % TC;
	for (int x = t; x < RT; x += NT) csh[x] = cs[h * L + min(i0 + x, L - 1)];
	for (int x = t; x < RQ * DK / 4; x += NT) {
		int r4 = x % RQ, a = 4 * (x / RQ), i = i0 + 4 * r4, o = (h * L + i) * (DK / 4) + a / 4;
		vec4 q0 = INB(i < iend) ? q4[o] : vec4(0.0);
		vec4 q1 = INB(i + 1 < iend) ? q4[o + DK / 4] : vec4(0.0);
		vec4 q2 = INB(i + 2 < iend) ? q4[o + DK / 2] : vec4(0.0);
		vec4 q3 = INB(i + 3 < iend) ? q4[o + 3 * DK / 4] : vec4(0.0);
		QT_(a, r4) = vec4(q0.x, q1.x, q2.x, q3.x);
		QT_(a + 1, r4) = vec4(q0.y, q1.y, q2.y, q3.y);
		QT_(a + 2, r4) = vec4(q0.z, q1.z, q2.z, q3.z);
		QT_(a + 3, r4) = vec4(q0.w, q1.w, q2.w, q3.w);
	}
	// OWP: the k tile and later the values are loaded into registers a
	// stage ahead of their shared-memory stores (kr during Q·S_c, vr
	// during the scores)
#define NKP ((RQ * DK / 4 + NT - 1) / NT)
#define NVP ((RT * TC + NT - 1) / NT)
	vec4 kr[4 * NKP];
	for (int u = 0; u < NKP; u++) {
		int x = t + u * NT, r4 = x % RQ, a = 4 * (x / RQ), j = i0 + 4 * r4, o = (h * L + j) * (DK / 4) + a / 4;
		bool ok = x < RQ * DK / 4;
		kr[4 * u] = ok && INB(j < iend) ? k4[o] : vec4(0.0);
		kr[4 * u + 1] = ok && INB(j + 1 < iend) ? k4[o + DK / 4] : vec4(0.0);
		kr[4 * u + 2] = ok && INB(j + 2 < iend) ? k4[o + DK / 2] : vec4(0.0);
		kr[4 * u + 3] = ok && INB(j + 3 < iend) ? k4[o + 3 * DK / 4] : vec4(0.0);
	}
	int so = g * F * TROW;
	if (c > 0) { // S_c is F rows of TC vec4s, as SW lays them out: one copy
#ifdef DENB
		for (int x = t; x < F * TC; x += NT) SW[x] = T4[so + (x / TC) * TTC + x % TC];
		for (int x = t; x < F; x += NT) zc[x] = T4[so + x * TTC + DV / 4].x;
#else
		for (int x = t; x < F * TC; x += NT) SW[x] = T4[so + x];
#endif
	}
	barrier();
	vec4 acc[RPT];
	for (int r = 0; r < RPT; r++) acc[r] = vec4(0.0);
	if (c > 0) { // S_0 = 0
		for (int f = 0; f < F; f++) {
			vec4 b = SW[f * TC + tj];
			for (int m = 0; m < RV; m++) {
				vec4 a = QT_(f, ti * RV + m);
				FMA4(acc, m, a, b)
			}
		}
		for (int r = 0; r < RPT; r++) {
			int i = i0 + ti * RPT + r;
			acc[r] *= INB(i < iend) ? scale * exp(CSI(i)) : 0.0;
		}
	}
#ifdef DENB
	for (int m = 0; m < RV; m++) {
		vec4 dz = vec4(0.0);
		if (c > 0) {
			for (int f = tj; f < F; f += TC) dz += QT_(f, ti * RV + m) * zc[f];
			for (int u = 0; u < 4; u++) {
				int i = i0 + 4 * (ti * RV + m) + u;
				dz[u] *= INB(i < iend) ? scale * exp(CSI(min(i, L - 1))) : 0.0;
			}
		}
		Dp[tj * RQ + ti * RV + m] = dz;
	}
#endif
	barrier();
	for (int u = 0; u < NKP; u++) {
		int x = t + u * NT, r4 = x % RQ, a = 4 * (x / RQ);
		if (x < RQ * DK / 4) {
			vec4 k0 = kr[4 * u], k1 = kr[4 * u + 1], k2 = kr[4 * u + 2], k3 = kr[4 * u + 3];
			KP_(a, r4) = vec4(k0.x, k1.x, k2.x, k3.x);
			KP_(a + 1, r4) = vec4(k0.y, k1.y, k2.y, k3.y);
			KP_(a + 2, r4) = vec4(k0.z, k1.z, k2.z, k3.z);
			KP_(a + 3, r4) = vec4(k0.w, k1.w, k2.w, k3.w);
		}
	}
	barrier();
	vec4 vr[NVP];
	for (int u = 0; u < NVP; u++) {
		int x = t + u * NT, jj = x / TC, e4 = x % TC, j = i0 + jj;
		vec4 val = vec4(0.0);
		if (x < RT * TC && INB(j < iend)) {
			if (e4 < DV / 4) val = v4[(h * L + j) * (DV / 4) + e4];
#if defined(NORM) && !defined(DENB)
			else if (e4 == DV / 4) val = vec4(1.0, 0.0, 0.0, 0.0);
#endif
		}
		vr[u] = val;
	}
	bool sthr = t < TR * RQ;
#if TR % 8 == 0 && RQ % 4 == 0
	// OWT: each warp a block of 8 row groups × 4 key groups (lanes along
	// the rows: the stores of P fill the banks), so that the warps whose
	// keys all lie past their rows (2 of 8 at RT 64) skip the scores; the
	// q and k reads of a warp are 8 and 4 vec4s
	int wq = t & 31, wb = t >> 5;
	int si = (wb % (TR / 8)) * 8 + (wq & 7), sj = (wb / (TR / 8)) * 4 + (wq >> 3);
	bool sact = sthr && 4 * sj <= si * RPT + RPT - 1;
#else
	int si = t % TR, sj = t / TR; // row groups fastest: the stores of P spread over the banks
	bool sact = sthr;
#endif
	vec4 sc[RPT];
	for (int r = 0; r < RPT; r++) sc[r] = vec4(0.0);
	if (sact) {
		for (int a = 0; a < DK; a++) {
			vec4 kb = KP_(a, sj);
			for (int m = 0; m < RV; m++) {
				vec4 qa = QT_(a, si * RV + m);
				FMA4(sc, m, qa, kb)
			}
		}
		float cj[4];
		for (int u = 0; u < 4; u++) cj[u] = CSI(min(i0 + 4 * sj + u, L - 1));
		for (int r = 0; r < RPT; r++) {
			int i = i0 + si * RPT + r;
			float ci = CSI(min(i, L - 1));
			for (int u = 0; u < 4; u++) {
				int j = i0 + 4 * sj + u;
				sc[r][u] = (j <= i && INB(i < iend)) ? scale * sc[r][u] * exp(ci - cj[u]) : 0.0;
			}
		}
#ifdef DENB
		for (int m = 0; m < RV; m++) {
			vec4 rs = vec4(dot(sc[4 * m], vec4(1.0)), dot(sc[4 * m + 1], vec4(1.0)), dot(sc[4 * m + 2], vec4(1.0)), dot(sc[4 * m + 3], vec4(1.0)));
			Dp[sj * RQ + si * RV + m] += rs;
		}
#endif
	}
	barrier();
	if (sthr) {
		for (int u = 0; u < 4; u++) {
			for (int m = 0; m < RV; m++) {
				KP_(4 * sj + u, si * RV + m) = vec4(sc[4 * m][u], sc[4 * m + 1][u], sc[4 * m + 2][u], sc[4 * m + 3][u]);
			}
		}
	}
	for (int u = 0; u < NVP; u++) {
		int x = t + u * NT;
		if (x < RT * TC) SA[x] = vr[u];
	}
	barrier();
	// keys past this thread's last row carry zero weight: skip them
	for (int jj = 0; jj < ti * RPT + RPT; jj++) {
		vec4 b = SA[jj * TC + tj];
		for (int m = 0; m < RV; m++) {
			vec4 a = KP_(jj, ti * RV + m);
			FMA4(acc, m, a, b)
		}
	}
#ifdef DENB
	vec4 dn[RV];
	for (int m = 0; m < RV; m++) {
		dn[m] = vec4(0.0);
		for (int s = 0; s < TC; s++) dn[m] += Dp[s * RQ + ti * RV + m];
	}
#elif defined(NORM)
	if (tj == DV / 4) {
		for (int r = 0; r < RPT; r++) den[ti * RPT + r] = acc[r][DV & 3];
	}
	barrier();
#endif
	for (int r = 0; r < RPT; r++) {
		int i = i0 + ti * RPT + r;
#ifdef DENB
		float dd = dn[r >> 2][r & 3];
		vec4 o = dd != 0.0 ? acc[r] / dd : vec4(0.0);
#elif defined(NORM)
		float dd = den[ti * RPT + r];
		vec4 o = dd != 0.0 ? acc[r] / dd : vec4(0.0);
#else
		vec4 o = acc[r];
#endif
		if (INB(i < iend) && 4 * tj < DV) y4[(h * L + i) * (DV / 4) + tj] = o;
	}
}

#elif defined(OUT)
#if DK > RT
#define KPR DK
#else
#define KPR RT
#endif
// QPAD vec4s pad each row of QT: the order-2 feature build reads 16 rows
// of it at one column, which without padding fall into one bank.
shared vec4 QT[DK][RQ + QPAD]; // q of the row tile, transposed
shared vec4 KP[KPR][RQ]; // k of a key tile transposed, then the weights P transposed
#ifndef XIN
shared vec4 Ph[KS][RQ];  // φ(q) for a feature slice (order 2)
#else
// XIN (order 2, ssdx.go): ssdx.comp's OUTX has written exp(cs_i)·φ(q_i)ᵀS_c
// for the rows of chunks c > 0, (heads of the batch, L, DVP)
layout(std430, binding = 7) readonly buffer BufX { vec4 X4[]; };
#endif
shared vec4 Ss[KS][TC];  // a slice of S_c, or of the key tile's values
shared float den[RT];
void main() {
	int g = groupIndex();
	if (g >= G) return; // uniform over the group
	int hl = g / nch, c = g % nch, h = H0 + hl;
	int rt = int(gl_WorkGroupID.x);
	int c0 = c * CH, cend = min(c0 + CH, L);
	int i0 = c0 + rt * RT;
	if (i0 >= cend) return; // uniform
	int iend = min(i0 + RT, cend);
	int t = int(gl_LocalInvocationIndex), ti = t / TC, tj = t % TC;
	// rows fastest: the transposing stores of a warp hit 32 banks
#ifdef VLOAD
	// 4 rows × 4 features a thread, 16-byte loads (a scalar load of one
	// feature per row is 32 sectors a warp), transposed in registers
	for (int x = t; x < RQ * DK / 4; x += NT) {
		int r4 = x % RQ, a = 4 * (x / RQ), i = i0 + 4 * r4, o = (h * L + i) * (DK / 4) + a / 4;
		vec4 q0 = INB(i < iend) ? q4[o] : vec4(0.0);
		vec4 q1 = INB(i + 1 < iend) ? q4[o + DK / 4] : vec4(0.0);
		vec4 q2 = INB(i + 2 < iend) ? q4[o + DK / 2] : vec4(0.0);
		vec4 q3 = INB(i + 3 < iend) ? q4[o + 3 * DK / 4] : vec4(0.0);
		QT[a][r4] = vec4(q0.x, q1.x, q2.x, q3.x);
		QT[a + 1][r4] = vec4(q0.y, q1.y, q2.y, q3.y);
		QT[a + 2][r4] = vec4(q0.z, q1.z, q2.z, q3.z);
		QT[a + 3][r4] = vec4(q0.w, q1.w, q2.w, q3.w);
	}
#else
	for (int x = t; x < RT * DK; x += NT) {
		int ii = x % RT, a = x / RT, i = i0 + ii;
		QT[a][ii >> 2][ii & 3] = INB(i < iend) ? q[(h * L + i) * DK + a] : 0.0;
	}
#endif
	barrier();
	vec4 acc[RPT];
	for (int r = 0; r < RPT; r++) acc[r] = vec4(0.0);
#ifdef XIN
	if (c > 0) { // S_0 = 0
		for (int r = 0; r < RPT; r++) {
			int i = i0 + ti * RPT + r;
			acc[r] = INB(i < iend) ? X4[(hl * L + i) * TC + tj] : vec4(0.0);
		}
	}
#else
	if (c > 0) { // S_0 = 0
		int so = g * F * TC;
#ifdef ORDER2
		int ff = t % KS; // this thread's feature within each slice (NT is a multiple of KS)
		ivec2 ab = pairOf(min(ff, F - 1));
		int pa = ab.x, pb = ab.y;
#endif
		// KS·TC = NT: each thread moves one vec4 of S_c a slice (ti, tj);
		// the next slice's is loaded during this slice's products
		vec4 snext = ti < F ? T4[so + ti * TC + tj] : vec4(0.0);
		for (int f0 = 0; f0 < F; f0 += KS) {
			Ss[ti][tj] = snext;
#ifdef ORDER2
			bool ok = f0 + ff < F;
			int qa = min(pa, DK - 1), qb = min(pb, DK - 1);
			float coef = pa == pb ? 1.0 : SQRT2;
#ifdef VPH
			for (int x = t; x < KS * RQ; x += NT) {
				int i4 = x / KS;
				Ph[ff][i4] = ok ? coef * QT[qa][i4] * QT[qb][i4] : vec4(0.0);
			}
#else
			for (int x = t; x < KS * RT; x += NT) {
				int ii = x / KS;
				Ph[ff][ii >> 2][ii & 3] = ok ? coef * QT[qa][ii >> 2][ii & 3] * QT[qb][ii >> 2][ii & 3] : 0.0;
			}
#endif
			pb += KS; // advance this thread's pair by KS features
			while (pb >= DK && pa < DK) {
				pa++;
				pb = pb - DK + pa;
			}
#endif
			barrier();
			snext = f0 + KS + ti < F ? T4[so + (f0 + KS + ti) * TC + tj] : vec4(0.0);
			for (int f = 0; f < KS; f++) {
				vec4 b = Ss[f][tj];
				for (int m = 0; m < RV; m++) {
#ifdef ORDER2
					vec4 a = Ph[f][ti * RV + m];
#else
					vec4 a = QT[min(f0 + f, DK - 1)][ti * RV + m];
#endif
					FMA4(acc, m, a, b)
				}
			}
			barrier();
		}
		for (int r = 0; r < RPT; r++) {
			int i = i0 + ti * RPT + r;
			float m = INB(i < iend) ? exp(cs[h * L + i]) : 0.0;
#ifndef ORDER2
			m *= scale;
#endif
			acc[r] *= m;
		}
	}
#endif
	// within the chunk: key tiles 0..rt
	bool sthr = t < TR * RQ;
	int si = t % TR, sj = t / TR; // row groups fastest: the stores of P spread over the banks
	float ci[RPT];
	for (int r = 0; r < RPT; r++) ci[r] = cs[h * L + min(i0 + si * RPT + r, L - 1)];
	for (int kt = 0; kt <= rt; kt++) {
		int jb = c0 + kt * RT, jend = min(jb + RT, cend);
#ifdef VLOAD
		for (int x = t; x < RQ * DK / 4; x += NT) {
			int r4 = x % RQ, a = 4 * (x / RQ), j = jb + 4 * r4, o = (h * L + j) * (DK / 4) + a / 4;
			vec4 k0 = INB(j < jend) ? k4[o] : vec4(0.0);
			vec4 k1 = INB(j + 1 < jend) ? k4[o + DK / 4] : vec4(0.0);
			vec4 k2 = INB(j + 2 < jend) ? k4[o + DK / 2] : vec4(0.0);
			vec4 k3 = INB(j + 3 < jend) ? k4[o + 3 * DK / 4] : vec4(0.0);
			KP[a][r4] = vec4(k0.x, k1.x, k2.x, k3.x);
			KP[a + 1][r4] = vec4(k0.y, k1.y, k2.y, k3.y);
			KP[a + 2][r4] = vec4(k0.z, k1.z, k2.z, k3.z);
			KP[a + 3][r4] = vec4(k0.w, k1.w, k2.w, k3.w);
		}
#else
		for (int x = t; x < RT * DK; x += NT) {
			int jj = x % RT, a = x / RT, j = jb + jj;
			KP[a][jj >> 2][jj & 3] = INB(j < jend) ? k[(h * L + j) * DK + a] : 0.0;
		}
#endif
		barrier();
		vec4 sc[RPT];
		if (sthr) {
			for (int r = 0; r < RPT; r++) sc[r] = vec4(0.0);
			for (int a = 0; a < DK; a++) {
				vec4 kb = KP[a][sj];
				for (int m = 0; m < RV; m++) {
					vec4 qa = QT[a][si * RV + m];
					FMA4(sc, m, qa, kb)
				}
			}
			float cj[4];
			for (int u = 0; u < 4; u++) cj[u] = cs[h * L + min(jb + 4 * sj + u, L - 1)];
			for (int r = 0; r < RPT; r++) {
				int i = i0 + si * RPT + r;
				for (int u = 0; u < 4; u++) {
					int j = jb + 4 * sj + u;
					float s = scale * sc[r][u];
#ifdef ORDER2
					s *= s;
#endif
					sc[r][u] = (j <= i && INB(j < jend && i < iend)) ? s * exp(ci[r] - cj[u]) : 0.0;
				}
			}
		}
		barrier();
		if (sthr) {
			for (int u = 0; u < 4; u++) {
				for (int m = 0; m < RV; m++) {
					KP[4 * sj + u][si * RV + m] = vec4(sc[4 * m][u], sc[4 * m + 1][u], sc[4 * m + 2][u], sc[4 * m + 3][u]);
				}
			}
		}
		barrier();
		for (int s0 = 0; s0 < jend - jb; s0 += KS) {
#ifdef VV
			for (int x = t; x < KS * TC; x += NT) {
				int jj = x / TC, e4 = x % TC, j = jb + s0 + jj;
				vec4 val = vec4(0.0);
				if (INB(j < jend)) {
					if (e4 < DV / 4) val = v4[(h * L + j) * (DV / 4) + e4];
#ifdef NORM
					else if (e4 == DV / 4) val = vec4(1.0, 0.0, 0.0, 0.0);
#endif
				}
				Ss[jj][e4] = val;
			}
#else
			for (int x = t; x < KS * DVP; x += NT) {
				int jj = x / DVP, e = x % DVP, j = jb + s0 + jj;
				float val = 0.0;
				if (INB(j < jend)) {
					if (e < DV) val = v[(h * L + j) * DV + e];
#ifdef NORM
					else if (e == DV) val = 1.0;
#endif
				}
				Ss[jj][e >> 2][e & 3] = val;
			}
#endif
			barrier();
			// keys past this thread's last row carry zero weight: skip them
			for (int jj = 0; jj < (jb + s0 <= i0 + ti * RPT + RPT - 1 ? KS : 0); jj++) {
				vec4 b = Ss[jj][tj];
				int jr = min(s0 + jj, RT - 1);
				for (int m = 0; m < RV; m++) {
					vec4 a = KP[jr][ti * RV + m];
					FMA4(acc, m, a, b)
				}
			}
			barrier();
		}
	}
#ifdef NORM
	if (tj == DV / 4) {
		for (int r = 0; r < RPT; r++) den[ti * RPT + r] = acc[r][DV & 3];
	}
	barrier();
#endif
	// no break or continue here: acc keeps constant indices once unrolled
	for (int r = 0; r < RPT; r++) {
		int i = i0 + ti * RPT + r;
		bool ok = INB(i < iend);
#ifdef NORM
		float dd = den[ti * RPT + r];
		vec4 o = dd != 0.0 ? acc[r] / dd : vec4(0.0);
#else
		vec4 o = acc[r];
#endif
#ifdef VSTORE
		if (ok && 4 * tj < DV) y4[(h * L + i) * (DV / 4) + tj] = o;
#else
		if (ok && 4 * tj < DV) y[(h * L + i) * DV + 4 * tj] = o.x;
		if (ok && 4 * tj + 1 < DV) y[(h * L + i) * DV + 4 * tj + 1] = o.y;
		if (ok && 4 * tj + 2 < DV) y[(h * L + i) * DV + 4 * tj + 2] = o.z;
		if (ok && 4 * tj + 3 < DV) y[(h * L + i) * DV + 4 * tj + 3] = o.w;
#endif
	}
}
#endif
