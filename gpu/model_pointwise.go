package gpu

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"github.com/furious-lab/furious/backend"
)

// Pointwise operations of a training step on resident tensors, over a flat
// grid (model_pointwise.comp): the fused unary gradients (backend.DeviceGrader),
// rotary embeddings (backend.DeviceRotator), and the in-place AdamW step and
// axpy (backend.DeviceOptimizer). Arithmetic is float32; package tensor's
// CPU code rounds some of these from float64, and tests bound the difference.

//go:embed model_pointwise.comp
var pointwiseSrc string

var (
	_ backend.DeviceGrader    = Backend{}
	_ backend.DeviceRotator   = Backend{}
	_ backend.DeviceOptimizer = Backend{}
)

// pointwise runs model_pointwise.comp with define def over n elements
// (pairs under ROTARY): a, b, c, o bound to 0…3 (a nil b or c is bound to
// a, for variants that do not read it).
func (d *Device) pointwise(def string, n int, a, b, c, o *Buffer, args ...arg) error {
	if n == 0 {
		return nil
	}
	if b == nil {
		b = a
	}
	if c == nil {
		c = a
	}
	p, err := d.program("model_pointwise.comp", pointwiseSrc, def)
	if err != nil {
		return err
	}
	return d.run(p, [3]int{min(ceilDiv(n, 256), 65535), 1, 1}, []*Buffer{a, b, c, o}, append(args, iarg("n", n))...)
}

// gradNeeds reports which of x and y the gradient of the unary function op
// reads (package tensor's UnaryGradNames), and whether op is known.
func gradNeeds(op string) (x, y, ok bool) {
	switch op {
	case "neg", "scale":
		return false, false, true
	case "exp", "sqrt", "sigmoid":
		return false, true, true
	case "square", "abs", "relu", "log", "softplus", "logsigmoid":
		return true, false, true
	case "silu":
		return true, true, true
	}
	return false, false, false
}

// UnaryGradDevice32 implements backend.DeviceGrader: dx_i = g_i·f'(x_i, y_i)
// for the unary function op, with x the input and y = f(x) the output:
// "neg" −g, "scale" s·g, "square" 2x·g, "abs" sign(x)·g (0 at 0), "relu" g
// where x > 0, "exp" y·g, "log" g/x, "sqrt" g/(2y), "softplus" σ(x)·g,
// "sigmoid" y(1−y)·g, "logsigmoid" σ(−x)·g, "silu" σ(1 + x(1−σ))·g with
// σ = y/x (1/2 at x = 0). g, dx (n); x, y (n) where op reads them, else nil.
func (Backend) UnaryGradDevice32(op string, s float64, g, x, y, dx backend.DeviceBuffer) error {
	needX, needY, ok := gradNeeds(op)
	if !ok {
		return fmt.Errorf("gpu.UnaryGradDevice32(%q): no shader: %w", op, backend.ErrNotImplemented)
	}
	d, bs, err := bufs("UnaryGradDevice32", g, x, y, dx)
	if err != nil {
		return err
	}
	G, X, Y, DX := bs[0], bs[1], bs[2], bs[3]
	n := G.Len()
	if DX.Len() != n || (needX && (X == nil || X.Len() != n)) || (needY && (Y == nil || Y.Len() != n)) {
		return fmt.Errorf("gpu.UnaryGradDevice32(%q): g, x, y, dx have %d, %d, %d, %d values", op, n, lenOf(X), lenOf(Y), DX.Len())
	}
	if !needX {
		X = nil
	}
	if !needY {
		Y = nil
	}
	return oom(d.pointwise("GRAD_"+strings.ToUpper(op), n, G, X, Y, DX, farg("s", float32(s))))
}

// RotaryDevice32 implements backend.DeviceRotator: for x, y (batch, L, d),
// d even, and cos, sin (L, d/2), each pair i at position t is rotated,
// (x_2i, x_2i+1) → (x_2i·c − x_2i+1·s, x_2i·s + x_2i+1·c), c = cos[t, i],
// s = sin[t, i]. One invocation per pair.
func (Backend) RotaryDevice32(x backend.DeviceBuffer, batch, L, dim int, cos, sin, y backend.DeviceBuffer) error {
	d, bs, err := bufs("RotaryDevice32", x, cos, sin, y)
	if err != nil {
		return err
	}
	X, C, S, Y := bs[0], bs[1], bs[2], bs[3]
	h := dim / 2
	n := batch * L * h
	if batch < 0 || L < 0 || dim < 0 || dim%2 != 0 || X.Len() < 2*n || Y.Len() < 2*n || C.Len() < L*h || S.Len() < L*h {
		return fmt.Errorf("gpu.RotaryDevice32: batch %d, L %d, d %d: x %d, cos %d, sin %d, y %d values", batch, L, dim, X.Len(), C.Len(), S.Len(), Y.Len())
	}
	return oom(d.pointwise("ROTARY", n, X, C, S, Y, iarg("L", L), iarg("h", max(h, 1))))
}

// AdamWDevice32 implements backend.DeviceOptimizer: one AdamW step in
// place on the n values of p with gradient g and moments m, v, in float32:
//
//	p ← p − lr·wd·p,  m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,
//	p ← p − lr·(m/bc1)/(√(v/bc2) + eps)
//
// (1−β, lr·wd and 1/bc formed in float64 and rounded once). One dispatch.
func (Backend) AdamWDevice32(p, g, m, v backend.DeviceBuffer, n int, lr, beta1, beta2, eps, wd, bc1, bc2 float64) error {
	d, bs, err := bufs("AdamWDevice32", p, g, m, v)
	if err != nil {
		return err
	}
	if slices.Contains(bs, nil) {
		return fmt.Errorf("gpu.AdamWDevice32: p, g, m and v are all needed: %w", backend.ErrNotImplemented)
	}
	P, G, M, V := bs[0], bs[1], bs[2], bs[3]
	if n < 0 || P.Len() < n || G.Len() < n || M.Len() < n || V.Len() < n {
		return fmt.Errorf("gpu.AdamWDevice32: n %d: p, g, m, v have %d, %d, %d, %d values", n, P.Len(), G.Len(), M.Len(), V.Len())
	}
	return oom(d.pointwise("ADAMW", n, P, G, M, V,
		farg("lr", float32(lr)), farg("lrwd", float32(lr*wd)), farg("b1", float32(beta1)), farg("omb1", float32(1-beta1)),
		farg("b2", float32(beta2)), farg("omb2", float32(1-beta2)), farg("rbc1", float32(1/bc1)), farg("rbc2", float32(1/bc2)),
		farg("eps", float32(eps))))
}

// AxpyDevice32 implements backend.DeviceOptimizer: y ← y + α·x in place,
// x and y of one length.
func (Backend) AxpyDevice32(alpha float64, x, y backend.DeviceBuffer) error {
	d, bs, err := bufs("AxpyDevice32", x, y)
	if err != nil {
		return err
	}
	X, Y := bs[0], bs[1]
	if X.Len() != Y.Len() {
		return fmt.Errorf("gpu.AxpyDevice32: x has %d values, y %d", X.Len(), Y.Len())
	}
	return oom(d.pointwise("AXPY", Y.Len(), X, nil, nil, Y, farg("s", float32(alpha))))
}

// SumSquaresDevice32 implements backend.DeviceOptimizer: out[i] =
// Σ_{j<ns[i]} xs[i][j]² for each buffer, one work group of 256 per buffer
// (reduce.comp SUMSQ, double sums rounded once).
func (Backend) SumSquaresDevice32(xs []backend.DeviceBuffer, ns []int, out backend.DeviceBuffer) error {
	d, bs, err := bufs("SumSquaresDevice32", append(append([]backend.DeviceBuffer{}, xs...), out)...)
	if err != nil {
		return err
	}
	O := bs[len(xs)]
	if O.Len() < len(xs) || len(ns) != len(xs) {
		return fmt.Errorf("gpu.SumSquaresDevice32: %d buffers, %d lengths, out has %d values", len(xs), len(ns), O.Len())
	}
	p, err := d.program("reduce.comp", reduceSrc, "SUMSQ")
	if err != nil {
		return err
	}
	for i, X := range bs[:len(xs)] {
		if ns[i] < 0 || ns[i] > X.Len() {
			return fmt.Errorf("gpu.SumSquaresDevice32: length %d of buffer %d, which has %d values", ns[i], i, X.Len())
		}
		if err := d.run(p, [3]int{1, 1, 1}, []*Buffer{X, O}, iarg("cols", ns[i]), iarg("slot", i)); err != nil {
			return oom(err)
		}
	}
	return nil
}
