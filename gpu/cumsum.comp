#version 430
// Within-chunk sums along the last axis of a (rows, L), chunks of `chunk`
// positions (the last may be shorter). One work group per (row, chunk).
//   CUMSUM: o[r, t] = Σ_{u = start(t)}^{t} a[r, u]                 (rows, L)
//   SEGSUM: o[r, c, i, j] = Σ_{u=j+1}^{i} a[r, c·chunk + u], j ≤ i;
//           −∞ above the diagonal and past L                       (rows, nchunks, chunk, chunk)
// SEGSUM accumulates each entry directly (never as a difference of two
// cumulative sums): thread j walks down column j adding a_i.
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
#ifdef SEGSUM
	int n = end - start;
	int obase = g * chunk * chunk; // (r, c) block, rows i, columns j
	for (int j = t; j < chunk; j += 256) {
		float acc = 0.0;
		for (int i = 0; i < chunk; i++) {
			float v;
			if (i < j || i >= n || j >= n) {
				v = uintBitsToFloat(0xff800000u); // −∞
			} else {
				if (i > j) acc += a[base + start + i];
				v = acc;
			}
			o[obase + i * chunk + j] = v;
		}
	}
#else
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
#endif
}
