#version 430
// Elementwise maps over n floats: out[i] = OP(a[i], b[i]), with OP one of
// the expressions elementwise.go defines (ADD, SUB, MUL, DIV, AXPB, EXP,
// SOFTPLUS). Grid-stride loop: any n with at most 65535 groups.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) readonly buffer BufB { float b[]; };
layout(std430, binding = 2) writeonly buffer BufO { float o[]; };
uniform int n;
uniform float alpha, beta;

// log1p(u) for u ≥ 0: below 1/16 the series u − u²/2 + … − u⁶/6 (relative
// error under u⁶/7 < 1e-8), since log(1 + u) there keeps only the bits of u
// that survive the rounding of 1 + u (and GLSL's log has an absolute error
// bound near 1); log(1 + u) above.
float log1pPos(float u) {
	if (u < 0.0625) return u * (1.0 - u * (0.5 - u * (1.0 / 3.0 - u * (0.25 - u * (0.2 - u / 6.0)))));
	return log(1.0 + u);
}

float op(float x, float y) {
#if defined(ADD)
	return x + y;
#elif defined(SUB)
	return x - y;
#elif defined(MUL)
	return x * y;
#elif defined(DIV)
	return x / y;
#elif defined(AXPB)
	return alpha * x + beta;
#elif defined(EXP)
	return exp(x);
#elif defined(SOFTPLUS)
	// log(1 + eˣ) = max(x, 0) + log(1 + e^−|x|); x itself above 20 (as torch)
	return x > 20.0 ? x : max(x, 0.0) + log1pPos(exp(-abs(x)));
#endif
}

void main() {
	int stride = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
	for (int i = int(gl_GlobalInvocationID.x); i < n; i += stride) {
#if defined(ADD) || defined(SUB) || defined(MUL) || defined(DIV)
		o[i] = op(a[i], b[i]);
#else
		o[i] = op(a[i], 0.0);
#endif
	}
}
