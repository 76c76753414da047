#version 430
// Gather and scatter-add along one axis of a (outer, n, inner) tensor, with
// the indices in an int buffer (model_index.go); one output element per
// invocation, grid-stride over total = outer·m·inner (GATHER) or
// outer·n·inner (SCATTER):
//   GATHER   o[q, j, i] = a[q, idx[j], i],  idx = ix[0 : m]
//   SCATTER  o[q, r, i] = Σ_{j : idx[j] = r} a[q, j, i], the j ascending:
//            ix holds the inverse of idx, ix[r] … ix[r+1]−1 (r ≤ n) the
//            positions in ix[n+1 :] of the js with idx[j] = r. No atomics:
//            each invocation sums its own list, in package tensor's order.
//   PAD      o[q, r, i] = a[q, r − before, i] for before ≤ r < before + m, else 0
//            (o has n positions on the axis; ix unused)
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) readonly buffer BufI { int ix[]; };
layout(std430, binding = 2) writeonly buffer BufO { float o[]; };
uniform int total, n, m, inner, before;

void main() {
	int stride = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
	for (int e = int(gl_GlobalInvocationID.x); e < total; e += stride) {
		int i = e % inner, qr = e / inner;
#if defined(GATHER)
		int q = qr / m, j = qr - q * m;
		o[e] = a[(q * n + ix[j]) * inner + i];
#elif defined(PAD)
		int q = qr / n, r = qr - q * n - before;
		o[e] = (r >= 0 && r < m) ? a[(q * m + r) * inner + i] : 0.0;
#else
		int q = qr / n, r = qr - q * n;
		float acc = 0.0;
		int end = ix[r + 1];
		for (int k = ix[r]; k < end; k++) acc += a[(q * m + ix[n + 1 + k]) * inner + i];
		o[e] = acc;
#endif
	}
}
