package gpu

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/tensor"
)

// Tests of the model operations on resident tensors (model.go and the
// model_*.go dispatchers): each op of package tensor runs on resident
// operands, its results must stay resident, nothing may cross the bus and
// no CPU fallback may run, and the results must agree with the same op on
// host copies (package tensor's CPU code, float64 sums rounded once) within
// the bound each test states. Sizes are ragged (not multiples of 256 or 64).

// onGPU uploads host tensors.
func onGPU(ts ...*tensor.Tensor) []*tensor.Tensor {
	out := make([]*tensor.Tensor, len(ts))
	for i, x := range ts {
		if x != nil {
			out[i] = x.To("gpu")
		}
	}
	return out
}

// stays runs f, which computes on resident tensors only, and fails when it
// moved data between host and device or when package tensor wrote a
// fallback notice (an op that ran on the CPU).
func stays(t *testing.T, notices *bytes.Buffer, what string, f func()) {
	t.Helper()
	u0, d0 := tensor.Transfers()
	f()
	u, dl := tensor.Transfers()
	if u != u0 || dl != d0 {
		t.Errorf("%s: %d uploads and %d downloads, want none", what, u-u0, dl-d0)
	}
	if notices.Len() > 0 {
		t.Errorf("%s fell back to the CPU: %s", what, notices)
		notices.Reset()
	}
}

// onDev fails unless every tensor is resident on the gpu.
func onDev(t *testing.T, what string, ts ...*tensor.Tensor) {
	t.Helper()
	for i, x := range ts {
		if x != nil && x.Device() != backend.GPU {
			t.Errorf("%s: result %d is on %v, want the gpu", what, i, x.Device())
		}
	}
}

// near compares a resident result with the CPU's: the largest
// |got − want| / (|want| + floor) must be at most tol (tol 0: equal bits;
// NaN agrees with NaN).
// It returns that largest difference (and logs it).
func near(t *testing.T, what string, got, want *tensor.Tensor, tol, floor float64) float64 {
	t.Helper()
	return nearScaled(t, what, got, want, nil, tol, floor)
}

// nearScaled is near with |want| replaced by scale (element by element)
// when scale is not nil: for sums, the sum of the terms' magnitudes.
func nearScaled(t *testing.T, what string, got, want, scale *tensor.Tensor, tol, floor float64) float64 {
	t.Helper()
	g, w := got.To("cpu").Float32s(), want.Float32s()
	if len(g) != len(w) {
		t.Fatalf("%s: %d values, want %d", what, len(g), len(w))
	}
	var sc []float32
	if scale != nil {
		sc = scale.Float32s()
	}
	worst, at := 0.0, -1
	for i := range w {
		if tol == 0 {
			if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
				t.Errorf("%s: element %d is %v, want %v (bit for bit)", what, i, g[i], w[i])
				return math.Inf(1)
			}
			continue
		}
		s := math.Abs(float64(w[i]))
		if sc != nil {
			s = float64(sc[i])
		}
		e := math.Abs(float64(g[i])-float64(w[i])) / (s + floor)
		switch {
		case g[i] != g[i] && w[i] != w[i]: // NaN where the CPU has NaN
			e = 0
		case math.IsNaN(e):
			e = math.Inf(1)
		}
		if e > worst || at < 0 {
			worst, at = e, i
		}
	}
	if worst > tol {
		t.Errorf("%s: largest difference %.3g (relative, floor %g) at %d: got %v, want %v; bound %.3g", what, worst, floor, at, g[at], w[at], tol)
	} else {
		t.Logf("%s: largest difference %.3g (bound %.3g)", what, worst, tol)
	}
	return worst
}

// TestModelIndex checks Gather and ScatterAdd along axes 0 and 1 with
// repeated and unused indices: equal bits (ScatterAdd sums each target's
// list in the CPU's order).
func TestModelIndex(t *testing.T) {
	_, notices := residentSetup(t)
	for _, c := range []struct {
		shape []int
		axis  int
		idx   []int
	}{
		{[]int{37, 19}, 0, []int{3, 0, 36, 3, 3, 17, 0, 5, 36, 36, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 3}},
		{[]int{3, 11, 5}, 1, []int{10, 2, 2, 7, 2, 0, 10}},
		{[]int{4, 300}, 1, []int{299, 0, 150, 150, 299, 1}},
		{[]int{5, 3}, 0, []int{}},
	} {
		x := tensor.NewRNG(7).Randn(c.shape...)
		X := onGPU(x)[0]
		var Y, S *tensor.Tensor
		gs := append([]int{}, c.shape...)
		gs[c.axis] = len(c.idx)
		g := tensor.NewRNG(8).Randn(gs...)
		G := onGPU(g)[0]
		what := fmt.Sprintf("axis %d of %v, %d indices", c.axis, c.shape, len(c.idx))
		stays(t, notices, what, func() {
			Y = tensor.Gather(X, c.axis, c.idx)
			S = tensor.ScatterAdd(G, c.axis, c.idx, c.shape[c.axis])
		})
		onDev(t, what, Y, S)
		near(t, "Gather "+what, Y, tensor.Gather(x, c.axis, c.idx), 0, 0)
		near(t, "ScatterAdd "+what, S, tensor.ScatterAdd(g, c.axis, c.idx, c.shape[c.axis]), 0, 0)
	}
}

// TestModelSoftmax checks Softmax, LogSoftmax and their backward passes on
// rows of 1 to 1000 (float32 sums in a tree): softmax within 2e-6 of each
// probability plus 0.05·2e-6, log-softmax within 1e-6·(|y| + 1), the
// backward passes within 1e-6 of their terms' magnitudes, y(|g| + Σ|g|y)
// and |g| + e^y·Σ|g|.
func TestModelSoftmax(t *testing.T) {
	_, notices := residentSetup(t)
	for _, s := range [][]int{{1, 1}, {3, 7}, {2, 3, 257}, {5, 1000}} {
		x := tensor.Scale(tensor.NewRNG(3).Randn(s...), 4)
		g := tensor.NewRNG(4).Randn(s...)
		y, ly := tensor.Softmax(x), tensor.LogSoftmax(x)
		in := onGPU(x, g, y, ly)
		var Y, LY, DX, LDX *tensor.Tensor
		what := fmt.Sprint(s)
		stays(t, notices, what, func() {
			Y, LY = tensor.Softmax(in[0]), tensor.LogSoftmax(in[0])
			DX, LDX = tensor.SoftmaxBackward(in[1], in[2]), tensor.LogSoftmaxBackward(in[1], in[3])
		})
		onDev(t, what, Y, LY, DX, LDX)
		near(t, "Softmax "+what, Y, y, 2e-6, 0.05)
		near(t, "LogSoftmax "+what, LY, ly, 1e-6, 1)
		ag := tensor.Abs(g) // the terms of y_i(g_i − Σ_j g_j y_j), which cancel
		sdx := tensor.Mul(y, tensor.Add(ag, tensor.Sum(tensor.Mul(ag, y), -1, true)))
		nearScaled(t, "SoftmaxBackward "+what, DX, tensor.SoftmaxBackward(g, y), sdx, 1e-6, 1e-30)
		sldx := tensor.Add(ag, tensor.Mul(tensor.Exp(ly), tensor.Sum(ag, -1, true))) // |g| + e^y Σ|g|
		nearScaled(t, "LogSoftmaxBackward "+what, LDX, tensor.LogSoftmaxBackward(g, ly), sldx, 1e-6, 1e-30)
	}
}

// TestModelCrossEntropy checks the loss (within 1e-6 relative: a double
// sum on both sides) and its gradient (within 1e-6 of the row scale c) with
// an ignored target, and that only the loss is read back.
func TestModelCrossEntropy(t *testing.T) {
	_, notices := residentSetup(t)
	const ignore = -100
	for _, c := range []struct {
		rows, n int
		tg      []int
	}{
		{5, 13, []int{3, ignore, 0, 12, 3}},
		{300, 7, nil},
		{2, 600, []int{ignore, ignore}},
	} {
		tg := c.tg
		if tg == nil {
			for r := 0; r < c.rows; r++ {
				v := (r * 5) % c.n
				if r%11 == 4 {
					v = ignore
				}
				tg = append(tg, v)
			}
		}
		logp := tensor.LogSoftmax(tensor.Scale(tensor.NewRNG(5).Randn(c.rows, c.n), 3))
		P := onGPU(logp)[0]
		what := fmt.Sprintf("%d×%d", c.rows, c.n)
		u0, d0 := tensor.Transfers()
		loss := tensor.CrossEntropy(P, tg, ignore)
		if u, dl := tensor.Transfers(); u != u0 || dl != d0 {
			t.Errorf("CrossEntropy %s: %d uploads, %d downloads of tensors, want none (only the loss comes back)", what, u-u0, dl-d0)
		}
		want := tensor.CrossEntropy(logp, tg, ignore)
		if e := math.Abs(loss-want) / math.Max(math.Abs(want), 1e-30); e > 1e-6 && !(want == 0 && loss == 0) {
			t.Errorf("CrossEntropy %s: %v, want %v (relative %.3g)", what, loss, want, e)
		} else {
			t.Logf("CrossEntropy %s: %v, CPU %v", what, loss, want)
		}
		var DX *tensor.Tensor
		const scale = 0.7
		stays(t, notices, what, func() { DX = tensor.CrossEntropyGrad(P, tg, ignore, scale) })
		onDev(t, what, DX)
		cnt := 0
		for _, v := range tg {
			if v != ignore {
				cnt++
			}
		}
		cs := scale / float64(max(cnt, 1))
		// relative to the row scale c: |Δ| ≤ 1e-6·c (floor c, |want| ≤ c)
		near(t, "CrossEntropyGrad "+what, DX, tensor.CrossEntropyGrad(logp, tg, ignore, scale), 2e-6, cs)
	}
	if notices.Len() > 0 {
		t.Errorf("fell back to the CPU: %s", notices)
	}
}

// TestModelRMSNorm checks RMSNorm (y, r) and its backward (dx, dw), with
// and without a weight, on rows of 1 to 300 and more rows than one dw
// block (64): y, r within 2e-6 relative, dx within 1e-6 of its terms'
// magnitudes, dw within 4e-6 ≈ 64·2⁻²⁴ of Σ_rows |g|·|x̂| (float32 blocks
// of 64 rows, then double).
func TestModelRMSNorm(t *testing.T) {
	_, notices := residentSetup(t)
	for _, s := range [][]int{{1, 1}, {3, 5, 7}, {2, 70, 33}, {4, 300}} {
		n := s[len(s)-1]
		x, g := tensor.NewRNG(11).Randn(s...), tensor.NewRNG(12).Randn(s...)
		for _, weighted := range []bool{false, true} {
			var w *tensor.Tensor
			if weighted {
				w = tensor.AddScalar(tensor.NewRNG(13).Randn(n), 1)
			}
			y, r := tensor.RMSNorm(x, w, 1e-5)
			dx, dw := tensor.RMSNormBackward(g, x, w, r)
			in := onGPU(x, g, w)
			var Y, R, DX, DW *tensor.Tensor
			what := fmt.Sprintf("%v weighted %v", s, weighted)
			stays(t, notices, what, func() {
				Y, R = tensor.RMSNorm(in[0], in[2], 1e-5)
				DX, DW = tensor.RMSNormBackward(in[1], in[0], in[2], R)
			})
			onDev(t, what, Y, R, DX)
			near(t, "RMSNorm y "+what, Y, y, 2e-6, 1e-3)
			near(t, "RMSNorm r "+what, R, r, 2e-6, 0)
			// dx's terms: r(|ĝ| + |x̂|·mean(|ĝ ⊙ x̂|)), ĝ = g ⊙ w, x̂ = x·r
			gh := tensor.Abs(g)
			if w != nil {
				gh = tensor.Abs(tensor.Mul(g, w))
			}
			ru := r.Unsqueeze(-1)
			xh := tensor.Abs(tensor.Mul(x, ru))
			sdx := tensor.Mul(ru, tensor.Add(gh, tensor.Mul(xh, tensor.Mean(tensor.Mul(gh, xh), -1, true))))
			nearScaled(t, "RMSNormBackward dx "+what, DX, dx, sdx, 1e-6, 1e-30)
			if weighted {
				onDev(t, what, DW)
				_, sdw := tensor.RMSNormBackward(tensor.Abs(g), tensor.Abs(x), w, r) // Σ_rows |g|·|x̂|
				nearScaled(t, "RMSNormBackward dw "+what, DW, dw, sdw, 4e-6, 1e-30)
			} else if DW != nil {
				t.Errorf("%s: dw without a weight", what)
			}
		}
	}
}

// TestModelRotary checks Rotary (and its adjoint, Rotary with −sin) within
// 4e-7 of (|x_2i| + |x_2i+1|) — the CPU rounds the same float32 products,
// a fused multiply-add on the device rounds once less.
func TestModelRotary(t *testing.T) {
	_, notices := residentSetup(t)
	for _, s := range [][]int{{5, 2}, {2, 3, 7, 6}, {1, 300, 10}} {
		L, d := s[len(s)-2], s[len(s)-1]
		x := tensor.NewRNG(21).Randn(s...)
		ang := tensor.Scale(tensor.NewRNG(22).Randn(L, d/2), 3)
		cos, sin := tensor.Apply(ang, math.Cos), tensor.Apply(ang, math.Sin)
		nsin := tensor.Neg(sin)
		in := onGPU(x, cos, sin, nsin)
		var Y, Z *tensor.Tensor
		what := fmt.Sprint(s)
		stays(t, notices, what, func() {
			Y = tensor.Rotary(in[0], in[1], in[2])
			Z = tensor.Rotary(Y, in[1], in[3])
		})
		onDev(t, what, Y, Z)
		near(t, "Rotary "+what, Y, tensor.Rotary(x, cos, sin), 1e-6, 1)
		near(t, "Rotary adjoint "+what, Z, tensor.Rotary(tensor.Rotary(x, cos, sin), cos, nsin), 2e-6, 1)
	}
}

// TestModelUnaryGrad checks every fused unary gradient on 1000 values: the
// products of float32 operands agree in bits with the CPU; log's quotient
// within 2 ulps; those with a sigmoid or a division within 2e-6 of |dx| + |g| (the derivatives are of
// order 1, and silu's vanishes near x = −1.28 by cancellation).
func TestModelUnaryGrad(t *testing.T) {
	_, notices := residentSetup(t)
	const n, s = 1000, -0.375
	f := map[string]func(*tensor.Tensor) *tensor.Tensor{
		"neg": tensor.Neg, "scale": func(x *tensor.Tensor) *tensor.Tensor { return tensor.Scale(x, s) },
		"square": tensor.Square, "abs": tensor.Abs, "relu": tensor.ReLU, "exp": tensor.Exp, "log": tensor.Log,
		"sqrt": tensor.Sqrt, "softplus": tensor.Softplus, "sigmoid": tensor.Sigmoid, "logsigmoid": tensor.LogSigmoid,
		"silu": tensor.SiLU,
	}
	g := tensor.NewRNG(31).Randn(n)
	for _, op := range tensor.UnaryGradNames {
		x := tensor.Scale(tensor.NewRNG(32).Randn(n), 3)
		if op == "log" || op == "sqrt" {
			x = tensor.AddScalar(tensor.Abs(x), 0.1)
		}
		x.Float32s()[0] = 0 // the edges: sign, relu and silu at 0
		if op == "log" || op == "sqrt" {
			x.Float32s()[0] = 0.25
		}
		y := f[op](x)
		in := onGPU(g, x, y)
		var DX *tensor.Tensor
		stays(t, notices, op, func() { DX = tensor.UnaryGrad(op, in[0], in[1], in[2], s) })
		onDev(t, op, DX)
		tol := 2e-6
		switch op {
		case "neg", "scale", "square", "abs", "relu", "exp":
			tol = 0
		case "log": // g/x: GLSL's division need not be correctly rounded (NVIDIA's is not): 2 ulps
			tol = 2.4e-7
		}
		want := tensor.UnaryGrad(op, g, x, y, s)
		nearScaled(t, "UnaryGrad "+op, DX, want, tensor.Add(tensor.Abs(want), tensor.Abs(g)), tol, 0)
	}
}

// TestModelConv checks CausalConv1d and its backward for W = 1…4, with
// and without a bias, channels past one work group (64) and more rows than
// one weight block (64), each within tol·Σ|terms| (the same op on |x|, |w|,
// |g|): y and dx (float32 sums of W + 1 terms) 4e-7, dw and db (float32
// sums of 64 rows, then double) 4e-6 ≈ 64·2⁻²⁴.
func TestModelConv(t *testing.T) {
	_, notices := residentSetup(t)
	for _, s := range [][3]int{{1, 1, 1}, {2, 9, 5}, {3, 30, 70}} {
		B, L, C := s[0], s[1], s[2]
		for W := 1; W <= 4; W++ {
			for _, withBias := range []bool{false, true} {
				x, g := tensor.NewRNG(41).Randn(B, L, C), tensor.NewRNG(42).Randn(B, L, C)
				w := tensor.NewRNG(43).Randn(C, W)
				var b *tensor.Tensor
				if withBias {
					b = tensor.NewRNG(44).Randn(C)
				}
				in := onGPU(x, g, w, b)
				var Y, DX, DW, DB *tensor.Tensor
				what := fmt.Sprintf("B %d L %d C %d W %d bias %v", B, L, C, W, withBias)
				stays(t, notices, what, func() {
					Y = tensor.CausalConv1d(in[0], in[2], in[3])
					DX, DW, DB = tensor.CausalConv1dBackward(in[1], in[0], in[2], withBias)
				})
				onDev(t, what, Y, DX, DW, DB)
				dx, dw, db := tensor.CausalConv1dBackward(g, x, w, withBias)
				ax, ag, aw := tensor.Abs(x), tensor.Abs(g), tensor.Abs(w)
				var ab *tensor.Tensor
				if b != nil {
					ab = tensor.Abs(b)
				}
				sdx, sdw, sdb := tensor.CausalConv1dBackward(ag, ax, aw, withBias)
				nearScaled(t, "CausalConv1d "+what, Y, tensor.CausalConv1d(x, w, b), tensor.CausalConv1d(ax, aw, ab), 4e-7, 1e-30)
				nearScaled(t, "CausalConv1dBackward dx "+what, DX, dx, sdx, 4e-7, 1e-30)
				nearScaled(t, "CausalConv1dBackward dw "+what, DW, dw, sdw, 4e-6, 1e-30)
				if withBias {
					nearScaled(t, "CausalConv1dBackward db "+what, DB, db, sdb, 4e-6, 1e-30)
				} else if DB != nil {
					t.Errorf("%s: db without a bias", what)
				}
			}
		}
	}
}

// TestModelCumsumReverse checks CumsumReverse on each axis: double sums on
// both sides, equal bits.
func TestModelCumsumReverse(t *testing.T) {
	_, notices := residentSetup(t)
	x := tensor.NewRNG(51).Randn(3, 7, 300)
	X := onGPU(x)[0]
	for axis := 0; axis < 3; axis++ {
		var Y *tensor.Tensor
		what := fmt.Sprintf("axis %d", axis)
		stays(t, notices, what, func() { Y = tensor.CumsumReverse(X, axis) })
		onDev(t, what, Y)
		near(t, "CumsumReverse "+what, Y, tensor.CumsumReverse(x, axis), 0, 0)
	}
}

// TestModelAdamW checks three AdamW steps in place on resident p, m, v
// against the CPU's (float64 arithmetic rounded once): p within 1e-6 of
// |p| + 0.01 (lr), m within 1e-6 of the same recursion on |g| (m's terms,
// which cancel), v within 1e-6 relative;
// and that a host copy read before the steps is refreshed after them.
func TestModelAdamW(t *testing.T) {
	_, notices := residentSetup(t)
	const n, lr, b1, b2, eps, wd = 1001, 1e-2, 0.9, 0.999, 1e-8, 0.1
	p, m, v := tensor.NewRNG(61).Randn(n), tensor.Zeros(n), tensor.Zeros(n)
	P, M, V := p.To("gpu"), m.To("gpu"), v.To("gpu")
	_ = P.To("cpu")       // a host copy, which the steps must make stale
	sm := tensor.Zeros(n) // Σ of |m|'s terms: sm ← β₁sm + (1−β₁)|g|
	for step := 1; step <= 3; step++ {
		g := tensor.NewRNG(uint64(62 + step)).Randn(n)
		sm = tensor.Add(tensor.Scale(sm, b1), tensor.Scale(tensor.Abs(g), 1-b1))
		G := g.To("gpu")
		stays(t, notices, fmt.Sprint("step ", step), func() { tensor.AdamW(P, G, M, V, lr, b1, b2, eps, wd, step) })
		tensor.AdamW(p, g, m, v, lr, b1, b2, eps, wd, step)
	}
	onDev(t, "AdamW", P, M, V)
	near(t, "AdamW p", P, p, 1e-6, 0.01)
	nearScaled(t, "AdamW m", M, m, sm, 1e-6, 1e-30)
	near(t, "AdamW v", V, v, 1e-6, 1e-30)
}

// TestModelAxpy checks y += α·x in place on a resident y (the float32
// product and sum of the CPU: equal bits, unless the device fuses them),
// and that y's host copy is refreshed.
func TestModelAxpy(t *testing.T) {
	_, notices := residentSetup(t)
	x, y := tensor.NewRNG(71).Randn(3, 333), tensor.NewRNG(72).Randn(3, 333)
	X, Y := x.To("gpu"), y.To("gpu")
	_ = Y.To("cpu")
	stays(t, notices, "Axpy", func() { tensor.Axpy(-0.3, X, Y) })
	tensor.Axpy(-0.3, x, y)
	onDev(t, "Axpy", Y)
	near(t, "Axpy", Y, y, 2e-7, 1)
}

// TestModelClone checks that a resident tensor's clone is copied on the
// device (no transfer), is resident, equals the original bit for bit, and
// owns its data (an in-place update of the clone leaves the original).
func TestModelClone(t *testing.T) {
	_, notices := residentSetup(t)
	x := tensor.NewRNG(81).Randn(3, 5, 7)
	X := x.To("gpu")
	var C *tensor.Tensor
	stays(t, notices, "Clone", func() { C = X.Clone() })
	onDev(t, "Clone", C)
	if !equalShapes(C.Shape(), x.Shape()) {
		t.Fatalf("Clone has shape %v, want %v", C.Shape(), x.Shape())
	}
	near(t, "Clone", C, x, 0, 0)
	tensor.Axpy(1, X, C)
	near(t, "Clone's original after an update of the clone", X, x, 0, 0)
}

// TestModelReduceLong checks Sum, Mean, Max and Min over a long axis with
// few outputs, which ReduceAxis reduces in two passes (chunks of 1024,
// then the partials): sums within 2⁻²³ of Σ|x| (a rounding of each partial
// and of the result), Max and Min equal, NaN propagating; and the
// reduction of a bias gradient, SumTo over 3000 rows.
func TestModelReduceLong(t *testing.T) {
	_, notices := residentSetup(t)
	for _, s := range [][]int{{2, 5000, 3}, {70001}} {
		x := tensor.NewRNG(91).Randn(s...)
		ax := len(s) / 2
		for _, nan := range []bool{false, true} {
			if nan {
				x.Float32s()[x.Len()-2] = float32(math.NaN())
			}
			X := x.To("gpu")
			what := fmt.Sprintf("%v axis %d NaN %v", s, ax, nan)
			var S, M, MX, MN *tensor.Tensor
			stays(t, notices, what, func() {
				S, M = tensor.Sum(X, ax, false), tensor.Mean(X, ax, false)
				MX, MN = tensor.Max(X, ax, false), tensor.Min(X, ax, false)
			})
			onDev(t, what, S, M, MX, MN)
			abs := tensor.Sum(tensor.Abs(x), ax, false)
			nearScaled(t, "Sum "+what, S, tensor.Sum(x, ax, false), abs, 1.0/(1<<23), 1e-30)
			nearScaled(t, "Mean "+what, M, tensor.Mean(x, ax, false), tensor.Scale(abs, 1/float64(s[ax])), 1.0/(1<<23), 1e-30)
			near(t, "Max "+what, MX, tensor.Max(x, ax, false), 0, 0)
			near(t, "Min "+what, MN, tensor.Min(x, ax, false), 0, 0)
		}
	}
	g := tensor.NewRNG(92).Randn(3, 1000, 7)
	G := g.To("gpu")
	var B *tensor.Tensor
	stays(t, notices, "SumTo", func() { B = tensor.SumTo(G, 7) })
	onDev(t, "SumTo", B)
	nearScaled(t, "SumTo (3, 1000, 7) → (7)", B, tensor.SumTo(g, 7), tensor.SumTo(tensor.Abs(g), 7), 1.0/(1<<23), 1e-30)
}

// TestModelReduceAll checks SumAll, MeanAll, MaxAll, MinAll and Norm of
// resident tensors: each reads back one value (Norm its sum of squares;
// past float32's range three: that sum, max|x|, the scaled sum), and
// agrees with the host's float64 result within 2⁻²³ of Σ|x| (the sum is
// rounded to float32 on the device), Max and Min exactly.
func TestModelReduceAll(t *testing.T) {
	_, notices := residentSetup(t)
	for _, s := range [][]int{{1}, {3, 37, 5}, {70001}, {-1}} {
		big := s[0] < 0 // squares past float32's range: Norm's scaled path
		if big {
			s = []int{300}
		}
		x := tensor.NewRNG(93).Randn(s...)
		if big {
			x = tensor.Scale(x, 1e20)
		}
		X := x.To("gpu")
		abs := tensor.SumAll(tensor.Abs(x))
		n := float64(x.Len())
		for _, c := range []struct {
			name      string
			f         func(*tensor.Tensor) float64
			scale     float64
			downloads int64
		}{
			{"SumAll", tensor.SumAll, abs, 1}, {"MeanAll", tensor.MeanAll, abs / n, 1},
			{"MaxAll", tensor.MaxAll, 0, 1}, {"MinAll", tensor.MinAll, 0, 1},
			{"Norm", tensor.Norm, tensor.Norm(x), map[bool]int64{false: 1, true: 3}[big]},
		} {
			u0, d0 := tensor.Transfers()
			got := c.f(X)
			u, d := tensor.Transfers()
			if u != u0 || d-d0 != c.downloads {
				t.Errorf("%s of %v: %d uploads, %d downloads, want 0 and %d", c.name, s, u-u0, d-d0, c.downloads)
			}
			want := c.f(x)
			if e := math.Abs(got - want); e > c.scale/(1<<23) {
				t.Errorf("%s of %v: %v, host %v (difference %.3g, bound %.3g)", c.name, s, got, want, e, c.scale/(1<<23))
			} else {
				t.Logf("%s of %v: difference %.3g of the scale %.3g", c.name, s, e/math.Max(c.scale, 1e-300), c.scale)
			}
		}
		if notices.Len() > 0 {
			t.Errorf("fell back to the CPU: %s", notices)
			notices.Reset()
		}
	}
}

// TestModelStep runs one training step of a small model written in tensor
// ops — embedding gather, causal conv, SiLU, RMSNorm, rotary, LM head,
// log-softmax cross-entropy with an ignored target, every backward pass
// and AdamW on every parameter — on resident tensors, and checks that it
// moves no tensor between host and device (the token ids and targets go
// up as index lists, the loss comes back as one value), falls back
// nowhere, and gives the loss and updated parameters of the same step on
// the host: the loss within 1e-5 relative, the gradients within 1e-4 of
// |g| + 0.01, the parameters within 1e-5 of |p| + lr.
func TestModelStep(t *testing.T) {
	_, notices := residentSetup(t)
	const B, L, D, V, W, ignore, lr = 2, 5, 6, 11, 3, -1, 1e-2
	ids := []int{3, 1, 4, 1, 5, 9, 2, 6, 5, 3}
	tg := []int{1, 4, 1, 5, ignore, 2, 6, 5, 3, 5}
	ang := tensor.Scale(tensor.NewRNG(100).Randn(L, D/2), 2)
	params := []*tensor.Tensor{
		tensor.NewRNG(101).Randn(V, D),                    // table
		tensor.Scale(tensor.NewRNG(102).Randn(D, W), 0.5), // conv weight
		tensor.Scale(tensor.NewRNG(103).Randn(D), 0.1),    // conv bias
		tensor.AddScalar(tensor.NewRNG(104).Randn(D), 1),  // norm weight
		tensor.Scale(tensor.NewRNG(105).Randn(D, V), 0.3), // head
		tensor.Apply(ang, math.Cos), tensor.Apply(ang, math.Sin), tensor.Neg(tensor.Apply(ang, math.Sin)),
	}
	moments := func() []*tensor.Tensor {
		var m []*tensor.Tensor
		for _, p := range params[:5] {
			m = append(m, tensor.Zeros(p.Shape()...), tensor.Zeros(p.Shape()...))
		}
		return m
	}
	step := func(p, m []*tensor.Tensor) (float64, []*tensor.Tensor) {
		table, cw, cb, nw, head, cos, sin, nsin := p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]
		e := tensor.Gather(table, 0, ids).Reshape(B, L, D) // (B, L, D)
		c := tensor.CausalConv1d(e, cw, cb)                // (B, L, D)
		s := tensor.SiLU(c)                                // (B, L, D)
		hn, r := tensor.RMSNorm(s, nw, 1e-5)               // (B, L, D), (B, L)
		h2 := tensor.Rotary(hn, cos, sin).Reshape(B*L, D)  // (B·L, D)
		logp := tensor.LogSoftmax(tensor.MatMul(h2, head)) // (B·L, V)
		loss := tensor.CrossEntropy(logp, tg, ignore)      // scalar
		dl := tensor.CrossEntropyGrad(logp, tg, ignore, 1) // (B·L, V)
		dHead := tensor.MatMulT(h2, dl, true, false)       // (D, V)
		dh2 := tensor.MatMulT(dl, head, false, true).Reshape(B, L, D)
		dhn := tensor.Rotary(dh2, cos, nsin)                         // (B, L, D)
		ds, dnw := tensor.RMSNormBackward(dhn, s, nw, r)             // (B, L, D), (D)
		dc := tensor.UnaryGrad("silu", ds, c, s, 0)                  // (B, L, D)
		de, dcw, dcb := tensor.CausalConv1dBackward(dc, e, cw, true) // (B, L, D), (D, W), (D)
		dTable := tensor.ScatterAdd(de.Reshape(B*L, D), 0, ids, V)   // (V, D)
		grads := []*tensor.Tensor{dTable, dcw, dcb, dnw, dHead}
		for i, g := range grads {
			tensor.AdamW(p[i], g, m[2*i], m[2*i+1], lr, 0.9, 0.999, 1e-8, 0.01, 1)
		}
		return loss, grads
	}
	dev, mdev := onGPU(params...), onGPU(moments()...)
	var loss float64
	var grads []*tensor.Tensor
	stays(t, notices, "training step", func() { loss, grads = step(dev, mdev) })
	for i, p := range dev[:5] {
		onDev(t, fmt.Sprint("parameter ", i), p, mdev[2*i], mdev[2*i+1])
	}
	host := make([]*tensor.Tensor, len(params))
	for i, p := range params {
		host[i] = p.Clone()
	}
	want, hgrads := step(host, moments())
	if e := math.Abs(loss-want) / want; e > 1e-5 {
		t.Errorf("loss %v, host %v (relative %.3g, bound 1e-5)", loss, want, e)
	} else {
		t.Logf("loss %v, host %v (relative %.3g)", loss, want, e)
	}
	for i, name := range []string{"table", "conv weight", "conv bias", "norm weight", "head"} {
		near(t, "step: gradient of "+name, grads[i], hgrads[i], 1e-4, 0.01)
		near(t, "step: "+name, dev[i], host[i], 1e-5, lr)
	}
}

// TestModelStepStages runs TestModelStep's forward and backward pass op by
// op on resident tensors and compares every intermediate with the CPU's,
// twice: once with each result read back as soon as it is made (the GPU
// idle between ops) and once read back at the end (the ops queued back to
// back). A result wrong in both localises a wrong shader; wrong only when
// queued, a missing barrier or a buffer reused too early.
func TestModelStepStages(t *testing.T) {
	residentSetup(t)
	const B, L, D, V, W, ignore = 2, 5, 6, 11, 3, -1
	ids := []int{3, 1, 4, 1, 5, 9, 2, 6, 5, 3}
	tg := []int{1, 4, 1, 5, ignore, 2, 6, 5, 3, 5}
	ang := tensor.Scale(tensor.NewRNG(100).Randn(L, D/2), 2)
	params := []*tensor.Tensor{
		tensor.NewRNG(101).Randn(V, D), tensor.Scale(tensor.NewRNG(102).Randn(D, W), 0.5), tensor.Scale(tensor.NewRNG(103).Randn(D), 0.1),
		tensor.AddScalar(tensor.NewRNG(104).Randn(D), 1), tensor.Scale(tensor.NewRNG(105).Randn(D, V), 0.3),
		tensor.Apply(ang, math.Cos), tensor.Apply(ang, math.Sin), tensor.Neg(tensor.Apply(ang, math.Sin)),
	}
	type stage struct {
		name string
		x    *tensor.Tensor
	}
	// run is the step; keep receives each intermediate as it is made.
	run := func(p []*tensor.Tensor, keep func(string, *tensor.Tensor) *tensor.Tensor) float64 {
		table, cw, cb, nw, head, cos, sin, nsin := p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]
		e := keep("gather", tensor.Gather(table, 0, ids).Reshape(B, L, D))
		c := keep("conv", tensor.CausalConv1d(e, cw, cb))
		s := keep("silu", tensor.SiLU(c))
		hn, r := tensor.RMSNorm(s, nw, 1e-5)
		keep("rmsnorm", hn)
		keep("rmsnorm r", r)
		h2 := keep("rotary", tensor.Rotary(hn, cos, sin)).Reshape(B*L, D)
		z := keep("matmul", tensor.MatMul(h2, head))
		logp := keep("logsoftmax", tensor.LogSoftmax(z))
		loss := tensor.CrossEntropy(logp, tg, ignore)
		dl := keep("cross-entropy grad", tensor.CrossEntropyGrad(logp, tg, ignore, 1))
		keep("matmulT dHead", tensor.MatMulT(h2, dl, true, false))
		dh2 := keep("matmulT dh2", tensor.MatMulT(dl, head, false, true)).Reshape(B, L, D)
		dhn := keep("rotary back", tensor.Rotary(dh2, cos, nsin))
		ds, dnw := tensor.RMSNormBackward(dhn, s, nw, r)
		keep("rmsnorm back dx", ds)
		keep("rmsnorm back dw", dnw)
		dc := keep("silu grad", tensor.UnaryGrad("silu", ds, c, s, 0))
		de, dcw, dcb := tensor.CausalConv1dBackward(dc, e, cw, true)
		keep("conv back dx", de)
		keep("conv back dw", dcw)
		keep("conv back db", dcb)
		keep("scatter-add", tensor.ScatterAdd(de.Reshape(B*L, D), 0, ids, V))
		return loss
	}
	var host []stage
	want := run(params, func(n string, x *tensor.Tensor) *tensor.Tensor { host = append(host, stage{n, x}); return x })
	for _, eager := range []bool{true, false} {
		var dev []stage
		loss := run(onGPU(params...), func(n string, x *tensor.Tensor) *tensor.Tensor {
			if eager {
				dev = append(dev, stage{n, x.To("cpu")})
			} else {
				dev = append(dev, stage{n, x.Clone()})
			}
			return x
		})
		mode := map[bool]string{true: "read at once", false: "queued"}[eager]
		for i, h := range host {
			m := 1e-30
			for _, v := range h.x.Float32s() {
				m = math.Max(m, math.Abs(float64(v)))
			}
			scale := tensor.AddScalar(tensor.Scale(h.x, 0), m) // each element against the largest
			nearScaled(t, mode+": "+h.name, dev[i].x, h.x, scale, 1e-5, 0)
		}
		if e := math.Abs(loss-want) / want; e > 1e-5 {
			t.Errorf("%s: loss %v, host %v (relative %.3g)", mode, loss, want, e)
		}
	}
}

// TestModelSumSquares checks the squared global norm of several resident
// tensors (ragged lengths, one past a work group, one of a single value)
// against the float64 host sum within 1e-6, with one read-back.
func TestModelSumSquares(t *testing.T) {
	_, notices := residentSetup(t)
	xs := []*tensor.Tensor{tensor.NewRNG(1).Randn(3, 7), tensor.NewRNG(2).Randn(1000), tensor.Full(-2, 1), tensor.Scale(tensor.NewRNG(3).Randn(257), 1e-3)}
	want := 0.0
	for _, x := range xs {
		for _, v := range x.Float32s() {
			want += float64(v) * float64(v)
		}
	}
	in := onGPU(xs...)
	d0 := downloads()
	got := tensor.SumSquares(in...)
	if n := downloads() - d0; n != 1 {
		t.Errorf("SumSquares read back %d tensors, want 1", n)
	}
	if notices.Len() > 0 {
		t.Errorf("SumSquares fell back to the CPU: %s", notices)
	}
	if e := math.Abs(got-want) / want; e > 1e-6 {
		t.Errorf("SumSquares %v, want %v (relative %.3g)", got, want, e)
	}
}

// TestModelPad checks Pad on resident tensors (every axis, pads on either
// side, sizes past a work group) against the CPU, bit for bit, with nothing
// moved between host and device.
func TestModelPad(t *testing.T) {
	_, notices := residentSetup(t)
	x := tensor.NewRNG(7).Randn(3, 37, 5)
	in := onGPU(x)[0]
	for ax := 0; ax < 3; ax++ {
		for _, pa := range [][2]int{{0, 0}, {2, 0}, {0, 300}, {4, 1}} {
			what := fmt.Sprintf("Pad axis %d by %v", ax, pa)
			var y *tensor.Tensor
			stays(t, notices, what, func() { y = tensor.Pad(in, ax, pa[0], pa[1]) })
			onDev(t, what, y)
			near(t, what, y, tensor.Pad(x, ax, pa[0], pa[1]), 0, 0)
		}
	}
}

// TestFill checks that Fill writes exactly its first n values.
func TestFill(t *testing.T) {
	d := device(t)
	b := poisoned(t, d, 700)
	defer b.Release()
	if err := d.Fill(b, 600, -1.5); err != nil {
		t.Fatal(err)
	}
	got := download(t, b)
	for i, v := range got {
		if want := float32(-1.5); i < 600 && v != want {
			t.Fatalf("value %d is %v, want %v", i, v, want)
		} else if i >= 600 && v == want {
			t.Fatalf("value %d past n was written", i)
		}
	}
}

// TestCrossEntropyTargetsOnce checks that a loss and its gradient with the
// same targets write them to the device once (a host write is a sync point
// on NVIDIA's driver), and again when they change.
func TestCrossEntropyTargetsOnce(t *testing.T) {
	d, _ := residentSetup(t)
	logp := onGPU(tensor.LogSoftmax(tensor.NewRNG(5).Randn(6, 9)))[0]
	tg := []int{1, 2, 3, 4, 5, 6}
	if err := d.Sync(); err != nil { // settle the upload
		t.Fatal(err)
	}
	up, _, err := countTransfers(d, func() error {
		tensor.CrossEntropy(logp, tg, -100)
		tensor.CrossEntropyGrad(logp, tg, -100, 1)
		return d.Sync()
	})
	if err != nil || up != 1 {
		t.Errorf("loss and gradient with one target list: %d uploads (%v), want 1", up, err)
	}
	up, _, err = countTransfers(d, func() error {
		tensor.CrossEntropy(logp, []int{0, 0, 0, 0, 0, 0}, -100)
		return d.Sync()
	})
	if err != nil || up != 1 {
		t.Errorf("new targets: %d uploads (%v), want 1", up, err)
	}
}

// TestMatMulSplitK checks products whose few output tiles make MatMul split
// the inner dimension (splitK), in every transposition, against the float64
// host product within 1e-5 of Σ|a||b|, and that the split is taken.
func TestMatMulSplitK(t *testing.T) {
	_, notices := residentSetup(t)
	for _, c := range []struct{ m, n, k int }{{100, 70, 2048}, {6, 11, 1024}, {130, 129, 512}} {
		if splitK(c.m, c.n, c.k) < 2 {
			t.Fatalf("%v: no split", c)
		}
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			as, bs := []int{c.m, c.k}, []int{c.k, c.n}
			if tr[0] {
				as = []int{c.k, c.m}
			}
			if tr[1] {
				bs = []int{c.n, c.k}
			}
			a, b := tensor.NewRNG(1).Randn(as...), tensor.NewRNG(2).Randn(bs...)
			in := onGPU(a, b)
			what := fmt.Sprintf("%v transposed %v", c, tr)
			var y *tensor.Tensor
			stays(t, notices, what, func() { y = tensor.MatMulT(in[0], in[1], tr[0], tr[1]) })
			want := tensor.MatMulT(a.As(tensor.Float64), b.As(tensor.Float64), tr[0], tr[1]).As(tensor.Float32)
			scale := tensor.MatMulT(tensor.Abs(a), tensor.Abs(b), tr[0], tr[1])
			nearScaled(t, what, y, want, scale, 1e-5, 0)
		}
	}
}

// TestMatMulSharedWeight checks a batch of products with one shared right
// operand (x·W and x·Wᵀ over (batch, m) rows, which MatMul runs as one
// product of batch·m rows) against the float64 host product.
func TestMatMulSharedWeight(t *testing.T) {
	_, notices := residentSetup(t)
	x := tensor.NewRNG(3).Randn(5, 37, 24)
	for _, trB := range []bool{false, true} {
		w := tensor.NewRNG(4).Randn(24, 19)
		if trB {
			w = tensor.NewRNG(4).Randn(19, 24)
		}
		in := onGPU(x, w)
		what := fmt.Sprintf("(5, 37, 24) by a shared weight, transposed %v", trB)
		var y *tensor.Tensor
		stays(t, notices, what, func() { y = tensor.MatMulT(in[0], in[1], false, trB) })
		want := tensor.MatMulT(x.As(tensor.Float64), w.As(tensor.Float64), false, trB).As(tensor.Float32)
		nearScaled(t, what, y, want, tensor.MatMulT(tensor.Abs(x), tensor.Abs(w), false, trB), 1e-6, 0)
	}
}
