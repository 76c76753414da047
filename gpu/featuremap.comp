#version 430
// Order-2 symmetric Kronecker feature map of each row of x (rows, d):
//   φ(x)_p = coef·(s·x_i)(s·x_j),  p over i ≤ j row-major in the upper
//   triangle (p = 0 → (0,0), 1 → (0,1), …, d → (1,1)), coef = 1 on the
//   diagonal and √2 off it, so φ(x)·φ(y) = s⁴(x·y)²;  out (rows, d(d+1)/2).
// One work group per row; the row is staged in shared memory.
layout(local_size_x = 128) in;
layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) writeonly buffer BufO { float o[]; };
uniform int rows, d;
uniform float scale;
shared float xs[1024];

void main() {
	int r = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x);
	if (r >= rows) return; // uniform over the group
	int t = int(gl_LocalInvocationIndex);
	for (int i = t; i < d; i += 128) xs[i] = scale * x[r * d + i];
	barrier();
	int D = d * (d + 1) / 2;
	int off = r * D; // start of row i of the triangle
	for (int i = 0; i < d; i++) {
		float xi = xs[i];
		for (int j = i + t; j < d; j += 128)
			o[off + j - i] = (j == i ? 1.0 : 1.4142135623730951) * xi * xs[j];
		off += d - i;
	}
}
