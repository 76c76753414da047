package nn

import (
	"math"
	"testing"

	"github.com/furious-lab/furious/tensor"
)

// gcase is one gradient-check case: float64 inputs and the function of them.
type gcase struct {
	name string
	in   func() []*tensor.Tensor
	f    func(x []*Var) *Var
}

func rn(seed uint64, shape ...int) func() *tensor.Tensor {
	return func() *tensor.Tensor { return tensor.NewRNG(seed).Randn64(shape...) }
}

func pos(seed uint64, shape ...int) func() *tensor.Tensor {
	return func() *tensor.Tensor { return tensor.NewRNG(seed).Rand64(0.5, 2, shape...) }
}

func ins(fs ...func() *tensor.Tensor) func() []*tensor.Tensor {
	return func() []*tensor.Tensor {
		out := make([]*tensor.Tensor, len(fs))
		for i, f := range fs {
			out[i] = f()
		}
		return out
	}
}

var opCases = []gcase{
	{"Add", ins(rn(1, 2, 3, 4), rn(2, 2, 3, 4)), func(x []*Var) *Var { return Add(x[0], x[1]) }},
	{"AddBroadcastSuffix", ins(rn(1, 2, 3, 4), rn(2, 4)), func(x []*Var) *Var { return Add(x[0], x[1]) }},
	{"SubBroadcastOnes", ins(rn(1, 2, 3, 4), rn(2, 2, 1, 4)), func(x []*Var) *Var { return Sub(x[0], x[1]) }},
	{"MulBroadcast", ins(rn(1, 2, 3, 4), rn(2, 3, 1)), func(x []*Var) *Var { return Mul(x[0], x[1]) }},
	{"MulSelf", ins(rn(1, 5)), func(x []*Var) *Var { return Mul(x[0], x[0]) }},
	{"Div", ins(rn(1, 2, 3), pos(2, 3)), func(x []*Var) *Var { return Div(x[0], x[1]) }},
	{"Scale", ins(rn(1, 3, 2)), func(x []*Var) *Var { return Scale(x[0], -2.5) }},
	{"AddScalar", ins(rn(1, 3, 2)), func(x []*Var) *Var { return AddScalar(x[0], 0.7) }},
	{"Sum", ins(rn(1, 3, 4)), func(x []*Var) *Var { return Sum(x[0]) }},
	{"Mean", ins(rn(1, 3, 4)), func(x []*Var) *Var { return Mean(x[0]) }},
	{"SumAxis1", ins(rn(1, 2, 3, 4)), func(x []*Var) *Var { return SumAxis(x[0], 1) }},
	{"MeanAxisLast", ins(rn(1, 2, 3, 4)), func(x []*Var) *Var { return MeanAxis(x[0], -1) }},
	{"Exp", ins(rn(1, 3, 4)), func(x []*Var) *Var { return Exp(x[0]) }},
	{"Log", ins(pos(1, 3, 4)), func(x []*Var) *Var { return Log(x[0]) }},
	{"Square", ins(rn(1, 3, 4)), func(x []*Var) *Var { return Square(x[0]) }},
	{"Sqrt", ins(pos(1, 3, 4)), func(x []*Var) *Var { return Sqrt(x[0]) }},
	{"Softplus", ins(rn(1, 3, 4)), func(x []*Var) *Var { return Softplus(Scale(x[0], 3)) }},
	{"Sigmoid", ins(rn(1, 3, 4)), func(x []*Var) *Var { return Sigmoid(Scale(x[0], 3)) }},
	{"LogSigmoid", ins(rn(1, 3, 4)), func(x []*Var) *Var { return LogSigmoid(Scale(x[0], 3)) }},
	{"SiLU", ins(rn(1, 3, 4)), func(x []*Var) *Var { return SiLU(Scale(x[0], 3)) }},
	{"ReLU", ins(rn(1, 3, 4)), func(x []*Var) *Var { return ReLU(x[0]) }},
	{"MatMul2D", ins(rn(1, 3, 4), rn(2, 4, 5)), func(x []*Var) *Var { return MatMul(x[0], x[1]) }},
	{"MatMulBatched", ins(rn(1, 2, 3, 3, 4), rn(2, 2, 3, 4, 2)), func(x []*Var) *Var { return MatMul(x[0], x[1]) }},
	{"MatMulSharedB", ins(rn(1, 2, 3, 4), rn(2, 4, 5)), func(x []*Var) *Var { return MatMul(x[0], x[1]) }},
	{"Reshape", ins(rn(1, 2, 6)), func(x []*Var) *Var { return Transpose(Reshape(x[0], 3, -1), 0, 1) }},
	{"Transpose", ins(rn(1, 2, 3, 4)), func(x []*Var) *Var { return Transpose(x[0], 0, -1) }},
	{"Permute", ins(rn(1, 2, 3, 4, 5)), func(x []*Var) *Var { return Permute(x[0], 0, 2, 3, 1) }},
	{"Slice", ins(rn(1, 2, 5, 3)), func(x []*Var) *Var { return Slice(x[0], 1, 1, 4) }},
	{"Concat", ins(rn(1, 2, 2, 3), rn(2, 2, 4, 3)), func(x []*Var) *Var { return Concat(1, x[0], x[1], x[0]) }},
	{"Cumsum", ins(rn(1, 2, 5, 3)), func(x []*Var) *Var { return Cumsum(x[0], 1) }},
	{"CumsumLast", ins(rn(1, 2, 3, 6)), func(x []*Var) *Var { return Cumsum(x[0], -1) }},
	{"Embedding", ins(rn(1, 5, 3)), func(x []*Var) *Var { return Embedding(x[0], []int{4, 0, 4, 2, 1, 4}, 2, 3) }},
	{"RMSNorm", ins(rn(1, 2, 3, 6), rn(2, 6)), func(x []*Var) *Var { return RMSNorm(x[0], x[1], 1e-5) }},
	{"RMSNormNoWeight", ins(rn(1, 4, 6)), func(x []*Var) *Var { return RMSNorm(x[0], nil, 1e-6) }},
	{"Softmax", ins(rn(1, 2, 3, 5)), func(x []*Var) *Var { return Softmax(Scale(x[0], 2)) }},
	{"LogSoftmax", ins(rn(1, 2, 3, 5)), func(x []*Var) *Var { return LogSoftmax(Scale(x[0], 2)) }},
	{"CrossEntropy", ins(rn(1, 2, 3, 7)), func(x []*Var) *Var { return CrossEntropy(x[0], []int{0, 6, 3, 3, 1, 5}, -100) }},
	{"CrossEntropyIgnore", ins(rn(1, 6, 7)), func(x []*Var) *Var { return CrossEntropy(x[0], []int{0, -1, 3, -1, 1, 5}, -1) }},
	{"Chain", ins(rn(1, 2, 4, 6), rn(2, 6, 6), rn(3, 6)), func(x []*Var) *Var {
		h := RMSNorm(x[0], x[2], 1e-6)
		u := MatMul(h, x[1])
		return Add(Mul(SiLU(u), Sigmoid(u)), x[0])
	}},
}

// runGC runs GradCheck on each case and fails above tol; it logs the errors.
func runGC(t *testing.T, cases []gcase, tol float64) {
	t.Helper()
	for _, c := range cases {
		errs := GradCheck(c.f, c.in(), 1e-4)
		worst := 0.0
		for _, e := range errs {
			worst = math.Max(worst, e)
		}
		t.Logf("%-22s max rel err %.2e", c.name, worst)
		if !(worst < tol) {
			t.Errorf("%s: gradient check rel err %v (per input %v), want < %g", c.name, worst, errs, tol)
		}
	}
}

func TestGradCheckOps(t *testing.T) { runGC(t, opCases, 1e-6) }

// grads returns the gradients of Σ f(x) ⊙ R for inputs converted to dt.
func grads(c gcase, dt tensor.DType) []*tensor.Tensor {
	in := c.in()
	vs := make([]*Var, len(in))
	for i, x := range in {
		vs[i] = Param(x.As(dt))
	}
	out := c.f(vs)
	r := tensor.NewRNG(0x5eed).Randn64(out.Value.Shape()...).As(dt)
	Sum(Mul(out, Const(r))).Backward()
	g := make([]*tensor.Tensor, len(vs))
	for i, v := range vs {
		g[i] = v.Grad
	}
	return g
}

// f32vs64 checks float32 gradients against float64 within tol.
func f32vs64(t *testing.T, cases []gcase, tol float64) {
	t.Helper()
	for _, c := range cases {
		g64, g32 := grads(c, tensor.Float64), grads(c, tensor.Float32)
		worst := 0.0
		for i := range g64 {
			if g64[i] == nil || g32[i] == nil {
				continue
			}
			if g32[i].DType() != tensor.Float32 {
				t.Fatalf("%s: float32 gradient has dtype %s", c.name, g32[i].DType())
			}
			worst = math.Max(worst, RelErr(g32[i], g64[i]))
		}
		t.Logf("%-22s float32 vs float64 rel err %.2e", c.name, worst)
		if !(worst < tol) {
			t.Errorf("%s: float32 gradients differ from float64 by %v, want < %g", c.name, worst, tol)
		}
	}
}

// Float32 gradients agree with float64 within 1e-5 (relative to the largest
// gradient entry) for the ops; float32 has a unit roundoff of 6e-8.
func TestFloat32GradsOps(t *testing.T) { f32vs64(t, opCases, 1e-5) }

func TestBackwardAccumulatesAndNoGrad(t *testing.T) {
	x := Param(tensor.FromFloat64([]float64{1, 2, 3}))
	Sum(Square(x)).Backward()
	Sum(Square(x)).Backward()
	want := []float64{4, 8, 12}
	for i, v := range x.Grad.Float64s() {
		if v != want[i] {
			t.Fatalf("accumulated grad %v, want %v", x.Grad.Float64s(), want)
		}
	}
	var y *Var
	NoGrad(func() { y = Sum(Square(x)) })
	if y.RequiresGrad() || !GradEnabled() {
		t.Fatalf("NoGrad: result requires grad %v, enabled after %v", y.RequiresGrad(), GradEnabled())
	}
	c := Const(tensor.FromFloat64([]float64{1}))
	if Exp(c).RequiresGrad() {
		t.Fatal("op of a constant requires grad")
	}
}

func TestShapeErrorsPanic(t *testing.T) {
	a := Param(tensor.Zeros64(2, 3))
	b := Param(tensor.Zeros64(4, 5))
	for name, f := range map[string]func(){
		"MatMul": func() { MatMul(a, b) },
		"Add":    func() { Add(a, b) },
		"Concat": func() { Concat(0, a, b) },
		"Slice":  func() { Slice(a, 1, 2, 5) },
	} {
		err := tensor.Catch(f)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
}
