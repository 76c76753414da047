#version 430
// Causal depthwise convolution along the sequence, channels last:
//   y[b, t, c] = act(Σ_{i=0}^{W−1} w[c, i]·x[b, t−W+1+i, c] + bias[c]),
// x at t < 0 read as 0; act = SiLU under SILU, identity otherwise; bias
// under BIAS. x, y (B, L, C), w (C, W). One work group per (b, t) row,
// threads over channels.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) readonly buffer BufW { float w[]; };
layout(std430, binding = 2) readonly buffer BufB { float bias[]; };
layout(std430, binding = 3) writeonly buffer BufY { float y[]; };
uniform int B, L, C, W;

void main() {
	int r = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x);
	if (r >= B * L) return;
	int t = r % L;
	for (int c = int(gl_LocalInvocationIndex); c < C; c += 64) {
		float acc = 0.0;
#ifdef BIAS
		acc = bias[c];
#endif
		for (int i = max(0, W - 1 - t); i < W; i++)
			acc += w[c * W + i] * x[(r - W + 1 + i) * C + c];
#ifdef SILU
		acc = acc / (1.0 + exp(-acc));
#endif
		y[r * C + c] = acc;
	}
}
