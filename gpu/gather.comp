#version 430
// Strided copy for resident tensors' layout operations: o[obase + Σ_d
// i_d·ostride[d]] = a[base + Σ_d i_d·stride[d]] for every index
// (i_0, …, i_{rank−1}) of shape, taken in row-major order i (gather.go).
// Grid-stride loop: any n with at most 65535 groups. TRANSPOSE (gather.go
// says when): a packed result o (B, R, C) of a (B, C, R) view whose rows
// are contiguous, o[obase + (b·R + r)·C + c] = a[base + b·stride[0] +
// c·stride[2] + r], shape = (B, R, C), through 32×32 tiles in shared
// memory so that both the reads and the writes are coalesced.
#ifdef TRANSPOSE
layout(local_size_x = 32, local_size_y = 8) in;
#else
layout(local_size_x = 256) in;
#endif
layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) buffer BufO { float o[]; };
uniform int n, rank, base, obase;
uniform int shape[8];
uniform int stride[8];
uniform int ostride[8];

#ifdef TRANSPOSE
shared float tile[32][33];

// Work group (x, y, z): columns 32x.. and rows 32y.. of o's batch entry z.
void main() {
	int R = shape[1], C = shape[2];
	int b = int(gl_WorkGroupID.z), c0 = int(gl_WorkGroupID.x) * 32, r0 = int(gl_WorkGroupID.y) * 32;
	int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
	for (int u = ty; u < 32; u += 8) { // a's row c0 + u, its entry r0 + tx
		int c = c0 + u, r = r0 + tx;
		tile[u][tx] = c < C && r < R ? a[base + b * stride[0] + c * stride[2] + r] : 0.0;
	}
	barrier();
	for (int u = ty; u < 32; u += 8) { // o's row r0 + u, column c0 + tx
		int r = r0 + u, c = c0 + tx;
		if (r < R && c < C) o[obase + (b * R + r) * C + c] = tile[tx][u];
	}
}
#else
void main() {
	int step = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
	for (int i = int(gl_GlobalInvocationID.x); i < n; i += step) {
		int rem = i, src = base, dst = obase;
		for (int d = rank - 1; d >= 0; d--) {
			int c = rem % shape[d];
			rem /= shape[d];
			src += c * stride[d];
			dst += c * ostride[d];
		}
		o[dst] = a[src];
	}
}
#endif
