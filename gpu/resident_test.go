package gpu

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/tensor"
)

// residentSetup opens the device (skipping without an EGL context), lets
// a software renderer count as available, keeps the active device on the
// CPU (so that host operations are today's) and captures tensor's notices.
func residentSetup(t *testing.T) (*Device, *bytes.Buffer) {
	t.Helper()
	d := device(t)
	t.Setenv("FURIOUS_GPU_SOFTWARE", "1")
	if err := tensor.SetDevice("cpu"); err != nil {
		t.Fatal(err)
	}
	var notices bytes.Buffer
	old := tensor.SetNoticeWriter(&notices)
	t.Cleanup(func() { tensor.SetNoticeWriter(old) })
	return d, &notices
}

func downloads() int64 { _, d := tensor.Transfers(); return d }
func uploads() int64   { u, _ := tensor.Transfers(); return u }

// TestResidentRoundTrip checks that To("gpu") then To("cpu") gives back
// exactly the same float32s (bits) for odd sizes, one element and a rank-0
// tensor, with one upload and one download, and that Device reports GPU.
func TestResidentRoundTrip(t *testing.T) {
	residentSetup(t)
	for _, shape := range [][]int{{1}, {}, {3, 37, 19}, {1, 1, 1, 1}, {1000003}} {
		x := tensor.NewRNG(11).Randn(shape...)
		x.Float32s()[0] = float32(math.Inf(-1)) // non-finite values pass through too
		if x.Len() > 1 {
			x.Float32s()[1] = float32(math.SmallestNonzeroFloat32)
		}
		u0, d0 := uploads(), downloads()
		r := x.To("gpu")
		if r.Device() != backend.GPU || x.Device() != backend.CPU {
			t.Fatalf("%v: devices %v, %v after To(\"gpu\")", shape, r.Device(), x.Device())
		}
		if !equalShapes(r.Shape(), x.Shape()) || r.Len() != x.Len() {
			t.Fatalf("%v: resident shape %v, len %d", shape, r.Shape(), r.Len())
		}
		h := r.To("cpu")
		if h.Device() != backend.CPU {
			t.Fatalf("%v: To(\"cpu\") is on %v", shape, h.Device())
		}
		if u, dl := uploads()-u0, downloads()-d0; u != 1 || dl != 1 {
			t.Fatalf("%v: %d uploads and %d downloads for a round trip, want 1 and 1", shape, u, dl)
		}
		for i, v := range h.Float32s() {
			if math.Float32bits(v) != math.Float32bits(x.Float32s()[i]) {
				t.Fatalf("%v: element %d came back as %v, want %v", shape, i, v, x.Float32s()[i])
			}
		}
		r.Release()
	}
}

func equalShapes(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestResidentLazyChain checks that three device operations in a row read
// nothing back, that the first host access reads once, that later ones read
// nothing, and that the value is right.
func TestResidentLazyChain(t *testing.T) {
	residentSetup(t)
	x := tensor.NewRNG(3).Randn(5, 129)
	r := x.To("gpu")
	d0 := downloads()
	y := tensor.Exp(tensor.Scale(tensor.Add(r, r), 0.25)) // exp((x + x)/4)
	if y.Device() != backend.GPU {
		t.Fatalf("result of a device chain is on %v", y.Device())
	}
	if n := downloads() - d0; n != 0 {
		t.Fatalf("a chain of 3 device operations made %d downloads, want 0", n)
	}
	_ = y.String() // first host access
	if n := downloads() - d0; n != 1 {
		t.Fatalf("String made %d downloads, want 1", n)
	}
	_, _, _ = y.At(4, 128), y.Data(), y.Float32s()
	if n := downloads() - d0; n != 1 {
		t.Fatalf("later host reads made %d more downloads, want 0", n-1)
	}
	want := tensor.Exp(tensor.Scale(tensor.Add(x, x), 0.25))
	// exp of |z| ≲ 3 in float32 on the GPU: GLSL's exp is within 3 ulp
	// (llvmpipe, NVIDIA); 1e-6 relative is 8 ulp.
	if d := tensor.MaxRelDiff(y, want); d > 1e-6 {
		t.Fatalf("exp((x+x)/4) on the device differs by %g relative", d)
	}
	if y.Device() != backend.GPU {
		t.Fatalf("a host read moved the tensor: %v", y.Device())
	}
}

// matmulBound is the float32 error bound of a product computed in another
// summation order: |Δc_ij| ≤ 2k·u·(|A||B|)_ij, u = 2⁻²⁴ (Higham's γ_k for
// each of the two orders).
func matmulBound(a, b *tensor.Tensor, transA, transB bool) *tensor.Tensor {
	aa, bb := tensor.Abs(a.As(tensor.Float64)), tensor.Abs(b.As(tensor.Float64))
	k := a.Dim(-1)
	if transA {
		k = a.Dim(-2)
	}
	return tensor.Scale(tensor.MatMulT(aa, bb, transA, transB), 2*float64(k)*math.Pow(2, -24))
}

// TestResidentMatMul compares device products with the CPU's float64
// product within matmulBound, for packed and shared batches, transposes,
// sizes that are not multiples of any tile, 1×1 and a host operand.
func TestResidentMatMul(t *testing.T) {
	residentSetup(t)
	cases := []struct {
		a, b           []int
		transA, transB bool
	}{
		{[]int{1, 1}, []int{1, 1}, false, false},
		{[]int{37, 19}, []int{19, 23}, false, false},
		{[]int{3, 37, 19}, []int{3, 19, 23}, false, false},
		{[]int{3, 37, 19}, []int{19, 23}, false, false},  // b shared
		{[]int{19, 37}, []int{2, 4, 19, 5}, true, false}, // a shared, transposed
		{[]int{2, 3, 65, 17}, []int{2, 3, 33, 17}, false, true},
		{[]int{2, 17, 65}, []int{2, 33, 17}, true, true},
		{[]int{4, 1, 129}, []int{4, 129, 1}, false, false}, // L = 1 rows, a dot product
		{[]int{3, 5, 7}, []int{5, 1, 7, 2}, false, false},  // batches broadcast both ways: (5, 3)
	}
	for i, c := range cases {
		a, b := tensor.NewRNG(uint64(10+i)).Randn(c.a...), tensor.NewRNG(uint64(50+i)).Randn(c.b...)
		want := tensor.MatMulT(a.As(tensor.Float64), b.As(tensor.Float64), c.transA, c.transB)
		bound := matmulBound(a, b, c.transA, c.transB)
		for _, mode := range []string{"both", "a", "b"} {
			ra, rb := a.To("gpu"), b.To("gpu")
			switch mode {
			case "a":
				rb = b
			case "b":
				ra = a
			}
			if mode != "both" { // one rule: operands on two devices are an error naming both
				err := tensor.Catch(func() { tensor.MatMulT(ra, rb, c.transA, c.transB) })
				if !errors.Is(err, tensor.ErrDevice) {
					t.Fatalf("case %d (%s resident): %v, want tensor.ErrDevice", i, mode, err)
				}
				continue
			}
			u0 := uploads()
			y := tensor.MatMulT(ra, rb, c.transA, c.transB)
			if y.Device() != backend.GPU || uploads() != u0 {
				t.Fatalf("case %d: result on %v, %d uploads", i, y.Device(), uploads()-u0)
			}
			checkWithin(t, "MatMul", y, want, bound)
		}
	}
}

// checkWithin fails when some |got − want| exceeds bound (elementwise).
func checkWithin(t *testing.T, what string, got, want, bound *tensor.Tensor) {
	t.Helper()
	g, w, b := got.Data(), want.Data(), bound.Data()
	worst := 0.0
	for i := range g {
		d := math.Abs(g[i] - w[i])
		if !(d <= b[i]+1e-30) {
			t.Fatalf("%s %v: element %d is %g, want %g ± %g", what, got.Shape(), i, g[i], w[i], b[i])
		}
		if b[i] > 0 {
			worst = max(worst, d/b[i])
		}
	}
	t.Logf("%s %v: largest error %.3f of the bound", what, got.Shape(), worst)
}

// TestResidentElementwise compares each device elementwise function with
// the CPU's, on a size that is not a multiple of the 256-thread groups.
// Neg, Scale by −1, Square, Add, Sub and Mul are single IEEE operations
// and must match exactly; Div within 3 ulp (GLSL's division may be 2.5 ulp);
// Exp within 8 ulp; Softplus within 8 ulp plus 2⁻²³ absolute (GLSL has no
// log1p: rounding 1 + eˣ to float32 moves ln by up to 2⁻²⁴); Scale and AddScalar (a·x + b in one
// expression, possibly fused) within 1 ulp of the result.
func TestResidentElementwise(t *testing.T) {
	residentSetup(t)
	x, z := tensor.NewRNG(5).Randn(7, 301), tensor.NewRNG(6).Rand(0.5, 2, 7, 301)
	rx, rz := x.To("gpu"), z.To("gpu")
	const ulp = 1.0 / (1 << 23)
	cases := []struct {
		name      string
		got, want *tensor.Tensor
		rel       float64
	}{
		{"Neg", tensor.Neg(rx), tensor.Neg(x), 0},
		{"Square", tensor.Square(rx), tensor.Square(x), 0},
		{"Scale", tensor.Scale(rx, -1), tensor.Scale(x, -1), 0},
		{"Scale", tensor.Scale(rx, 0.3), tensor.Scale(x, 0.3), ulp},
		{"AddScalar", tensor.AddScalar(rx, 1.7), tensor.AddScalar(x, 1.7), ulp},
		{"Exp", tensor.Exp(rx), tensor.Exp(x), 8 * ulp},
		{"Softplus", tensor.Softplus(rx), tensor.Softplus(x), -1},
		{"Add", tensor.Add(rx, rz), tensor.Add(x, z), 0},
		{"Sub", tensor.Sub(rx, rz), tensor.Sub(x, z), 0},
		{"Mul", tensor.Mul(rx, rz), tensor.Mul(x, z), 0},
		{"Div", tensor.Div(rx, rz), tensor.Div(x, z), 3 * ulp},
	}
	for _, f := range []func(){func() { tensor.Add(rx, z) }, func() { tensor.Mul(x, rz) }} {
		if err := tensor.Catch(f); !errors.Is(err, tensor.ErrDevice) {
			t.Fatalf("a host and a resident operand: %v, want tensor.ErrDevice", err)
		}
	}
	for _, c := range cases {
		if c.got.Device() != backend.GPU {
			t.Fatalf("%s: result on %v, want gpu", c.name, c.got.Device())
		}
		if !c.want.IsFinite() || !c.got.IsFinite() {
			t.Fatalf("%s: non-finite values on finite inputs", c.name)
		}
		g, w := c.got.Float32s(), c.want.Float32s()
		for i := range g {
			bound := c.rel * math.Abs(float64(w[i]))
			if c.rel < 0 { // softplus: ln(1 + eˣ) with 1 + eˣ rounded to float32 first
				bound = 8*ulp*math.Abs(float64(w[i])) + ulp
			}
			if d := math.Abs(float64(g[i]) - float64(w[i])); d > bound {
				t.Fatalf("%s: element %d is %v, want %v (relative bound %g)", c.name, i, g[i], w[i], c.rel)
			}
		}
	}
}

// TestResidentUnaryShader compares unary.comp's functions on resident
// tensors with the CPU's, on random values and on the edges: ±0, ±Inf,
// NaN inputs and non-finite results (log and sqrt of negatives, log 0)
// must match exactly (NaN with NaN).
// Bounds on finite values, from GLSL 4.30's precision table: abs and relu
// exact; sqrt 3 ulp; log 3 ulp, or 2⁻²¹ absolute in [0.5, 2]; sigmoid,
// logsigmoid and silu, built of exp, log and a division, 8 ulp plus 2⁻²³
// absolute (|x|·2⁻²³ for silu), logsigmoid having no log1p.
func TestResidentUnaryShader(t *testing.T) {
	residentSetup(t)
	const ulp = 1.0 / (1 << 23)
	x := tensor.NewRNG(21).Randn(3, 1001)
	pos := tensor.NewRNG(22).Rand(1e-3, 50, 3, 1001)
	nan := float32(math.NaN())
	edges := tensor.FromFloat32([]float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), nan, -1, -1e-30, 1e-30, 30, -30, 100, -100})
	cases := []struct {
		name string
		f    func(*tensor.Tensor) *tensor.Tensor
		rel  float64
		abs  func(x float64) float64
	}{
		{"Abs", tensor.Abs, 0, func(float64) float64 { return 0 }},
		{"ReLU", tensor.ReLU, 0, func(float64) float64 { return 0 }},
		{"Sqrt", tensor.Sqrt, 3 * ulp, func(float64) float64 { return 0 }},
		{"Log", tensor.Log, 3 * ulp, func(x float64) float64 {
			if x >= 0.5 && x <= 2 {
				return 1.0 / (1 << 21)
			}
			return 0
		}},
		{"Sigmoid", tensor.Sigmoid, 8 * ulp, func(float64) float64 { return ulp }},
		{"LogSigmoid", tensor.LogSigmoid, 8 * ulp, func(float64) float64 { return ulp }},
		{"SiLU", tensor.SiLU, 8 * ulp, func(x float64) float64 { return ulp * math.Max(1, math.Abs(x)) }},
	}
	for _, c := range cases {
		for _, in := range []*tensor.Tensor{x, pos, edges} {
			if (c.name == "Sqrt" || c.name == "Log") && in == x {
				continue
			}
			got := c.f(in.To("gpu"))
			if got.Device() != backend.GPU {
				t.Fatalf("%s: result on %v, want gpu", c.name, got.Device())
			}
			want := c.f(in)
			g, w, xs := got.Float32s(), want.Float32s(), in.Float32s()
			for i := range g {
				gi, wi := float64(g[i]), float64(w[i])
				switch {
				case xs[i] == 0 || math.IsInf(float64(xs[i]), 0) || xs[i] != xs[i] || math.IsInf(wi, 0) || math.IsNaN(wi):
					if !(gi == wi || (math.IsNaN(gi) && math.IsNaN(wi))) {
						t.Fatalf("%s(%v) = %v on the device, %v on the cpu", c.name, xs[i], gi, wi)
					}
				case math.Abs(gi-wi) > c.rel*math.Abs(wi)+c.abs(float64(xs[i])):
					t.Fatalf("%s(%v) = %v on the device, %v on the cpu: beyond %g relative + %g", c.name, xs[i], gi, wi, c.rel, c.abs(float64(xs[i])))
				}
			}
		}
	}
}

// TestResidentLayout checks Permute, Transpose, Slice and Concat on
// resident tensors (gather.comp) against the CPU: copies, so exactly equal;
// ranks 1 to 5, odd sizes, negative and empty slices, a host piece in a
// Concat, and a chain that stays on the device until read.
func TestResidentLayout(t *testing.T) {
	residentSetup(t)
	x := tensor.NewRNG(31).Randn(2, 3, 5, 7, 4)
	r := x.To("gpu")
	d0 := downloads()
	cases := []struct {
		name      string
		got, want *tensor.Tensor
	}{
		{"Permute(0,2,1,3,4)", r.Permute(0, 2, 1, 3, 4), x.Permute(0, 2, 1, 3, 4)},
		{"Permute(4,3,2,1,0)", r.Permute(4, 3, 2, 1, 0), x.Permute(4, 3, 2, 1, 0)},
		{"Transpose(-1,-2)", r.Transpose(-1, -2), x.Transpose(-1, -2)},
		{"Slice(2,1,4)", r.Slice(2, 1, 4), x.Slice(2, 1, 4)},
		{"Slice(-1,-2,100)", r.Slice(-1, -2, 100), x.Slice(-1, -2, 100)},
		{"Slice(0,1,1)", r.Slice(0, 1, 1), x.Slice(0, 1, 1)},
		{"Slice then Permute", r.Slice(3, 2, 7).Permute(3, 1, 0, 2, 4), x.Slice(3, 2, 7).Permute(3, 1, 0, 2, 4)},
		{"rank 1", r.Reshape(-1).Slice(0, 17, 200), x.Reshape(-1).Slice(0, 17, 200)},
		{"rank 2 transpose", r.Reshape(30, 28).Transpose(0, 1), x.Reshape(30, 28).Transpose(0, 1)},
		{"Concat(1)", tensor.Concat(1, r, r.Slice(1, 0, 1), r.Slice(1, 1, 3)), tensor.Concat(1, x, x.Slice(1, 0, 1), x.Slice(1, 1, 3))},
		{"Concat(-1)", tensor.Concat(-1, r, r.Slice(-1, 0, 1)), tensor.Concat(-1, x, x.Slice(-1, 0, 1))},
		{"Concat(0) with an empty piece", tensor.Concat(0, r.Slice(0, 0, 0), r, r), tensor.Concat(0, x.Slice(0, 0, 0), x, x)},
	}
	for _, c := range cases {
		if c.got.Device() != backend.GPU {
			t.Fatalf("%s: result on %v, want gpu", c.name, c.got.Device())
		}
	}
	if n := downloads() - d0; n != 0 {
		t.Fatalf("layout operations made %d downloads before any read", n)
	}
	for _, c := range cases {
		if !equalShapes(c.got.Shape(), c.want.Shape()) || tensor.MaxAbsDiff(c.got, c.want) != 0 {
			t.Fatalf("%s: shape %v, difference %g from the CPU", c.name, c.got.Shape(), tensor.MaxAbsDiff(c.got, c.want))
		}
	}
}

// TestResidentBroadcast checks binary operations with broadcasting on
// resident tensors (broadcast.comp) against the CPU: add, sub, mul, min,
// max exactly, div within 3 ulp; NaN propagates through Maximum/Minimum.
func TestResidentBroadcast(t *testing.T) {
	residentSetup(t)
	const ulp = 1.0 / (1 << 23)
	x := tensor.NewRNG(41).Randn(2, 3, 5, 7)
	x.Set(math.NaN(), 0, 1, 2, 3)
	others := []*tensor.Tensor{
		tensor.NewRNG(42).Randn(7),          // bias over the last axis
		tensor.NewRNG(43).Rand(0.5, 2, 1),   // scalar
		tensor.NewRNG(44).Randn(3, 1, 1),    // per channel
		tensor.NewRNG(45).Randn(2, 1, 5, 1), // two axes
		tensor.NewRNG(46).Randn(2, 3, 5, 7), // same shape (Maximum, Minimum)
	}
	ops := []struct {
		name string
		f    func(a, b *tensor.Tensor) *tensor.Tensor
		rel  float64
	}{{"Add", tensor.Add, 0}, {"Sub", tensor.Sub, 0}, {"Mul", tensor.Mul, 0}, {"Div", tensor.Div, 3 * ulp},
		{"Maximum", tensor.Maximum, 0}, {"Minimum", tensor.Minimum, 0}}
	for _, o := range others {
		for _, op := range ops {
			for _, flip := range []bool{false, true} {
				a, b := x, o
				if flip {
					a, b = o, x
				}
				got, want := op.f(a.To("gpu"), b.To("gpu")), op.f(a, b)
				if got.Device() != backend.GPU || !equalShapes(got.Shape(), want.Shape()) {
					t.Fatalf("%s %v %v: result on %v, shape %v", op.name, a.Shape(), b.Shape(), got.Device(), got.Shape())
				}
				g, w := got.Float32s(), want.Float32s()
				for i := range g {
					gi, wi := float64(g[i]), float64(w[i])
					if math.IsNaN(wi) != math.IsNaN(gi) || math.Abs(gi-wi) > op.rel*math.Abs(wi) {
						t.Fatalf("%s %v %v: element %d is %v, want %v", op.name, a.Shape(), b.Shape(), i, gi, wi)
					}
				}
			}
		}
	}
}

// TestResidentReduce checks Sum, Mean, Max, Min and Cumsum over each axis of a
// resident tensor against the CPU: the same float64 accumulation in the
// same order, so Sum, Max and Min are exactly equal and Mean within one
// float32 rounding (GLSL's double division); NaN propagates through Max
// and Min; keepdim keeps the axis.
func TestResidentReduce(t *testing.T) {
	residentSetup(t)
	x := tensor.NewRNG(51).Randn(3, 37, 5)
	x.Set(math.NaN(), 1, 4, 2)
	y := tensor.NewRNG(52).Randn(300, 2)
	type red func(*tensor.Tensor, int, bool) *tensor.Tensor
	for _, in := range []*tensor.Tensor{x, y} {
		r := in.To("gpu")
		for _, op := range []struct {
			name string
			f    red
			rel  float64
		}{{"Sum", tensor.Sum, 0}, {"Mean", tensor.Mean, 1.0 / (1 << 23)}, {"Max", tensor.Max, 0}, {"Min", tensor.Min, 0},
			{"Cumsum", func(x *tensor.Tensor, axis int, keep bool) *tensor.Tensor { return tensor.Cumsum(x, axis) }, 0}} {
			for axis := -1; axis < in.Rank(); axis++ {
				for _, keep := range []bool{false, true} {
					got, want := op.f(r, axis, keep), op.f(in, axis, keep)
					if got.Device() != backend.GPU || !equalShapes(got.Shape(), want.Shape()) {
						t.Fatalf("%s(axis %d, keepdim %v): device %v, shape %v, want gpu, %v", op.name, axis, keep, got.Device(), got.Shape(), want.Shape())
					}
					g, w := got.Float32s(), want.Float32s()
					for i := range g {
						gi, wi := float64(g[i]), float64(w[i])
						if math.IsNaN(gi) != math.IsNaN(wi) || math.Abs(gi-wi) > op.rel*math.Abs(wi) {
							t.Fatalf("%s(axis %d) of %v: element %d is %v, want %v", op.name, axis, in.Shape(), i, gi, wi)
						}
					}
				}
			}
		}
	}
}

// TestResidentFallback checks that an operation without a device kernel
// (Apply) on resident tensors runs on the CPU, returns a correct result
// moved back to the gpu (where its operand lives), and prints the notice
// naming the operation.
func TestResidentFallback(t *testing.T) {
	_, notices := residentSetup(t)
	x := tensor.NewRNG(8).Rand(0.1, 4, 3, 5, 7)
	r := x.To("gpu")
	checks := []struct {
		op        string
		got, want *tensor.Tensor
	}{
		{"tensor.Apply", tensor.Apply(r, math.Cbrt), tensor.Apply(x, math.Cbrt)},
	}
	for _, c := range checks {
		if c.got.Device() != backend.GPU {
			t.Fatalf("%s fell back and its result is on %v, want gpu", c.op, c.got.Device())
		}
		if d := tensor.MaxAbsDiff(c.got, c.want); d != 0 {
			t.Fatalf("%s on a resident tensor differs from the host by %g", c.op, d)
		}
		if !strings.Contains(notices.String(), c.op+" on gpu-resident tensors") {
			t.Fatalf("no notice naming %s; notices:\n%s", c.op, notices.String())
		}
	}
	if r.Device() != backend.GPU {
		t.Fatalf("a fallback moved its resident input to %v", r.Device())
	}
}

// TestResidentSelect checks tensor's NumPy-style functions on resident
// tensors against the CPU (copies and choices, so exactly equal): Stack,
// Index and Take run on the device (Concat, Slice, Gather) without reading
// anything back; Tril, Triu, ArgMax, ArgMin and Where have no shader and
// fall back once, with the notice, their results moving back to the GPU.
func TestResidentSelect(t *testing.T) {
	_, notices := residentSetup(t)
	x := tensor.NewRNG(61).Randn(3, 5, 7)
	r := x.To("gpu")
	idx := tensor.FromFloat64([]float64{6, 0, -1, 3}, 2, 2)
	d0 := downloads()
	onDevice := []struct {
		name      string
		got, want *tensor.Tensor
	}{
		{"Stack(1)", tensor.Stack(1, r, tensor.Neg(r)), tensor.Stack(1, x, tensor.Neg(x))},
		{"Stack(-1)", tensor.Stack(-1, r, r, r), tensor.Stack(-1, x, x, x)},
		{"Index(1, -1)", tensor.Index(r, 1, -1), tensor.Index(x, 1, -1)},
		{"Take(2, (2,2))", tensor.Take(r, 2, idx), tensor.Take(x, 2, idx)},
	}
	if n := downloads() - d0; n != 0 {
		t.Fatalf("Stack, Index and Take made %d downloads before any read", n)
	}
	fallback := []struct {
		name      string
		got, want *tensor.Tensor
	}{
		{"tensor.Tril", tensor.Tril(r, -1), tensor.Tril(x, -1)},
		{"tensor.Triu", tensor.Triu(r, 2), tensor.Triu(x, 2)},
		{"tensor.ArgMax", tensor.ArgMax(r, -1, true), tensor.ArgMax(x, -1, true)},
		{"tensor.ArgMin", tensor.ArgMin(r, 0, false), tensor.ArgMin(x, 0, false)},
		{"tensor.Where", tensor.Where(tensor.Tril(r, 0), r, tensor.Neg(r)), tensor.Where(tensor.Tril(x, 0), x, tensor.Neg(x))},
	}
	for _, c := range append(onDevice, fallback...) {
		if c.got.Device() != backend.GPU || !equalShapes(c.got.Shape(), c.want.Shape()) || tensor.MaxAbsDiff(c.got, c.want) != 0 {
			t.Fatalf("%s: device %v, shape %v (want %v), difference %g from the CPU", c.name, c.got.Device(), c.got.Shape(), c.want.Shape(), tensor.MaxAbsDiff(c.got, c.want))
		}
	}
	for _, c := range fallback {
		if !strings.Contains(notices.String(), c.name+" on gpu-resident tensors") {
			t.Fatalf("no notice naming %s; notices:\n%s", c.name, notices.String())
		}
	}
}

// TestResidentHostWrites checks that Set and writes through Float32s on a
// resident tensor reach the device before its next device operation.
func TestResidentHostWrites(t *testing.T) {
	residentSetup(t)
	r := tensor.NewRNG(1).Randn(4, 6).To("gpu")
	r.Set(5, 1, 2)
	r.Float32s()[0] = -3
	y := tensor.Neg(r)
	if y.At(1, 2) != -5 || y.At(0, 0) != 3 {
		t.Fatalf("Neg after host writes gave %v and %v, want -5 and 3", y.At(1, 2), y.At(0, 0))
	}
	v := r.Reshape(24) // shares the device buffer
	if v.Device() != backend.GPU {
		t.Fatalf("Reshape of a resident tensor is on %v", v.Device())
	}
	if w := tensor.Neg(v); w.At(8) != -5 {
		t.Fatalf("Neg of the reshaped tensor gave %v at 8, want -5", w.At(8))
	}
	c := r.Clone()
	r.Set(7, 0, 0)
	if c.Device() != backend.GPU || c.At(0, 0) != -3 {
		t.Fatalf("Clone: device %v, value %v, want gpu and -3", c.Device(), c.At(0, 0))
	}
}

// TestResidentFloat64Refused checks the error for a float64 tensor.
func TestResidentFloat64Refused(t *testing.T) {
	residentSetup(t)
	err := tensor.Catch(func() { tensor.NewRNG(1).Randn64(3).To("gpu") })
	if err == nil || !strings.Contains(err.Error(), "tensor.To") || !strings.Contains(err.Error(), "float64") || !strings.Contains(err.Error(), "As(tensor.Float32)") {
		t.Fatalf("float64 To(\"gpu\") gave %v, want an error naming tensor.To, float64 and As(tensor.Float32)", err)
	}
	err = tensor.Catch(func() { tensor.Add(tensor.NewRNG(1).Randn(3).To("gpu"), tensor.NewRNG(1).Randn64(3)) })
	if err == nil || !strings.Contains(err.Error(), "tensor.Add") {
		t.Fatalf("float32 resident + float64 gave %v, want a dtype error naming tensor.Add", err)
	}
}

// TestResidentOutOfMemory checks that a device allocation the device
// refuses is an error wrapping backend.ErrOutOfMemory, and that an
// operation turns it into a tensor *Error of kind ErrMemory.
func TestResidentOutOfMemory(t *testing.T) {
	d, _ := residentSetup(t)
	if d.info.MaxSSBOBytes <= 0 || d.info.MaxSSBOBytes >= 1<<40 {
		t.Skipf("the device reports no storage-buffer limit (%d) to exceed", d.info.MaxSSBOBytes)
	}
	n := d.info.MaxSSBOBytes/4 + 1
	_, err := tensor.DeviceAlloc(Backend{}, n)
	if !errors.Is(err, backend.ErrOutOfMemory) {
		t.Fatalf("allocating %d floats: %v, want backend.ErrOutOfMemory", n, err)
	}
	perr := tensor.Catch(func() { tensor.DeviceFail("tensor.Test", err) })
	if !errors.Is(perr, tensor.ErrMemory) || !strings.Contains(perr.Error(), "out of memory") {
		t.Fatalf("DeviceFail gave %v, want tensor.ErrMemory saying out of memory", perr)
	}
}

// settle collects garbage until the device's buffer count stops falling
// (buffers dropped by earlier tests are freed by cleanups, asynchronously).
func settle(d *Device) {
	last := -1
	for i := 0; i < 100; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		n := d.Stats().Buffers
		if n == last {
			return
		}
		last = n
	}
}

// TestResidentNoLeak runs 1,000 cycles of upload, two device operations
// and Release of the three tensors (Release reads a result back first), then 1,000 without Release left to the garbage collector,
// and checks that the device's live buffers and bytes return to where
// they were.
func TestResidentNoLeak(t *testing.T) {
	d, _ := residentSetup(t)
	x := tensor.NewRNG(2).Randn(64, 257)
	cycle := func(release bool) {
		r := x.To("gpu")
		m := tensor.Mul(r, r)
		y := tensor.Exp(m)
		if release {
			y.Release()
			m.Release()
			r.Release()
		}
	}
	cycle(true)
	settle(d)
	before := d.Stats()
	for i := 0; i < 1000; i++ {
		cycle(true)
	}
	after := d.Stats()
	if after.Buffers != before.Buffers || after.Bytes != before.Bytes {
		t.Fatalf("after 1,000 released cycles: %d buffers, %d bytes; before %d, %d", after.Buffers, after.Bytes, before.Buffers, before.Bytes)
	}
	for i := 0; i < 1000; i++ {
		cycle(false)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
		after = d.Stats()
		if after.Buffers <= before.Buffers && after.Bytes <= before.Bytes {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("1,000 unreleased cycles left %d buffers, %d bytes after GC; before %d, %d", after.Buffers, after.Bytes, before.Buffers, before.Bytes)
		}
	}
	if got := tensor.DeviceBytes(); got != after.Bytes && tensor.ActiveBackend().Name() == "gpu" {
		t.Fatalf("tensor.DeviceBytes() = %d, device Stats().Bytes = %d", got, after.Bytes)
	}
}

// refState is the state after the sequence in float64, straight from its
// definition: S_h[f, c] = Σ_j w_j·ψ(k_j)_f·[v_j, 1]_c with
// w_j = scale^p·exp(Σ_{u>j} a_u) and ψ the order-p feature map (p = 2: the
// row-major upper triangle of k kᵀ, √2 off the diagonal).
func refState(k, v, a []float32, bh, L, dk, dv, order int, scale float64, norm bool) []float64 {
	F, W := dk, dv
	if order == 2 {
		F = dk * (dk + 1) / 2
	}
	if norm {
		W++
	}
	S := make([]float64, bh*F*W)
	phi := make([]float64, F)
	for h := 0; h < bh; h++ {
		for j := 0; j < L; j++ {
			decay := 0.0
			for u := j + 1; u < L; u++ {
				decay += float64(a[h*L+u])
			}
			w := math.Pow(scale, float64(order)) * math.Exp(decay)
			kj := k[(h*L+j)*dk : (h*L+j+1)*dk]
			if order == 1 {
				for f := range phi {
					phi[f] = float64(kj[f])
				}
			} else {
				refPhi2(phi, kj, 1)
			}
			for f := 0; f < F; f++ {
				for c := 0; c < W; c++ {
					x := 1.0
					if c < dv {
						x = float64(v[(h*L+j)*dv+c])
					}
					S[(h*F+f)*W+c] += w * phi[f] * x
				}
			}
		}
	}
	return S
}

// stateCase is one way through SSDState32: the fused chunk states
// (fused, with the heads in one dispatch or, capped by
// ssdMaxStateFloats, one a dispatch: oneHead), or the general path with
// the heads in one group or in groups of one (stateMaxFeatures) and the
// sequence in slices of split rows.
type stateCase struct {
	fused, oneHead bool
	cap, split     int
}

// TestSSDState32 checks the device state against refState through the
// fused path and the general one (heads in one group and in groups of
// one, the sequence whole and in slices), for orders 1 and 2, with and
// without the norm column, d_v = 5 (scalar value loads) and 8 (vec4 loads;
// at order 2 with the norm, STATEX sums the denominator apart: DENB), at
// L = 1, 45 and 700 (not a multiple of either chunk length, 64 and 256).
func TestSSDState32(t *testing.T) {
	d, _ := residentSetup(t)
	r := rand.New(rand.NewPCG(3, 4))
	defer func(v, w int, nf bool, ms int) {
		stateMaxFeatures, stateSplitRows, stateNoFused, ssdMaxStateFloats = v, w, nf, ms
	}(stateMaxFeatures, stateSplitRows, stateNoFused, ssdMaxStateFloats)
	cases := []stateCase{{fused: true}, {fused: true, oneHead: true}}
	for _, cap := range []int{1 << 26, 1} {
		// whole rows; slices of 16 (45 = 2·16 + 13: a remainder); 700 at the default 512
		for _, split := range []int{1 << 20, 16, 512} {
			cases = append(cases, stateCase{cap: cap, split: split})
		}
	}
	const bh, dk = 3, 6
	for _, L := range []int{1, 45, 700} {
		for _, dv := range []int{5, 8} {
			for _, order := range []int{1, 2} {
				for _, norm := range []bool{false, true} {
					for _, sc := range cases {
						stateMaxFeatures, stateSplitRows, stateNoFused = sc.cap, sc.split, !sc.fused
						if sc.fused {
							stateMaxFeatures, stateSplitRows = 1<<26, 512
						}
						k, v := randFloats(r, bh*L*dk), randFloats(r, bh*L*dv)
						a := make([]float32, bh*L)
						for i := range a {
							a[i] = -0.3 * r.Float32()
						}
						F, W := dk, dv
						if order == 2 {
							F = FeatureMapDim(dk)
						}
						if norm {
							W++
						}
						ssdMaxStateFloats = 0
						if sc.oneHead { // exactly one head's chunk states
							cfg, _ := d.ssdFusedConfig(dk, dv, norm)
							ssdMaxStateFloats = ssdStateFloats(ceilDiv(L, SSDChunk(order)), F, cfg)
						}
						K, V, A := upload(t, d, k), upload(t, d, v), upload(t, d, a)
						S := poisoned(t, d, bh*F*W)
						p := backend.SSDParams{BH: bh, L: L, D: dk, DV: dv, Order: order, Norm: norm, Scale: 0.4}
						if err := (Backend{}).SSDState32(p, K, V, A, S); err != nil {
							t.Fatal(err)
						}
						want := refState(k, v, a, bh, L, dk, dv, order, float64(float32(0.4)), norm)
						compare(t, fmt.Sprintf("SSDState32 L=%d d_v=%d order %d norm %v %+v", L, dv, order, norm, sc), download(t, S), want, nil, 1e-5)
					}
				}
			}
		}
	}
	// the fused path ran: ssdstate.comp, and at order 2 STATEX with DENB for these shapes
	if _, ok := d.ssdFusedConfig(dk, 8, true); !ok {
		return
	}
	var final, statex bool
	d.mu.Lock()
	for key := range d.programs {
		final = final || strings.HasPrefix(key, "ssdstate.comp[")
		statex = statex || strings.HasPrefix(key, "ssdx.comp[STATEX;") && strings.Contains(key, fmt.Sprintf(";DK %d;", dk)) && strings.Contains(key, ";DENB")
	}
	d.mu.Unlock()
	if !final || !statex {
		t.Errorf("fused state path: ssdstate.comp ran %v, STATEX with DENB at d = %d ran %v", final, dk, statex)
	}
}

// TestAllFinite32 checks the device NaN/Inf check on both sides of its
// 1,024-value rows: a NaN, +Inf or −Inf anywhere is found, finite data passes.
func TestAllFinite32(t *testing.T) {
	d, _ := residentSetup(t)
	for _, n := range []int{1, 1023, 1024, 3000, 1 << 16} {
		for _, pos := range []int{-1, 0, n / 2, n - 1} {
			for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(i%7) - 3e38*float32(i%2) // large but finite
				}
				if pos >= 0 {
					x[pos] = bad
				}
				B := upload(t, d, x)
				ok, err := (Backend{}).AllFinite32(B)
				B.Release()
				if err != nil {
					t.Fatal(err)
				}
				if ok != (pos < 0) {
					t.Fatalf("n=%d, %v at %d: AllFinite32 = %v", n, bad, pos, ok)
				}
				if pos < 0 {
					break
				}
			}
		}
	}
}
