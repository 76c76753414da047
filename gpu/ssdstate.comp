#version 430
// The state after the whole sequence from ssdf.comp's chunk states T
// (STATE's output, before any SCAN), one thread per state entry (head,
// feature p, column e < W), sequential over the chunks:
//   s ← exp(cs_last(c))·s + T_c,  c = 0 … nch−1,  from s = 0
//   S[h, p, e] = SC·s   (SC = scale at order 1, where STATE's features are
//                        k, not scale·k; 1 at order 2)
// T (BH heads from H0, nch, F, DVP), cs (heads, L) within-chunk cumulative
// log-decays, S (heads, F, W).
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer BufT { float T[]; };
layout(std430, binding = 1) readonly buffer BufC { float cs[]; };
layout(std430, binding = 2) writeonly buffer BufS { float S[]; };
uniform int BH, H0, L, nch;
uniform float SC;
#define U 8 // chunks' loads in flight a thread

void main() {
	int x = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 256 + int(gl_LocalInvocationIndex);
	if (x >= BH * F * W) return;
	int hl = x / (F * W), r = x % (F * W), p = r / W, e = r % W, h = H0 + hl;
	int per = F * DVP;
	int o = hl * nch * per + p * DVP + e;
	float s = 0.0;
	int c = 0;
	for (; c + U <= nch; c += U) {
		float tv[U], dc[U];
		for (int u = 0; u < U; u++) {
			tv[u] = T[o + (c + u) * per];
			dc[u] = exp(cs[h * L + min((c + u) * CH + CH, L) - 1]);
		}
		for (int u = 0; u < U; u++) s = dc[u] * s + tv[u];
	}
	for (; c < nch; c++) s = exp(cs[h * L + min(c * CH + CH, L) - 1]) * s + T[o + c * per];
	S[h * F * W + r] = SC * s;
}
