#version 430
// Strided copy for resident tensors' layout operations: o[obase + Σ_d
// i_d·ostride[d]] = a[base + Σ_d i_d·stride[d]] for every index
// (i_0, …, i_{rank−1}) of shape, taken in row-major order i (gather.go).
// Grid-stride loop: any n with at most 65535 groups.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) buffer BufO { float o[]; };
uniform int n, rank, base, obase;
uniform int shape[8];
uniform int stride[8];
uniform int ostride[8];

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
