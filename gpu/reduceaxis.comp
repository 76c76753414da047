#version 430
// One axis of a resident tensor reduced: a is (outer, n, inner), o is
// (outer, inner); SUM and MEAN accumulate in double in index order and round
// once, MAX and MIN propagate NaN, CUMSUM writes the running sums and
// REVERSECUMSUM those from the end (o is then (outer, n, inner)): the same
// results as package tensor's CPU code (reduceaxis.go). One output per
// invocation, grid-stride; with chunk > 0, one partial reduction per chunk
// of the axis (reduceaxis.go sums the partials in a second pass).
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) writeonly buffer BufO { float o[]; };
uniform int outer, n, inner;
uniform int chunk;   // > 0 (SUM, MAX, MIN): o (outer, ⌈n/chunk⌉, inner) holds the reductions of chunks of the axis
uniform int divisor; // MEAN divides the sum by it

void main() {
	int step = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
	int kq = chunk > 0 ? (n + chunk - 1) / chunk : 1, len = chunk > 0 ? chunk : n;
	int m = outer * kq * inner;
	for (int idx = int(gl_GlobalInvocationID.x); idx < m; idx += step) {
		int i = idx % inner, oq = idx / inner, q = oq % kq;
		int base = (oq / kq) * n * inner + i;
		int j0 = q * len, j1 = min(n, j0 + len);
#if defined(CUMSUM) // o is (outer, n, inner): inclusive running sums
		double acc = 0.0lf;
		for (int j = 0; j < n; j++) {
			acc += double(a[base + j * inner]);
			o[base + j * inner] = float(acc);
		}
#elif defined(REVERSECUMSUM) // the running sums from the end, o_j = Σ_{i≥j} a_i
		double acc = 0.0lf;
		for (int j = n - 1; j >= 0; j--) {
			acc += double(a[base + j * inner]);
			o[base + j * inner] = float(acc);
		}
#elif defined(SUM) || defined(MEAN)
		double acc = 0.0lf;
		for (int j = j0; j < j1; j++) acc += double(a[base + j * inner]);
#ifdef MEAN
		acc /= double(divisor);
#endif
		o[idx] = float(acc);
#else
		float acc = a[base + j0 * inner];
		for (int j = j0 + 1; j < j1; j++) {
			float f = a[base + j * inner];
			if (isnan(acc)) break;
#ifdef MAX
			if (isnan(f) || f > acc) acc = f;
#else
			if (isnan(f) || f < acc) acc = f;
#endif
		}
		o[idx] = acc;
#endif
	}
}
