#version 430
// The baseline SGEMM of gpu-notes.md, kept as version 0 to calibrate the
// benchmark: 16×16 tiles of A and B in shared memory, one output per
// thread, C = A·B for packed row-major A (M×K), B (K×N), no transposes.
layout(local_size_x = 16, local_size_y = 16) in;
layout(std430, binding = 0) readonly buffer BufA { float A[]; };
layout(std430, binding = 1) readonly buffer BufB { float B[]; };
layout(std430, binding = 2) writeonly buffer BufC { float C[]; };
uniform int M, N, K;
shared float As[16][16];
shared float Bs[16][16];

void main() {
	int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
	int col = int(gl_WorkGroupID.x) * 16 + tx;
	int row = int(gl_WorkGroupID.y) * 16 + ty;
	float acc = 0.0;
	for (int k0 = 0; k0 < K; k0 += 16) {
		As[ty][tx] = (row < M && k0 + tx < K) ? A[row * K + k0 + tx] : 0.0;
		Bs[ty][tx] = (col < N && k0 + ty < K) ? B[(k0 + ty) * N + col] : 0.0;
		barrier();
		for (int k = 0; k < 16; k++) acc += As[ty][k] * Bs[k][tx];
		barrier();
	}
	if (row < M && col < N) C[row * N + col] = acc;
}
