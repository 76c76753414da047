#version 430
// Causal depthwise convolution along the sequence, channels last, and its
// backward (norm.go). x, y, g (B, L, C), w (C, W), rows b·L + t.
// Forward:
//   y[b, t, c] = act(Σ_{i=0}^{W−1} w[c, i]·x[b, t−W+1+i, c] + bias[c]),
// x at t < 0 read as 0; act = SiLU under SILU, identity otherwise; bias
// under BIAS. One work group per (b, t) row, threads over channels.
// BACKX, the input gradient for g in x's place, into y:
//   dx[b, s, c] = Σ_{i=0}^{W−1} w[c, i]·g[b, s+W−1−i, c]  (g past L read as 0)
// DW, partial sums over blocks of RB rows for g in bias's place, one
// invocation per (block, i ≤ W, c), into y (blocks, W+1, C):
//   y[k, i, c] = Σ_{rows (b, t) of block k} g[b, t, c]·x[b, t−W+1+i, c] (i < W),
//   y[k, W, c] = Σ_{rows of block k} g[b, t, c]
// (norm.go sums the blocks: dw[c, i] and db[c]).
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer BufX { float x[]; };    // x, or g (BACKX)
layout(std430, binding = 1) readonly buffer BufW { float w[]; };
layout(std430, binding = 2) readonly buffer BufB { float bias[]; }; // bias, or g (DW)
layout(std430, binding = 3) writeonly buffer BufY { float y[]; };
uniform int B, L, C, W;

void main() {
#if defined(DW)
	int stride = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
	int rows = B * L, blocks = (rows + RB - 1) / RB, per = (W + 1) * C;
	for (int e = int(gl_GlobalInvocationID.x); e < blocks * per; e += stride) {
		int k = e / per, ic = e - k * per, i = ic / C, c = ic - i * C;
		float acc = 0.0;
		for (int r = k * RB; r < min(rows, k * RB + RB); r++) {
			if (i == W) {
				acc += bias[r * C + c];
			} else if (r % L - W + 1 + i >= 0) {
				acc += bias[r * C + c] * x[(r - W + 1 + i) * C + c];
			}
		}
		y[e] = acc;
	}
#else
	int r = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x);
	if (r >= B * L) return;
	int t = r % L;
	for (int c = int(gl_LocalInvocationIndex); c < C; c += 64) {
		float acc = 0.0;
#if defined(BACKX)
		for (int i = max(0, W - L + t); i < W; i++) // s+W−1−i < L
			acc += w[c * W + i] * x[(r + W - 1 - i) * C + c];
#else
#ifdef BIAS
		acc = bias[c];
#endif
		for (int i = max(0, W - 1 - t); i < W; i++)
			acc += w[c * W + i] * x[(r - W + 1 + i) * C + c];
#ifdef SILU
		acc = acc / (1.0 + exp(-acc));
#endif
#endif
		y[r * C + c] = acc;
	}
#endif
}
