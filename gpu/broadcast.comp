#version 430
// Binary functions with broadcasting for resident tensors: o[i] =
// OP(a[Σ_d i_d·sa[d]], b[Σ_d i_d·sb[d]]) where (i_0, …, i_{rank−1}) is the
// row-major index of i in shape and a broadcast axis has stride 0
// (broadcast.go). OP is ADD, SUB, MUL, DIV, MAXIMUM or MINIMUM; the last two
// give NaN when either operand is NaN, as package tensor's CPU code does.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) readonly buffer BufB { float b[]; };
layout(std430, binding = 2) writeonly buffer BufO { float o[]; };
uniform int n, rank;
uniform int shape[8];
uniform int sa[8];
uniform int sb[8];

float op(float x, float y) {
#if defined(ADD)
	return x + y;
#elif defined(SUB)
	return x - y;
#elif defined(MUL)
	return x * y;
#elif defined(DIV)
	return x / y;
#elif defined(MAXIMUM)
	return isnan(x) || isnan(y) ? x + y : max(x, y);
#elif defined(MINIMUM)
	return isnan(x) || isnan(y) ? x + y : min(x, y);
#endif
}

void main() {
	int step = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
	for (int i = int(gl_GlobalInvocationID.x); i < n; i += step) {
		int rem = i, ia = 0, ib = 0;
		for (int d = rank - 1; d >= 0; d--) {
			int c = rem % shape[d];
			rem /= shape[d];
			ia += c * sa[d];
			ib += c * sb[d];
		}
		o[i] = op(a[ia], b[ib]);
	}
}
