#version 430
// More elementwise functions for resident tensors: out[i] = OP(a[i]) with
// OP one of ABS, RELU, LOG, SQRT, SIGMOID, LOGSIGMOID, SILU (unary.go).
// NaN and the edges follow package tensor's CPU code (math.Log, math.Sqrt):
// GLSL leaves log and sqrt undefined below 0 and log at 0, so those cases
// are written out. Grid-stride loop: any n with at most 65535 groups.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) writeonly buffer BufO { float o[]; };
uniform int n;

const float NAN = uintBitsToFloat(0x7fc00000u);
const float NEG_INF = uintBitsToFloat(0xff800000u);

// log1p(u) for u ≥ 0: below 1/16 the series u − u²/2 + … − u⁶/6 (relative
// error under u⁶/7 < 1e-8), since log(1 + u) there keeps only the bits of u
// that survive the rounding of 1 + u (and GLSL's log has an absolute error
// bound near 1); log(1 + u) above.
float log1pPos(float u) {
	if (u < 0.0625) return u * (1.0 - u * (0.5 - u * (1.0 / 3.0 - u * (0.25 - u * (0.2 - u / 6.0)))));
	return log(1.0 + u);
}

float sigmoid(float x) { return 1.0 / (1.0 + exp(-x)); } // 1/(1 + Inf) = 0 for x ≪ 0

float op(float x) {
#if defined(ABS)
	return abs(x);
#elif defined(RELU)
	return isnan(x) ? x : max(x, 0.0); // NaN stays NaN (a compiler may turn x < 0 ? 0 : x into max)
#elif defined(LOG)
	if (isnan(x) || x < 0.0) return NAN;
	if (x == 0.0) return NEG_INF;
	if (isinf(x)) return x;
	return log(x);
#elif defined(SQRT)
	if (isnan(x) || x < 0.0) return NAN;
	if (isinf(x)) return x;
	return sqrt(x);
#elif defined(SIGMOID)
	return sigmoid(x);
#elif defined(LOGSIGMOID)
	// ln σ(x) = min(x, 0) − ln(1 + e^−|x|)
	return min(x, 0.0) - log1pPos(exp(-abs(x)));
#elif defined(SILU)
	return x * sigmoid(x);
#endif
}

void main() {
	int stride = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
	for (int i = int(gl_GlobalInvocationID.x); i < n; i += stride) o[i] = op(a[i]);
}
