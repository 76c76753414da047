package nn

import (
	"math"
	"testing"

	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

var ssdOpCases = []gcase{
	{"CausalConv1d w=2", ins(rn(1, 2, 5, 3), rn(2, 3, 2), rn(3, 3)), func(x []*Var) *Var { return CausalConv1d(x[0], x[1], x[2]) }},
	{"CausalConv1d w=4 nobias", ins(rn(1, 2, 6, 3), rn(2, 3, 4)), func(x []*Var) *Var { return CausalConv1d(x[0], x[1], nil) }},
	{"KronFeature", ins(rn(1, 2, 3, 4)), func(x []*Var) *Var { return KronFeature(x[0]) }},
	{"RoPE", ins(rn(1, 2, 5, 6)), func(x []*Var) *Var { return RoPE(x[0], 10000) }},
	{"LogDecay softplus", ins(rn(1, 2, 3, 5)), func(x []*Var) *Var { return LogDecay(ssd.MaskSoftplus, Scale(x[0], 2), nil, nil) }},
	{"LogDecay forget", ins(rn(1, 2, 3, 5)), func(x []*Var) *Var { return LogDecay(ssd.MaskForget, Scale(x[0], 2), nil, nil) }},
	{"LogDecay discretize", ins(rn(1, 2, 3, 5), rn(2, 3), rn(3, 3)), func(x []*Var) *Var { return LogDecay(ssd.MaskOriginal, x[0], x[1], x[2]) }},
	{"LogDecay discretize nobias", ins(rn(1, 2, 3, 5), rn(2, 3)), func(x []*Var) *Var { return LogDecay(ssd.MaskOriginal, x[0], x[1], nil) }},
}

// LogDecay's forward is ssd's and equals the composition of nn ops.
func TestLogDecayValues(t *testing.T) {
	x, al, b := tensor.NewRNG(3).Randn64(2, 3, 5), tensor.NewRNG(4).Randn64(3), tensor.NewRNG(5).Randn64(3)
	X, AL, Bb := Const(x), Const(al), Const(b)
	want := map[ssd.MaskKind]*Var{
		ssd.MaskSoftplus: Neg(Softplus(X)),
		ssd.MaskForget:   LogSigmoid(X),
		ssd.MaskOriginal: Mul(Neg(Reshape(Exp(AL), 3, 1)), Softplus(Add(X, Reshape(Bb, 3, 1)))),
	}
	for kind, w := range want {
		if e := RelErr(LogDecay(kind, X, AL, Bb).Value, w.Value); !(e < 1e-15) {
			t.Errorf("%s: rel err %v", kind, e)
		}
	}
	if err := tensor.Catch(func() { LogDecay(ssd.MaskOriginal, X, nil, nil) }); err == nil {
		t.Error("discretize without aLog: no error")
	}
}

func TestGradCheckSSDOps(t *testing.T) { runGC(t, ssdOpCases, 1e-6) }

func TestFloat32GradsSSDOps(t *testing.T) { f32vs64(t, ssdOpCases, 1e-5) }

func TestCausalConv1dValues(t *testing.T) {
	// One channel, W = 2: y_t = b + w0·x_{t−1} + w1·x_t.
	x := Const(tensor.FromFloat64([]float64{1, 2, 3}, 1, 3, 1))
	w := Const(tensor.FromFloat64([]float64{10, 100}, 1, 2))
	b := Const(tensor.FromFloat64([]float64{0.5}))
	got := CausalConv1d(x, w, b).Value.Float64s()
	want := []float64{100.5, 210.5, 320.5}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("conv = %v, want %v", got, want)
		}
	}
}

// φ(x)·φ(y) = (x·y)² (the identity the order-2 state relies on).
func TestKronFeatureIdentity(t *testing.T) {
	x, y := tensor.NewRNG(1).Randn64(6), tensor.NewRNG(2).Randn64(6)
	fx, fy := KronFeature(Const(x)).Value.Float64s(), KronFeature(Const(y)).Value.Float64s()
	if len(fx) != 21 {
		t.Fatalf("φ has %d entries, want 21", len(fx))
	}
	var dot, xy float64
	for i := range fx {
		dot += fx[i] * fy[i]
	}
	for i := 0; i < 6; i++ {
		xy += x.At(i) * y.At(i)
	}
	if math.Abs(dot-xy*xy) > 1e-12*xy*xy {
		t.Fatalf("φ(x)·φ(y) = %v, (x·y)² = %v", dot, xy*xy)
	}
}

// RoPE makes scores depend on relative position only: q_t·k_s after RoPE
// equals q_{t+1}·k_{s+1} for the same vectors.
func TestRoPERelative(t *testing.T) {
	q, k := tensor.NewRNG(1).Randn64(8), tensor.NewRNG(2).Randn64(8)
	L := 6
	qs, ks := tensor.Zeros64(L, 8), tensor.Zeros64(L, 8)
	for p := 0; p < L; p++ {
		for i := 0; i < 8; i++ {
			qs.Set(q.At(i), p, i)
			ks.Set(k.At(i), p, i)
		}
	}
	rq, rk := RoPE(Const(qs), 10000).Value, RoPE(Const(ks), 10000).Value
	dot := func(a, b int) float64 {
		s := 0.0
		for i := 0; i < 8; i++ {
			s += rq.At(a, i) * rk.At(b, i)
		}
		return s
	}
	if math.Abs(dot(3, 1)-dot(4, 2)) > 1e-12 || math.Abs(dot(3, 1)-dot(3, 2)) < 1e-6 {
		t.Fatalf("RoPE scores: (3,1) %v (4,2) %v (3,2) %v", dot(3, 1), dot(4, 2), dot(3, 2))
	}
}

// CausalConv1d's forward (tensor.CausalConv1d) equals ssd.CausalConv1d
// without SiLU, in both dtypes.
func TestCausalConv1dMatchesSSD(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.Float64, tensor.Float32} {
		x, w, b := tensor.NewRNG(1).Randn64(2, 9, 5).As(dt), tensor.NewRNG(2).Randn64(5, 4).As(dt), tensor.NewRNG(3).Randn64(5).As(dt)
		got := CausalConv1d(Const(x), Const(w), Const(b)).Value
		if e := RelErr(got, ssd.CausalConv1d(x, w, b, false)); !(e < 1e-15) {
			t.Errorf("%s: rel err %v against ssd.CausalConv1d", dt, e)
		}
	}
}
