#version 430
// Row sums: out[r] = Σ_c a[r·cols + c], one work group per row, rows spread
// over x and y of the dispatch; SUMSQ: the sum of squares of one whole
// buffer into out[slot].
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) writeonly buffer BufO { float o[]; };
uniform int rows, cols;
shared float part[256];

#ifdef SUMSQ
// out[slot] = Σ_c a[c]² over cols values, one work group, in double.
uniform int slot;
shared double partd[256];
void main() {
	int t = int(gl_LocalInvocationIndex);
	double acc = 0.0lf;
	for (int c = t; c < cols; c += 256) acc += double(a[c]) * double(a[c]);
	partd[t] = acc;
	barrier();
	for (int s = 128; s > 0; s >>= 1) {
		if (t < s) partd[t] += partd[t + s];
		barrier();
	}
	if (t == 0) o[slot] = float(partd[0]);
}
#else
void main() {
	int r = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x);
	if (r >= rows) return; // uniform over the group
	int t = int(gl_LocalInvocationIndex);
	float acc = 0.0;
	for (int c = t; c < cols; c += 256) acc += a[r * cols + c];
	part[t] = acc;
	barrier();
	for (int s = 128; s > 0; s >>= 1) {
		if (t < s) part[t] += part[t + s];
		barrier();
	}
	if (t == 0) o[r] = part[0];
}
#endif
