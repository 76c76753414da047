#version 430
// Row softmax and cross-entropy over rows of n (model_softmax.go). Row
// variants take one work group of 256 per row, each thread a contiguous
// range of the row, reducing in shared memory (float32 sums: each thread's
// partial, then a tree of 8 levels, the root handed out through bcast):
//   SOFTMAX          o = e^{a−m}/Σ e^{a−m}, m the row maximum (NaN-propagating)
//   LOGSOFTMAX       o = (a − m) − log Σ e^{a−m}
//   SOFTMAX_BACK     o = b(a − Σ a·b)     (a = g, b = y = softmax)
//   LOGSOFTMAX_BACK  o = a − e^{b}·Σ a    (a = g, b = y = log-softmax)
// and over a flat grid or one group:
//   CE_GRAD  o[r, i] = c·e^{a[r,i]} − c·[i = t_r] on rows with t_r ≠ ignore, 0
//            on the others (a = log-softmax, t = ix)
//   CE_LOSS  one work group: o[0] + o[1] = Σ_{r: t_r ≠ ignore} −a[r, t_r],
//            summed in double and split into two floats (high and low part)
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) readonly buffer BufB { float b[]; };
layout(std430, binding = 2) readonly buffer BufI { int ix[]; };
layout(std430, binding = 3) writeonly buffer BufO { float o[]; };
uniform int rows, n, ignore;
uniform float c;

#if defined(CE_LOSS)
shared double partd[256];
#else
shared float part[256];
#endif

// mx is max propagating NaN, as Go's max.
float mx(float u, float v) { return (isnan(u) || u > v) ? u : ((isnan(v) || v > u) ? v : u); }

#if !defined(CE_GRAD) && !defined(CE_LOSS)
shared float bcast; // the group's result, written by thread 0

// groupSum returns the sum of v over the work group (all threads call it):
// a tree in shared memory, its root handed to every thread through bcast.
float groupSum(float v) {
	uint t = gl_LocalInvocationIndex;
	part[t] = v;
	memoryBarrierShared();
	barrier();
	for (uint s = 128u; s > 0u; s >>= 1) {
		if (t < s) part[t] += part[t + s];
		memoryBarrierShared();
		barrier();
	}
	if (t == 0u) bcast = part[0];
	memoryBarrierShared();
	barrier();
	float r = bcast;
	barrier(); // part and bcast are reused by the next reduction
	return r;
}

// groupMax is groupSum with mx.
float groupMax(float v) {
	uint t = gl_LocalInvocationIndex;
	part[t] = v;
	memoryBarrierShared();
	barrier();
	for (uint s = 128u; s > 0u; s >>= 1) {
		if (t < s) part[t] = mx(part[t], part[t + s]);
		memoryBarrierShared();
		barrier();
	}
	if (t == 0u) bcast = part[0];
	memoryBarrierShared();
	barrier();
	float r = bcast;
	barrier();
	return r;
}
#endif

void main() {
#if defined(CE_GRAD)
	int stride = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
	int total = rows * n;
	for (int e = int(gl_GlobalInvocationID.x); e < total; e += stride) {
		int r = e / n, i = e - r * n, t = ix[r];
		float v = 0.0;
		if (t != ignore) v = i == t ? c * exp(a[e]) - c : c * exp(a[e]);
		o[e] = v;
	}
#elif defined(CE_LOSS)
	uint t = gl_LocalInvocationIndex;
	double acc = 0.0lf;
	for (int r = int(t); r < rows; r += 256) {
		int k = ix[r];
		if (k != ignore) acc -= double(a[r * n + k]);
	}
	partd[t] = acc;
	barrier();
	for (uint s = 128u; s > 0u; s >>= 1) {
		if (t < s) partd[t] += partd[t + s];
		barrier();
	}
	if (t == 0u) {
		float hi = float(partd[0]);
		o[0] = hi;
		o[1] = float(partd[0] - double(hi));
	}
#else
	int r = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x);
	if (r >= rows) return; // uniform over the group
	// Thread t takes the contiguous range [lo, hi) of the row.
	int t = int(gl_LocalInvocationIndex), base = r * n, per = (n + 255) / 256;
	int lo = min(t * per, n), hi = min(lo + per, n);
#if defined(SOFTMAX) || defined(LOGSOFTMAX)
	float m = uintBitsToFloat(0xff800000u); // −Inf
	for (int i = lo; i < hi; i++) m = mx(m, a[base + i]);
	m = groupMax(m);
	float s = 0.0;
	for (int i = lo; i < hi; i++) s += exp(a[base + i] - m);
	s = groupSum(s);
#if defined(LOGSOFTMAX)
	float ls = log(s);
	for (int i = lo; i < hi; i++) o[base + i] = (a[base + i] - m) - ls;
#else
	for (int i = lo; i < hi; i++) o[base + i] = exp(a[base + i] - m) / s;
#endif
#elif defined(SOFTMAX_BACK)
	float s = 0.0;
	for (int i = lo; i < hi; i++) s += a[base + i] * b[base + i];
	s = groupSum(s);
	for (int i = lo; i < hi; i++) o[base + i] = b[base + i] * (a[base + i] - s);
#elif defined(LOGSOFTMAX_BACK)
	float s = 0.0;
	for (int i = lo; i < hi; i++) s += a[base + i];
	s = groupSum(s);
	for (int i = lo; i < hi; i++) o[base + i] = a[base + i] - exp(b[base + i]) * s;
#endif
#endif
}
