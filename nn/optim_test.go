package nn

import (
	"math"
	"testing"

	"github.com/furious-lab/furious/tensor"
)

func TestAdamWFirstSteps(t *testing.T) {
	w := Param(tensor.FromFloat64([]float64{1, -2, 3, 0.5}, 2, 2)) // decayed (rank 2)
	b := Param(tensor.FromFloat64([]float64{1, -1}))               // not decayed
	o := NewAdamW([]*Var{w, b}, 0.1)
	g := []float64{0.5, -0.25, 2, 0}
	// Two steps with the same gradient by hand: m₁ = 0.1g, v₁ = 0.001g²,
	// m̂ = g, v̂ = g² → Δ = lr·g/(|g|+ε); step 2: m₂ = 0.19g, v₂ = 0.001999g²,
	// m̂ = g, v̂ = g² again.
	want := []float64{1, -2, 3, 0.5}
	for step := 0; step < 2; step++ {
		w.Grad = tensor.FromFloat64(append([]float64(nil), g...), 2, 2)
		b.Grad = tensor.FromFloat64([]float64{1e-3, 0})
		o.Step()
		for i := range want {
			want[i] -= 0.1 * 0.01 * want[i]
			want[i] -= 0.1 * g[i] / (math.Abs(g[i]) + 1e-8)
		}
	}
	for i, x := range w.Value.Float64s() {
		if math.Abs(x-want[i]) > 1e-12 {
			t.Fatalf("w after 2 AdamW steps = %v, want %v", w.Value.Float64s(), want)
		}
	}
	if got := b.Value.Float64s(); math.Abs(got[0]-(1-0.2*1e-3/(1e-3+1e-8))) > 1e-12 || got[1] != -1 {
		t.Fatalf("b (no decay) = %v", got)
	}
}

// AdamW with a schedule fits a small linear regression in float32.
func TestAdamWFitsLinearRegression(t *testing.T) {
	in := NewInit(3, tensor.Float32)
	x := Const(in.Normal(1, 64, 8))
	wTrue := in.Normal(1, 8, 4)
	var y *Var
	NoGrad(func() { y = MatMul(x, Const(wTrue)) })
	w := Param(in.Linear(8, 4))
	o := NewAdamW([]*Var{w}, 0)
	o.WeightDecay = 0
	sch := Schedule{Peak: 0.05, Warmup: 20, Total: 400}
	var first, last float64
	for s := 0; s < 400; s++ {
		loss := Mean(Square(Sub(MatMul(x, w), y)))
		if s == 0 {
			first = loss.Item()
		}
		last = loss.Item()
		o.ZeroGrad()
		loss.Backward()
		ClipGradNorm(o.Params, 10)
		o.StepLR(sch.LR(s))
	}
	t.Logf("loss %.4g → %.3g", first, last)
	if !(last < 1e-4*first) {
		t.Fatalf("loss %v → %v, want a 1e4 reduction", first, last)
	}
}

func TestSchedule(t *testing.T) {
	s := Schedule{Peak: 1e-3, Final: 1e-4, Warmup: 10, Total: 110}
	for _, c := range []struct {
		t    int
		want float64
	}{{0, 1e-4}, {4, 5e-4}, {9, 1e-3}, {10, 1e-3}, {60, 5.5e-4}, {110, 1e-4}, {500, 1e-4}} {
		if got := s.LR(c.t); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("LR(%d) = %v, want %v", c.t, got, c.want)
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	a := Param(tensor.Zeros64(2))
	b := Param(tensor.Zeros64(1))
	a.Grad, b.Grad = tensor.FromFloat64([]float64{3, 0}), tensor.FromFloat64([]float64{4})
	if n := ClipGradNorm([]*Var{a, b}, 1); n != 5 {
		t.Fatalf("norm %v, want 5", n)
	}
	if n := GradNorm([]*Var{a, b}); math.Abs(n-1) > 1e-15 || math.Abs(a.Grad.At(0)-0.6) > 1e-15 {
		t.Fatalf("after clipping norm %v grad %v", n, a.Grad.Float64s())
	}
	if n := ClipGradNorm([]*Var{a, b}, 2); math.Abs(n-1) > 1e-15 || math.Abs(b.Grad.At(0)-0.8) > 1e-15 {
		t.Fatalf("clip below the norm changed grads: %v %v", n, b.Grad.Float64s())
	}
}

func TestInitDeterministic(t *testing.T) {
	a, b := NewInit(7, tensor.Float32), NewInit(7, tensor.Float32)
	x1, x2 := a.Normal(0.02, 100, 50), b.Normal(0.02, 100, 50)
	y1 := a.Normal(0.02, 100, 50)
	if RelErr(x1, x2) != 0 || RelErr(x1, y1) == 0 {
		t.Fatal("same seed and order must give the same values, successive calls different ones")
	}
	var s, ss float64
	for _, v := range x1.Data() {
		s += v
		ss += v * v
	}
	n := float64(x1.Len())
	std := math.Sqrt(ss/n - (s/n)*(s/n))
	if math.Abs(std-0.02) > 0.001 || math.Abs(s/n) > 0.001 {
		t.Fatalf("Normal(0.02): mean %v std %v", s/n, std)
	}
	u := a.Linear(16, 4)
	for _, v := range u.Data() {
		if math.Abs(v) > 0.25 {
			t.Fatalf("Linear(16, 4) value %v outside ±1/4", v)
		}
	}
}
