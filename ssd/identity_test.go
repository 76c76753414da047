package ssd

import (
	"math"
	"strings"
	"testing"

	"github.com/furious-lab/furious/tensor"
)

func dot(x, y []float64) float64 {
	s := 0.0
	for i := range x {
		s += x[i] * y[i]
	}
	return s
}

// TestFeatureIdentity: φ_p(x)·φ_p(y) = (x·y)^p for p = 1…4, and the size and
// order of the order-2 map (row-major upper triangle, √2 off the diagonal).
func TestFeatureIdentity(t *testing.T) {
	for _, p := range []int{1, 2, 3, 4} {
		for _, d := range []int{1, 3, 8} {
			x, y := tensor.NewRNG(uint64(p*10+d)).Randn64(5, d), tensor.NewRNG(uint64(p*10+d+1)).Randn64(5, d)
			fx, fy := Feature(x, p), Feature(y, p)
			if fx.Dim(1) != FeatureDim(d, p) {
				t.Fatalf("p=%d d=%d: %d features, want %d", p, d, fx.Dim(1), FeatureDim(d, p))
			}
			for r := 0; r < 5; r++ {
				xd, yd := x.Data()[r*d:(r+1)*d], y.Data()[r*d:(r+1)*d]
				D := fx.Dim(1)
				got := dot(fx.Data()[r*D:(r+1)*D], fy.Data()[r*D:(r+1)*D])
				want := math.Pow(dot(xd, yd), float64(p))
				if math.Abs(got-want) > 1e-12*math.Max(1, math.Pow(math.Sqrt(dot(xd, xd)*dot(yd, yd)), float64(p))) {
					t.Errorf("p=%d d=%d: φ(x)·φ(y) = %.15g, (x·y)^p = %.15g", p, d, got, want)
				}
			}
		}
	}
	if FeatureDim(64, 2) != 2080 {
		t.Errorf("FeatureDim(64, 2) = %d, want 2080 (Eq. 5)", FeatureDim(64, 2))
	}
	f := Feature(tensor.FromFloat64([]float64{1, 2, 3}), 2).Data()
	want := []float64{1, 2 * math.Sqrt2, 3 * math.Sqrt2, 4, 6 * math.Sqrt2, 9}
	for i := range want {
		if math.Abs(f[i]-want[i]) > 4e-16*want[i] {
			t.Errorf("φ([1 2 3]) = %v, want %v", f, want)
			break
		}
	}
}

// directSoftmax computes softmax(q·k·scale + segsum(a)) v row by row with
// explicit loops (the FoX definition), float64.
func directSoftmax(in inputs, scale float64) *tensor.Tensor {
	s := in.q.Shape()
	B, H, L, d, dv := s[0], s[1], s[2], s[3], in.v.Dim(3)
	y := tensor.New(tensor.Float64, B, H, L, dv)
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			for i := 0; i < L; i++ {
				logit := make([]float64, i+1)
				m := math.Inf(-1)
				for j := 0; j <= i; j++ {
					qk := 0.0
					for c := 0; c < d; c++ {
						qk += in.q.At(b, h, i, c) * in.k.At(b, h, j, c)
					}
					seg := 0.0
					for u := j + 1; u <= i; u++ {
						seg += in.a.At(b, h, u)
					}
					logit[j] = qk*scale + seg
					m = math.Max(m, logit[j])
				}
				den := 0.0
				for j := range logit {
					den += math.Exp(logit[j] - m)
				}
				for c := 0; c < dv; c++ {
					num := 0.0
					for j := range logit {
						num += math.Exp(logit[j]-m) * in.v.At(b, h, j, c)
					}
					y.Set(num/den, b, h, i, c)
				}
			}
		}
	}
	return y
}

// TestExpForgetIsSoftmax: the exp form with the forget mask and softmax norm
// equals a direct softmax over q·k·scale + segsum(a) (FoX), in every exp form;
// float32 forms agree with the float64 oracle to 1e-4.
func TestExpForgetIsSoftmax(t *testing.T) {
	for _, L := range []int{1, 23, 40} {
		in := makeInputs(uint64(L), 2, 2, L, 8, 6, MaskForget, false, false).round()
		o := Options{Exp: true, Norm: NormSoftmax}
		want := directSoftmax(in, 1/math.Sqrt(8))
		for _, dt := range []tensor.DType{tensor.Float64, tensor.Float32} {
			x := in.as(dt)
			tol := 1e-12
			if dt == tensor.Float32 {
				tol = 1e-4
			}
			got := map[string]*tensor.Tensor{
				"quadratic":  Quadratic(x.q, x.k, x.v, x.a, o),
				"blockwise8": Blockwise(x.q, x.k, x.v, x.a, o, 8),
				"blockwise3": Blockwise(x.q, x.k, x.v, x.a, o, 3),
				"kvcache":    byKV(x, o),
			}
			for name, y := range got {
				if e := relErr(y, want); e > tol {
					t.Errorf("L=%d %s %s: rel err %.3g > %g", L, dt, name, e, tol)
				}
			}
		}
	}
}

// TestExpForms: exp without softmax norm and with output norm, every mask.
func TestExpForms(t *testing.T) {
	for _, kind := range maskKinds {
		for _, norm := range []Norm{NormNone, NormOutput, NormSoftmax} {
			in := makeInputs(uint64(kind)+50, 1, 3, 33, 4, 5, kind, false, false).round()
			o := Options{Exp: true, Norm: norm, Eps: DefaultEps}
			want := Quadratic(in.q, in.k, in.v, in.a, o)
			for _, dt := range []tensor.DType{tensor.Float64, tensor.Float32} {
				x := in.as(dt)
				tol := 1e-10
				if dt == tensor.Float32 {
					tol = 1e-4
				}
				for name, y := range map[string]*tensor.Tensor{
					"blockwise": Blockwise(x.q, x.k, x.v, x.a, o, 10), "kvcache": byKV(x, o),
					"quadratic": Quadratic(x.q, x.k, x.v, x.a, o)} {
					if e := relErr(y, want); e > tol {
						t.Errorf("exp/%s/%s %s %s: rel err %.3g", kind, norm, dt, name, e)
					}
				}
			}
		}
	}
}

func byKV(in inputs, o Options) *tensor.Tensor {
	s := in.q.Shape()
	B, H, L, d, dv := s[0], s[1], s[2], s[3], in.v.Dim(3)
	c := NewKVCache(in.q.DType(), B, H, d, dv, o)
	y := tensor.New(in.q.DType(), B, H, L, dv)
	for t := 0; t < L; t++ {
		var at *tensor.Tensor
		if in.a != nil {
			at = sliceT(in.a.Reshape(B, H, L, 1), t, t+1).Reshape(B, H)
		}
		yt := c.Step(sliceT(in.q, t, t+1).Reshape(B, H, d), sliceT(in.k, t, t+1).Reshape(B, H, d), sliceT(in.v, t, t+1).Reshape(B, H, dv), at)
		for b := 0; b < B; b++ {
			for h := 0; h < H; h++ {
				for x := 0; x < dv; x++ {
					y.Set(yt.At(b, h, x), b, h, t, x)
				}
			}
		}
	}
	if c.N != L || c.Bytes() != int64(B*H*L*(d+dv)*in.q.DType().Size()) {
		panic("KVCache size accounting is wrong")
	}
	return y
}

// TestExpNoMaskIsCausalSoftmax: no decay is plain causal softmax attention.
func TestExpNoMaskIsCausalSoftmax(t *testing.T) {
	in := makeInputs(3, 1, 2, 17, 4, 4, MaskNone, false, false)
	in.a = tensor.Zeros64(1, 2, 17)
	want := directSoftmax(in, 0.5)
	got := Quadratic(in.q, in.k, in.v, nil, Options{Exp: true, Norm: NormSoftmax})
	if e := relErr(got, want); e > 1e-13 {
		t.Errorf("rel err %.3g", e)
	}
}

// TestSoftplusForgetSign: −softplus(x) = log σ(−x), so the 2Mamba and FoX
// masks agree up to the sign of the pre-activation.
func TestSoftplusForgetSign(t *testing.T) {
	x := tensor.NewRNG(9).Randn64(2, 3, 50)
	neg := mapT("test", "x", x, func(v float64) float64 { return -v })
	if e := relErr(LogDecaySoftplus(x), LogDecayForget(neg)); e > 1e-15 {
		t.Errorf("softplus(x) vs forget(−x): %.3g", e)
	}
	if e := relErr(LogDecay(MaskForget, x, nil, nil), LogDecayForget(x)); e != 0 || LogDecay(MaskNone, x, nil, nil) != nil {
		t.Errorf("LogDecay dispatch")
	}
	if e := mustPanic(t, func() { LogDecay(MaskOriginal, x, nil, nil) }); e.Arg != "aLog" {
		t.Errorf("%q", e.Error())
	}
	// and log σ(x) directly
	f := LogDecayForget(x).Data()
	for i, v := range x.Data() {
		if w := math.Log(1 / (1 + math.Exp(-v))); math.Abs(f[i]-w) > 1e-14 {
			t.Fatalf("log σ(%g) = %g, want %g", v, f[i], w)
		}
	}
}

// TestDecayMask: the materialised mask is exp(segsum), lower triangular, and
// stable for long strongly decaying sequences in float32.
func TestDecayMask(t *testing.T) {
	a := tensor.FromFloat64([]float64{-0.1, -0.2, -0.3, -0.4}, 1, 1, 4)
	m := DecayMask(a, 0, 0)
	if m.At(3, 1) != math.Exp(-0.3-0.4) || m.At(1, 2) != 0 || m.At(2, 2) != 1 {
		t.Errorf("mask %v", m)
	}
	ss := SegSum(a)
	if !math.IsInf(ss.At(0, 0, 0, 3), -1) || math.Abs(ss.At(0, 0, 3, 0)-(-0.9)) > 1e-15 {
		t.Errorf("segsum %v", ss)
	}
	// L = 2048, a = −softplus(x): a float32 mask must equal the float64 one to
	// float32 rounding at large lags (segment sums, formed in float64); a
	// difference of one global float32 cumsum would miss by ~1e-4 (spec §a).
	L := 2048
	x := tensor.NewRNG(1).Randn64(1, 1, L)
	a64 := LogDecaySoftplus(x)
	a32 := a64.As(tensor.Float32)
	m32 := DecayMask(a32, 0, 0)
	m64 := DecayMask(a32.As(tensor.Float64), 0, 0)
	worst := 0.0
	for _, i := range []int{L - 1, L / 2, 100} {
		for j := i; j >= 0 && j > i-12; j-- {
			w := m64.At(i, j)
			worst = math.Max(worst, math.Abs(m32.At(i, j)-w)/w)
		}
	}
	if worst > 1e-5 {
		t.Errorf("float32 mask rel err %.3g", worst)
	}
}

// TestZeroDenominator: a softmax-norm row whose denominator is exactly zero
// outputs zeros in every form (the package's policy).
func TestZeroDenominator(t *testing.T) {
	in := makeInputs(4, 1, 1, 6, 3, 2, MaskSoftplus, true, false)
	for c := 0; c < 3; c++ { // q_2 = 0 ⇒ P_2j = 0 for every j (order 2)
		in.q.Set(0, 0, 0, 2, c)
	}
	o := Options{Order: 2, Norm: NormSoftmax}
	for name, y := range map[string]*tensor.Tensor{
		"quadratic": Quadratic(in.q, in.k, in.v, in.a, o), "blockwise": Blockwise(in.q, in.k, in.v, in.a, o, 4),
		"chunked": func() *tensor.Tensor { y, _ := Chunked(in.q, in.k, in.v, in.a, o, 4, nil); return y }(),
		"steps":   byStep(in, o)} {
		for c := 0; c < 2; c++ {
			if y.At(0, 0, 2, c) != 0 {
				t.Errorf("%s: y_2 = %v, want 0", name, y.At(0, 0, 2, c))
			}
			if y.At(0, 0, 3, c) == 0 {
				t.Errorf("%s: y_3 is zero", name)
			}
		}
	}
}

// TestErrors: shape mistakes name the op, the argument and both shapes;
// impossible options and NaN results are reported with the primitive's name.
func TestErrors(t *testing.T) {
	q, k := tensor.Zeros(1, 2, 8, 32), tensor.Zeros(1, 2, 8, 16)
	v := tensor.Zeros(1, 2, 8, 32)
	e := mustPanic(t, func() { Quadratic(q, k, v, nil, Options{Order: 1}) })
	if got := e.Error(); got != "ssd.Quadratic: k has shape (1,2,8,16), want (1,2,8,32) (same as q)" {
		t.Errorf("message %q", got)
	}
	e = mustPanic(t, func() { Chunked(q, q, tensor.Zeros(1, 3, 8, 4), nil, Options{Order: 1}, 4, nil) })
	if !strings.Contains(e.Error(), "v has shape (1,3,8,4), want (1,2,8,?)") {
		t.Errorf("message %q", e.Error())
	}
	e = mustPanic(t, func() { Chunked(q, q, v, tensor.Zeros(1, 2, 7), Options{Order: 1}, 4, nil) })
	if !strings.Contains(e.Error(), "ssd.Chunked: a has shape (1,2,7), want (1,2,8)") {
		t.Errorf("message %q", e.Error())
	}
	e = mustPanic(t, func() { Chunked(q, q, v, nil, Options{Order: 1}, 0, nil) })
	if e.Op != "ssd.Chunked" || e.Arg != "chunk" {
		t.Errorf("chunk 0: %q", e.Error())
	}
	e = mustPanic(t, func() { Recurrent(q, q, v, nil, Options{Order: 0}, nil) })
	if e.Arg != "Order" || !strings.Contains(e.Error(), "ssd.Recurrent: Order: is 0, want ≥ 1") {
		t.Errorf("order 0: %q", e.Error())
	}
	e = mustPanic(t, func() { Recurrent(q, q, v, nil, Options{Exp: true}, nil) })
	if !strings.Contains(e.Error(), "no finite state") {
		t.Errorf("exp recurrent: %q", e.Error())
	}
	e = mustPanic(t, func() { Quadratic(q, q.As(tensor.Float64), v, nil, Options{Order: 1}) })
	if e.Arg != "k" {
		t.Errorf("dtype: %q", e.Error())
	}
	s := NewState(tensor.Float32, 1, 2, 32, 32, Options{Order: 2})
	e = mustPanic(t, func() { Chunked(q, q, v, nil, Options{Order: 1}, 4, s) })
	if !strings.Contains(e.Error(), "state") {
		t.Errorf("state mismatch: %q", e.Error())
	}
	e = mustPanic(t, func() { s.Step(tensor.Zeros(1, 2, 16), tensor.Zeros(1, 2, 32), tensor.Zeros(1, 2, 32), nil) })
	if !strings.Contains(e.Error(), "ssd.State.Step: q has shape (1,2,16), want (1,2,32)") {
		t.Errorf("step: %q", e.Error())
	}
	// a NaN produced inside a primitive is reported with its name
	bad := tensor.Ones(1, 2, 8, 32)
	bad.Set(math.NaN(), 0, 1, 3, 5)
	err := tensor.Catch(func() { Chunked(bad, q, v, nil, Options{Order: 2}, 4, nil) })
	if err == nil || !strings.HasPrefix(err.Error(), "ssd.Chunked: ") || !errorsIs(err, tensor.ErrNotFinite) {
		t.Errorf("NaN: %v", err)
	}
}
