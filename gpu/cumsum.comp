#version 430
// Within-chunk cumulative sums along the last axis of a (rows, L), chunks
// of `chunk` positions (the last may be shorter), one work group per (row,
// chunk): o[r, t] = Σ_{u = start(t)}^{t} a[r, u]   (rows, L).
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) writeonly buffer BufO { float o[]; };
uniform int rows, L, chunk, nchunks;
shared float s[256];

void main() {
	int g = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x);
	if (g >= rows * nchunks) return; // uniform over the group
	int r = g / nchunks, c = g % nchunks;
	int t = int(gl_LocalInvocationIndex);
	int start = c * chunk;
	int end = min(start + chunk, L);
	int base = r * L;
	float carry = 0.0;
	for (int p = start; p < end; p += 256) {
		int i = p + t;
		s[t] = i < end ? a[base + i] : 0.0;
		barrier();
		for (int off = 1; off < 256; off <<= 1) {
			float add = t >= off ? s[t - off] : 0.0;
			barrier();
			s[t] += add;
			barrier();
		}
		if (i < end) o[base + i] = s[t] + carry;
		carry += s[255];
		barrier();
	}
}
