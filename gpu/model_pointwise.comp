#version 430
// Pointwise model operations over a flat grid, one element (or pair) per
// invocation, grid-stride (model_pointwise.go). One of:
//   GRAD_<F>  o_i = g_i·f'(x_i, y_i) for package tensor's UnaryGrad names
//             (a = g, b = x, c = y; s the parameter of SCALE)
//   ROTARY    pairs of a (batch, L, d): (a_2i, a_2i+1) → (a_2i·c − a_2i+1·s,
//             a_2i·s + a_2i+1·c), c = b[t, i], s = c[t, i] (cos, sin (L, d/2))
//   ADAMW     one AdamW step in place on p = a, g = b, m = c, v = o
//   AXPY      o_i += s·a_i
//   FILL      o_i = s (a is o; nothing read)
layout(local_size_x = 256) in;
#if defined(ADAMW)
layout(std430, binding = 0) buffer BufA { float a[]; };
layout(std430, binding = 1) readonly buffer BufB { float b[]; };
layout(std430, binding = 2) buffer BufC { float c[]; };
layout(std430, binding = 3) buffer BufO { float o[]; };
#elif defined(AXPY)
layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 3) buffer BufO { float o[]; };
#else
layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) readonly buffer BufB { float b[]; };
layout(std430, binding = 2) readonly buffer BufC { float c[]; };
layout(std430, binding = 3) writeonly buffer BufO { float o[]; };
#endif
uniform int n;       // elements (pairs under ROTARY)
uniform int L, h;    // ROTARY: positions and pairs per row (d/2)
uniform float s;     // SCALE's parameter, AXPY's α, FILL's value
uniform float lr, lrwd, b1, omb1, b2, omb2, rbc1, rbc2, eps; // ADAMW

float sigmoid(float x) { return 1.0 / (1.0 + exp(-x)); } // 1/(1 + Inf) = 0 for x ≪ 0

void main() {
	int stride = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
	for (int i = int(gl_GlobalInvocationID.x); i < n; i += stride) {
#if defined(ROTARY)
		int row = i / h, p = i - row * h, t = row % L;
		float cs = b[t * h + p], sn = c[t * h + p];
		float x1 = a[2 * i], x2 = a[2 * i + 1];
		o[2 * i] = x1 * cs - x2 * sn;
		o[2 * i + 1] = x1 * sn + x2 * cs;
#elif defined(ADAMW)
		float x = a[i], g = b[i];
		x -= lrwd * x;                         // p ← p − lr·wd·p
		float m = b1 * c[i] + omb1 * g;        // m ← β₁m + (1−β₁)g
		float v = b2 * o[i] + omb2 * g * g;    // v ← β₂v + (1−β₂)g²
		c[i] = m;
		o[i] = v;
		a[i] = x - lr * (m * rbc1) / (sqrt(v * rbc2) + eps);
#elif defined(AXPY)
		o[i] += s * a[i];
#elif defined(FILL)
		o[i] = s;
#else
		float g = a[i];
#if defined(GRAD_NEG)
		o[i] = -g;
#elif defined(GRAD_SCALE)
		o[i] = s * g;
#elif defined(GRAD_SQUARE)
		o[i] = 2.0 * b[i] * g;
#elif defined(GRAD_ABS)
		float x = b[i];
		o[i] = x > 0.0 ? g : (x < 0.0 ? -g : 0.0);
#elif defined(GRAD_RELU)
		o[i] = b[i] > 0.0 ? g : 0.0;
#elif defined(GRAD_EXP)
		o[i] = g * c[i];
#elif defined(GRAD_LOG)
		o[i] = g / b[i];
#elif defined(GRAD_SQRT)
		o[i] = g * 0.5 / c[i];
#elif defined(GRAD_SOFTPLUS)
		o[i] = g * sigmoid(b[i]);
#elif defined(GRAD_SIGMOID)
		float y = c[i];
		o[i] = g * y * (1.0 - y);
#elif defined(GRAD_LOGSIGMOID)
		o[i] = g * sigmoid(-b[i]);
#elif defined(GRAD_SILU)
		float x = b[i];
		float sg = x != 0.0 ? c[i] / x : 0.5; // σ(x) = y/x from the output
		o[i] = g * sg * (1.0 + x * (1.0 - sg));
#endif
#endif
	}
}
