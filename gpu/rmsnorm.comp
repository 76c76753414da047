#version 430
// RMSNorm of each row of x (rows, n), optionally gated and weighted:
//   u = x ⊙ silu(z)  (GATE; else u = x)
//   y = u / √(mean(u²) + eps) ⊙ w   (w (n) under WEIGHT)
// One work group per row; the sum of squares is reduced in shared memory.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) readonly buffer BufZ { float z[]; };
layout(std430, binding = 2) readonly buffer BufW { float w[]; };
layout(std430, binding = 3) writeonly buffer BufY { float y[]; };
uniform int rows, n;
uniform float eps;
shared float part[256];

float u(int i) {
#ifdef GATE
	float g = z[i];
	return x[i] * g / (1.0 + exp(-g));
#else
	return x[i];
#endif
}

void main() {
	int r = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x);
	if (r >= rows) return; // uniform over the group
	int t = int(gl_LocalInvocationIndex);
	float acc = 0.0;
	for (int c = t; c < n; c += 256) {
		float v = u(r * n + c);
		acc += v * v;
	}
	part[t] = acc;
	barrier();
	for (int s = 128; s > 0; s >>= 1) {
		if (t < s) part[t] += part[t + s];
		barrier();
	}
	float inv = inversesqrt(part[0] / float(n) + eps);
	for (int c = t; c < n; c += 256) {
		float v = u(r * n + c) * inv;
#ifdef WEIGHT
		v *= w[c];
#endif
		y[r * n + c] = v;
	}
}
