#version 430
// RMSNorm over rows of x (rows, n), forward and backward (norm.go).
// Forward, optionally gated and weighted:
//   u = x ⊙ silu(z)  (GATE; else u = x)
//   r = 1/√(mean(u²) + eps),  y = u·r ⊙ w   (w (n) under WEIGHT; r (rows)
//   written under RSTORE)
// BACKWARD, for the output gradient g (in z's place) and the r of the
// forward: with x̂ = x·r and ĝ = g ⊙ w (WEIGHT; else g),
//   dx = r·(ĝ − x̂·mean(ĝ ⊙ x̂))   into y
// One work group per row; the sums are reduced in shared memory (float32).
// DW instead: one invocation per (block of RB rows, column c), writing the
// partial Σ_{rows of the block} g ⊙ x̂ into y (blocks, n); norm.go sums the
// blocks (ReduceAxis, double).
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) readonly buffer BufZ { float z[]; };   // z (GATE), or g (BACKWARD, DW)
layout(std430, binding = 2) readonly buffer BufW { float w[]; };
layout(std430, binding = 3) writeonly buffer BufY { float y[]; };  // y, dx, or the DW partials
layout(std430, binding = 4) buffer BufR { float rr[]; };           // r (rows)
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

// groupSum returns the sum of v over the work group (all threads call it).
float groupSum(float v) {
	uint t = gl_LocalInvocationIndex;
	part[t] = v;
	barrier();
	for (uint s = 128u; s > 0u; s >>= 1) {
		if (t < s) part[t] += part[t + s];
		barrier();
	}
	return part[0];
}

void main() {
#if defined(DW)
	int stride = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
	int blocks = (rows + RB - 1) / RB;
	for (int e = int(gl_GlobalInvocationID.x); e < blocks * n; e += stride) {
		int blk = e / n, c = e - blk * n;
		float acc = 0.0;
		for (int row = blk * RB; row < min(rows, blk * RB + RB); row++)
			acc += z[row * n + c] * (x[row * n + c] * rr[row]);
		y[e] = acc;
	}
#else
	int r = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x);
	if (r >= rows) return; // uniform over the group
	int t = int(gl_LocalInvocationIndex);
#if defined(BACKWARD)
	float inv = rr[r];
	float acc = 0.0;
	for (int c = t; c < n; c += 256) {
		float gh = z[r * n + c];
#ifdef WEIGHT
		gh *= w[c];
#endif
		acc += gh * (x[r * n + c] * inv);
	}
	float dot = groupSum(acc) / float(n);
	for (int c = t; c < n; c += 256) {
		float gh = z[r * n + c];
#ifdef WEIGHT
		gh *= w[c];
#endif
		y[r * n + c] = inv * (gh - x[r * n + c] * inv * dot);
	}
#else
	float acc = 0.0;
	for (int c = t; c < n; c += 256) {
		float v = u(r * n + c);
		acc += v * v;
	}
	float inv = inversesqrt(groupSum(acc) / float(n) + eps);
#ifdef RSTORE
	if (t == 0) rr[r] = inv;
#endif
	for (int c = t; c < n; c += 256) {
		float v = u(r * n + c) * inv;
#ifdef WEIGHT
		v *= w[c];
#endif
		y[r * n + c] = v;
	}
#endif
#endif
}
