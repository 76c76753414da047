#version 430
// The two state products of order-2 chunked SSD (ssdf.comp's ORDER2) as
// register-tiled products with double-buffered shared slices and one
// barrier a slice (the recipe of matmul.comp's SGEMM):
//   OUTX:   X_i = exp(cs_i)·φ(q_i)ᵀS_c for the rows i of chunk c > 0      (heads, L, DVP)
//           one work group per (RX rows, head, chunk); written unnormalised,
//           with the denominator column; ssdf.comp's OUT (XIN) adds the
//           within-chunk part to it and normalises
//   STATEX: T_c = Φ(K_c)ᵀ·(w ∘ V_c), w_j = exp(cs_last − cs_j)            (heads, nch, F, DVP)
//           one work group per (RX features, head, chunk): ssdf.comp's
//           STATE, same output
// φ = φ₂, the symmetric Kronecker map of FeatureMap2 (F = DK(DK+1)/2);
// the scale goes with the keys (φ(k) = φ₂(scale·k)). S_c, T_c: F rows of
// DVP values (a multiple of 4: the values, the ones column under NORM,
// zeros). Each thread holds TM rows (features in STATEX) × 4·TNV columns,
// rows in vec4 groups ty, ty + TY, … and columns in vec4s tx, tx + NC, …
// so that a warp reads few distinct vec4s of each slice. The φ slice of
// the next step is built in shared memory from the q tile (OUTX; staged
// once, transposed) or from the keys of the step after it (STATEX; three
// key buffers) while this step's product runs.
// DENB (under NORM, DV a multiple of 4): the denominator column (column DV,
// the sums over the ones column) is left out of the products and summed
// by the threads that build the φ slices instead, each over the entries
// it builds (φ·S_c[f, DV] in OUTX, φ·w_j in STATEX), then reduced in
// shared memory: the products' columns are DV, not DV + 4, and the thread
// count a multiple of 32 where DV is 64.
#define F (DK * (DK + 1) / 2)
#define TC (DVP / 4)            // vec4s of a state row
#ifdef DENB // NORM, DV % 4 == 0: the products run over the DV value columns only
#define TCP (DV / 4)
#else
#define TCP TC                  // vec4s of a row in the products
#endif
#define NC ((TCP + TNV - 1) / TNV) // thread columns
#define SW (NC * TNV)           // vec4s of a staged state (or value) row, ≥ TCP
#define TMV (TM / 4)            // row vec4s a thread
#define TY (RX / TM)            // thread rows
#define NT (TY * NC)
#define RQ (RX / 4)
#define SQRT2 1.4142135623730951
#ifdef FULL
#define INB(c) true
#else
#define INB(c) (c)
#endif
layout(local_size_x = NTHREADS) in; // = NT
layout(std430, binding = 0) readonly buffer BufQ { float q[]; };
layout(std430, binding = 1) readonly buffer BufK { float k[]; };
layout(std430, binding = 2) readonly buffer BufV { float v[]; };
layout(std430, binding = 3) readonly buffer BufC { float cs[]; };
#ifdef OUTX
layout(std430, binding = 4) readonly buffer BufT { vec4 T4[]; };
layout(std430, binding = 5) writeonly buffer BufX { vec4 X4[]; };
#else
layout(std430, binding = 4) writeonly buffer BufT { vec4 T4[]; };
#endif
#ifdef VLOAD // DK % 4 == 0
layout(std430, binding = 0) readonly buffer BufQ4 { vec4 q4[]; };
layout(std430, binding = 1) readonly buffer BufK4 { vec4 k4[]; };
#endif
#ifdef VV // DV % 4 == 0
layout(std430, binding = 2) readonly buffer BufV4 { vec4 v4[]; };
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

int groupIndex() { return int(gl_WorkGroupID.z) * 65535 + int(gl_WorkGroupID.y); }

shared vec4 Ph[2][KS][RQ]; // φ slices: [step][feature or key][rows or features]
shared vec4 Ss[2][KS][SW]; // S_c slices (OUTX) or w∘v slices (STATEX)

// product adds this step's slice (buffer b) to acc: TM × 4·TNV a thread.
#define PRODUCT(acc, b) \
	for (int f = 0; f < KS; f++) { \
		vec4 av[TMV], bv[TNV]; \
		for (int m = 0; m < TMV; m++) av[m] = Ph[b][f][m * TY + ty]; \
		for (int n = 0; n < TNV; n++) bv[n] = Ss[b][f][n * NC + tx]; \
		for (int r = 0; r < TM; r++) { \
			float ar = av[r / 4][r % 4]; \
			for (int n = 0; n < TNV; n++) acc[r][n] = fma(vec4(ar), bv[n], acc[r][n]); \
		} \
	}

#if defined(OUTX)
#define NSV ((KS * SW + NT - 1) / NT) // S vec4s a thread a step
#define NPB ((KS * RQ + NT - 1) / NT) // φ vec4s a thread a step
shared vec4 QT[DK][RQ]; // q of the row tile, transposed
void main() {
	int g = groupIndex();
	if (g >= G) return; // uniform over the group
	int hl = g / nch, c = g % nch, h = H0 + hl;
	if (c == 0) return; // S_0 = 0: OUT adds nothing
	int c0 = c * CH, cend = min(c0 + CH, L);
	int i0 = c0 + int(gl_WorkGroupID.x) * RX;
	if (i0 >= cend) return; // uniform
	int iend = min(i0 + RX, cend);
	int t = int(gl_LocalInvocationIndex), tx = t % NC, ty = t / NC;
#ifdef VLOAD
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
	for (int x = t; x < RQ * DK; x += NT) {
		int r4 = x % RQ, a = x / RQ, i = i0 + 4 * r4, o = (h * L + i) * DK + a;
		QT[a][r4] = vec4(i < iend ? q[o] : 0.0, i + 1 < iend ? q[o + DK] : 0.0,
			i + 2 < iend ? q[o + 2 * DK] : 0.0, i + 3 < iend ? q[o + 3 * DK] : 0.0);
	}
#endif
	// this thread's φ entries of each step: feature x / RQ of the step,
	// rows 4·(x % RQ)…, x = t + u·NT; their pairs advance by KS a step
	ivec2 pp[NPB];
	for (int u = 0; u < NPB; u++) pp[u] = pairOf(min((t + u * NT) / RQ, F - 1));
	int so = g * F * TC;
	vec4 sr[NSV];
#define LOADS(f0) \
	for (int u = 0; u < NSV; u++) { \
		int x = t + u * NT, fr = x / SW, e4 = x % SW; \
		sr[u] = x < KS * SW && (f0) + fr < F && e4 < TCP ? T4[so + ((f0) + fr) * TC + e4] : vec4(0.0); \
	}
#define STORES(b) \
	for (int u = 0; u < NSV; u++) { \
		int x = t + u * NT; \
		if (x < KS * SW) Ss[b][x / SW][x % SW] = sr[u]; \
	}
#define BUILDPH(b, f0) \
	for (int u = 0; u < NPB; u++) { \
		int x = t + u * NT; \
		if (x < KS * RQ) { \
			int fl = x / RQ, i4 = x % RQ; \
			int pa = min(pp[u].x, DK - 1), pb = min(pp[u].y, DK - 1); \
			float coef = (f0) + fl < F ? (pa == pb ? 1.0 : SQRT2) : 0.0; \
			vec4 ph = coef * QT[pa][i4] * QT[pb][i4]; \
			Ph[b][fl][i4] = ph; \
			DENO(u, ph, (f0) + fl) \
		} \
		pp[u].y += KS; \
		while (pp[u].y >= DK && pp[u].x < DK) { pp[u].x++; pp[u].y = pp[u].y - DK + pp[u].x; } \
	}
#ifdef DENB
	vec4 dacc[NPB]; // Σ over this thread's features of φ(q)·S_c[f, DV], rows 4·i4…
	for (int u = 0; u < NPB; u++) dacc[u] = vec4(0.0);
#define DENO(u, ph, f) dacc[u] += (ph) * ((f) < F ? T4[so + (f) * TC + DV / 4].x : 0.0);
#else
#define DENO(u, ph, f)
#endif
	vec4 acc[TM][TNV];
	for (int r = 0; r < TM; r++)
		for (int n = 0; n < TNV; n++) acc[r][n] = vec4(0.0);
	LOADS(0)
	STORES(0)
	barrier(); // QT
	BUILDPH(0, 0)
	barrier();
	int steps = (F + KS - 1) / KS;
	for (int s = 0; s < steps; s++) {
		int cur = s & 1, f1 = (s + 1) * KS;
		bool more = s + 1 < steps;
		if (more) {
			LOADS(f1)
			BUILDPH(cur ^ 1, f1)
		}
		PRODUCT(acc, cur)
		if (more) {
			STORES(cur ^ 1)
		}
		barrier();
	}
	for (int r = 0; r < TM; r++) {
		int i = i0 + 4 * ((r / 4) * TY + ty) + r % 4;
		if (INB(i < iend)) {
			float m = exp(cs[h * L + i]);
			for (int n = 0; n < TNV; n++) {
				int e4 = n * NC + tx;
				if (e4 < TCP) X4[(hl * L + i) * TC + e4] = m * acc[r][n];
			}
		}
	}
#ifdef DENB
	// the partial denominators of each row quad, over the KS feature slots
	for (int u = 0; u < NPB; u++) {
		int x = t + u * NT;
		if (x < KS * RQ) Ph[0][x / RQ][x % RQ] = dacc[u];
	}
	barrier();
	for (int i4 = t; i4 < RQ; i4 += NT) {
		vec4 dn = vec4(0.0);
		for (int f = 0; f < KS; f++) dn += Ph[0][f][i4];
		for (int e = 0; e < 4; e++) {
			int i = i0 + 4 * i4 + e;
			if (INB(i < iend)) {
				X4[(hl * L + i) * TC + DV / 4] = vec4(exp(cs[h * L + i]) * dn[e], 0.0, 0.0, 0.0);
				for (int e4 = DV / 4 + 1; e4 < TC; e4++) X4[(hl * L + i) * TC + e4] = vec4(0.0);
			}
		}
	}
#endif
}

#elif defined(STATEX)
#define NVV ((KS * SW + NT - 1) / NT) // w∘v vec4s a thread a step
#define NKV ((KS * DK + NT - 1) / NT) // key floats a thread a step
#define NPB ((KS * RQ + NT - 1) / NT) // φ vec4s a thread a step
shared float Kr[3][KS][DK]; // keys of steps s + 1 (φ built now) and s + 2 (stored now)
void main() {
	int g = groupIndex();
	if (g >= G) return; // uniform over the group
	int hl = g / nch, c = g % nch, h = H0 + hl;
	int t = int(gl_LocalInvocationIndex), tx = t % NC, ty = t / NC;
	int p0 = int(gl_WorkGroupID.x) * RX;
	int j0 = c * CH, j1 = min(j0 + CH, L);
	float last = cs[h * L + j1 - 1];
	// this thread's φ entries of each step: key x / RQ of the step, features
	// p0 + 4·(x % RQ)…, x = t + u·NT, the same every step: their pairs
	// (pa, pb) and coefficients (scale², ×√2 off the diagonal, 0 past F)
	ivec4 pa[NPB], pb[NPB];
	vec4 pcf[NPB];
	for (int u = 0; u < NPB; u++) {
		int f = p0 + 4 * ((t + u * NT) % RQ);
		for (int e = 0; e < 4; e++) {
			ivec2 ab = pairOf(min(f + e, F - 1));
			pa[u][e] = ab.x;
			pb[u][e] = ab.y;
			pcf[u][e] = f + e < F ? (ab.x == ab.y ? 1.0 : SQRT2) * scale * scale : 0.0;
		}
	}
	vec4 vr[NVV];
	float kr[NKV];
#define LOADV(s0) \
	for (int u = 0; u < NVV; u++) { \
		int x = t + u * NT, jj = x / SW, e4 = x % SW, j = (s0) + jj; \
		vec4 val = vec4(0.0); \
		if (x < KS * SW && INB(j < j1)) { \
			float w = exp(last - cs[h * L + j]); \
			LOADV1 \
		} \
		vr[u] = val; \
	}
#ifdef DENB
#define LOADV1 if (e4 < DV / 4) val = w * v4[(h * L + j) * (DV / 4) + e4];
#elif defined(VV)
#ifdef NORM
#define LOADV1 if (e4 < DV / 4) val = w * v4[(h * L + j) * (DV / 4) + e4]; else if (e4 == DV / 4) val = vec4(w, 0.0, 0.0, 0.0);
#else
#define LOADV1 if (e4 < DV / 4) val = w * v4[(h * L + j) * (DV / 4) + e4];
#endif
#else
#ifdef NORM
#define VAL1(e) ((e) < DV ? w * v[(h * L + j) * DV + (e)] : (e) == DV ? w : 0.0)
#else
#define VAL1(e) ((e) < DV ? w * v[(h * L + j) * DV + (e)] : 0.0)
#endif
#define LOADV1 val = vec4(VAL1(4 * e4), VAL1(4 * e4 + 1), VAL1(4 * e4 + 2), VAL1(4 * e4 + 3));
#endif
#define STOREV(b) \
	for (int u = 0; u < NVV; u++) { \
		int x = t + u * NT; \
		if (x < KS * SW) Ss[b][x / SW][x % SW] = vr[u]; \
	}
#define LOADK(s0) \
	for (int u = 0; u < NKV; u++) { \
		int x = t + u * NT, j = (s0) + x / DK; \
		kr[u] = x < KS * DK && j < j1 ? k[(h * L + j) * DK + x % DK] : 0.0; \
	}
#define STOREK(b) \
	for (int u = 0; u < NKV; u++) { \
		int x = t + u * NT; \
		if (x < KS * DK) Kr[b][x / DK][x % DK] = kr[u]; \
	}
#define BUILDPH(b, kb, s0) \
	for (int u = 0; u < NPB; u++) { \
		int x = t + u * NT; \
		if (x < KS * RQ) { \
			int jj = x / RQ; \
			vec4 ph = pcf[u] * vec4(Kr[kb][jj][pa[u].x], Kr[kb][jj][pa[u].y], Kr[kb][jj][pa[u].z], Kr[kb][jj][pa[u].w]) \
				* vec4(Kr[kb][jj][pb[u].x], Kr[kb][jj][pb[u].y], Kr[kb][jj][pb[u].z], Kr[kb][jj][pb[u].w]); \
			Ph[b][jj][x % RQ] = ph; \
			DENS(u, ph, (s0) + jj) \
		} \
	}
#ifdef DENB
	vec4 dacc[NPB]; // Σ over this thread's keys of w_j·φ(k_j), features 4·(x % RQ)…
	for (int u = 0; u < NPB; u++) dacc[u] = vec4(0.0);
#define DENS(u, ph, j) if ((j) < j1) dacc[u] += (ph) * exp(last - cs[h * L + (j)]);
#else
#define DENS(u, ph, j)
#endif
	vec4 acc[TM][TNV];
	for (int r = 0; r < TM; r++)
		for (int n = 0; n < TNV; n++) acc[r][n] = vec4(0.0);
	int steps = (j1 - j0 + KS - 1) / KS;
	LOADK(j0)
	STOREK(0)
	LOADV(j0)
	STOREV(0)
	if (steps > 1) {
		LOADK(j0 + KS)
		STOREK(1)
	}
	barrier(); // Kr[0], Kr[1], Ss[0]
	BUILDPH(0, 0, j0)
	barrier();
	for (int s = 0; s < steps; s++) {
		int cur = s & 1;
		if (s + 1 < steps) LOADV(j0 + (s + 1) * KS)
		if (s + 2 < steps) LOADK(j0 + (s + 2) * KS)
		if (s + 1 < steps) BUILDPH(cur ^ 1, (s + 1) % 3, j0 + (s + 1) * KS)
		PRODUCT(acc, cur)
		if (s + 1 < steps) STOREV(cur ^ 1)
		if (s + 2 < steps) STOREK((s + 2) % 3)
		barrier();
	}
	for (int r = 0; r < TM; r++) {
		int p = p0 + 4 * ((r / 4) * TY + ty) + r % 4;
		if (p < F) {
			for (int n = 0; n < TNV; n++) {
				int e4 = n * NC + tx;
				if (e4 < TCP) T4[(g * F + p) * TC + e4] = acc[r][n];
			}
		}
	}
#ifdef DENB
	// the partial denominators of each feature quad, over the KS key slots
	for (int u = 0; u < NPB; u++) {
		int x = t + u * NT;
		if (x < KS * RQ) Ph[0][x / RQ][x % RQ] = dacc[u];
	}
	barrier();
	for (int f4 = t; f4 < RQ; f4 += NT) {
		vec4 dn = vec4(0.0);
		for (int jj = 0; jj < KS; jj++) dn += Ph[0][jj][f4];
		for (int e = 0; e < 4; e++) {
			int p = p0 + 4 * f4 + e;
			if (p < F) {
				T4[(g * F + p) * TC + DV / 4] = vec4(dn[e], 0.0, 0.0, 0.0);
				for (int e4 = DV / 4 + 1; e4 < TC; e4++) T4[(g * F + p) * TC + e4] = vec4(0.0);
			}
		}
	}
#endif
}
#endif
