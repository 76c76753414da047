package nn

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// attnVariant names one (order, mask, norm) combination and the Appendix C
// formula it exercises.
type attnVariant struct {
	name   string
	order  int
	masked bool
	norm   bool
}

var attnVariants = []attnVariant{
	{"C.1 linear", 1, false, false},
	{"C.2 linear+smnorm", 1, false, true},
	{"C.3 linear+Amask", 1, true, false},
	{"linear+Amask+smnorm", 1, true, true},
	{"squared", 2, false, false},
	{"squared+smnorm", 2, false, true},
	{"C.4 squared+Amask", 2, true, false},
	{"C.5 2Mamba (corrected)", 2, true, true},
	{"exp (no norm)", orderExp, false, false},
	{"exp+smnorm (softmax)", orderExp, false, true},
	{"exp+Amask", orderExp, true, false},
	{"C.6 2Mamba-E", orderExp, true, true},
	{"order 3", 3, false, false},
	{"order 3+Amask", 3, true, false},
	{"order 3+Amask+smnorm", 3, true, true},
	{"order 4+Amask+smnorm", 4, true, true},
}

// orderExp marks the exp score in attnVariant.order.
const orderExp = -1

// opts are the ssd.Options of an (order, softmax norm) pair, scale 1/√d.
func opts(order int, norm bool) ssd.Options {
	o := ssd.Options{Order: order, Exp: order == orderExp}
	if o.Exp {
		o.Order = 0
	}
	if norm {
		o.Norm = ssd.NormSoftmax
	}
	return o
}

func quadF(q, k, v, a *tensor.Tensor, order int, norm bool) *tensor.Tensor {
	return ssd.Quadratic(q, k, v, a, opts(order, norm))
}

func quadB(q, k, v, a *tensor.Tensor, order int, norm bool, dO *tensor.Tensor) AttnGrads {
	return ssd.QuadraticBackward(q, k, v, a, opts(order, norm), dO)
}

func chunkF(q, k, v, a *tensor.Tensor, order int, norm bool, chunk int) *tensor.Tensor {
	y, _ := ssd.Chunked(q, k, v, a, opts(order, norm), chunk, nil)
	return y
}

func chunkB(q, k, v, a *tensor.Tensor, order int, norm bool, chunk int, dO *tensor.Tensor) AttnGrads {
	return ssd.ChunkedBackward(q, k, v, a, opts(order, norm), chunk, dO)
}

const aB, aH, aL, aD, aDV = 2, 2, 7, 4, 3

// attnInputs returns q, k (B, H, L, d), v (B, H, L, dv), a (B, H, L) in float64.
// Linear attention with softmax norm needs a positive score image (spec §c:
// ReLU features), so its q and k are drawn positive.
func attnInputs(v attnVariant, seed uint64) []*tensor.Tensor {
	q, k := tensor.NewRNG(seed).Randn64(aB, aH, aL, aD), tensor.NewRNG(seed+1).Randn64(aB, aH, aL, aD)
	if v.order%2 == 1 && v.norm {
		q, k = tensor.NewRNG(seed).Rand64(0.1, 1, aB, aH, aL, aD), tensor.NewRNG(seed+1).Rand64(0.1, 1, aB, aH, aL, aD)
	}
	return []*tensor.Tensor{q, k, tensor.NewRNG(seed+2).Randn64(aB, aH, aL, aDV), tensor.NewRNG(seed+3).Rand64(-1.5, -0.05, aB, aH, aL)}
}

func attnCase(v attnVariant) gcase {
	return attnCaseWith(v.name, v, 11, func(q, k, val, a *Var) *Var { return Attention(q, k, val, a, opts(v.order, v.norm)) })
}

// attnCaseWith is a gradient-check case of f on the inputs of variant v
// (a is nil for a maskless variant).
func attnCaseWith(name string, v attnVariant, seed uint64, f func(q, k, val, a *Var) *Var) gcase {
	return gcase{name, func() []*tensor.Tensor {
		in := attnInputs(v, seed)
		if !v.masked {
			in = in[:3]
		}
		return in
	}, func(x []*Var) *Var {
		var a *Var
		if v.masked {
			a = x[3]
		}
		return f(x[0], x[1], x[2], a)
	}}
}

// naiveAttention is the definition of spec §e, element by element, with
// the mask exp(Acs_i − Acs_j) from one global cumsum: the oracle.
func naiveAttention(q, k, v, a *tensor.Tensor, order int, norm bool) *tensor.Tensor {
	s := q.Shape()
	B, H, L, d, dv := s[0], s[1], s[2], s[3], v.Dim(3)
	y := tensor.Zeros64(B, H, L, dv)
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			acs := make([]float64, L)
			run := 0.0
			for t := 0; t < L; t++ {
				if a != nil {
					run += a.At(b, h, t)
				}
				acs[t] = run
			}
			for i := 0; i < L; i++ {
				den := 0.0
				num := make([]float64, dv)
				for j := 0; j <= i; j++ {
					sc := 0.0
					for c := 0; c < d; c++ {
						sc += q.At(b, h, i, c) * k.At(b, h, j, c)
					}
					sc /= math.Sqrt(float64(d))
					f := sc
					switch order {
					case orderExp:
						f = math.Exp(sc)
					default:
						f = math.Pow(sc, float64(order))
					}
					p := f * math.Exp(acs[i]-acs[j])
					den += p
					for c := 0; c < dv; c++ {
						num[c] += p * v.At(b, h, j, c)
					}
				}
				for c := 0; c < dv; c++ {
					if norm {
						num[c] /= den
					}
					y.Set(num[c], b, h, i, c)
				}
			}
		}
	}
	return y
}

func TestAttentionForwardMatchesNaive(t *testing.T) {
	for _, v := range attnVariants {
		in := attnInputs(v, 5)
		a := in[3]
		if !v.masked {
			a = nil
		}
		got := quadF(in[0], in[1], in[2], a, v.order, v.norm)
		want := naiveAttention(in[0], in[1], in[2], a, v.order, v.norm)
		e := RelErr(got, want)
		t.Logf("%-24s forward vs naive rel err %.2e", v.name, e)
		if !(e < 1e-13) {
			t.Errorf("%s: forward differs from the naive definition by %v", v.name, e)
		}
	}
}

func TestGradCheckAttention(t *testing.T) {
	var cases []gcase
	for _, v := range attnVariants {
		cases = append(cases, attnCase(v))
	}
	runGC(t, cases, 1e-6)
}

// Float32 attention gradients agree with float64 within 1e-4 relative to
// the largest entry (L×L products in float32 lose a few digits).
func TestFloat32GradsAttention(t *testing.T) {
	var cases []gcase
	for _, v := range attnVariants {
		cases = append(cases, attnCase(v))
	}
	f32vs64(t, cases, 1e-4)
}

// With softmax normalisation the query-side decay gradient dA^N is
// identically 0 (spec §f); without it, it is not.
func TestAttentionQuerySideDecayGradZero(t *testing.T) {
	for _, v := range attnVariants {
		if !v.masked {
			continue
		}
		in := attnInputs(v, 21)
		dO := tensor.NewRNG(99).Randn64(aB, aH, aL, aDV)
		gr := quadB(in[0], in[1], in[2], in[3], v.order, v.norm, dO)
		var dan, dam float64
		for i, x := range gr.DAN.Float64s() {
			dan = math.Max(dan, math.Abs(x))
			dam = math.Max(dam, math.Abs(gr.DAM.Float64s()[i]))
		}
		t.Logf("%-24s max|dA^N| %.2e  max|dA^M| %.2e", v.name, dan, dam)
		if v.norm && !(dan < 1e-14*math.Max(dam, 1)) {
			t.Errorf("%s: dA^N = %v, want 0 with softmax norm", v.name, dan)
		}
		if !v.norm && !(dan > 1e-3) {
			t.Errorf("%s: dA^N = %v, want non-zero without softmax norm", v.name, dan)
		}
	}
}

// The gradient w.r.t. per-step a is the reverse cumsum of dA^N + dA^M, and
// the paper's printed C.5 (A_M inside G only) is not the gradient: the
// corrected form matches GradCheck, the printed one is far off.
func TestAttentionPrintedC5IsWrong(t *testing.T) {
	v := attnVariant{"C.5", 2, true, true}
	in := attnInputs(v, 31)
	dO := tensor.NewRNG(7).Randn64(aB, aH, aL, aDV)
	gr := quadB(in[0], in[1], in[2], in[3], v.order, v.norm, dO)
	// Printed C.5 for head (0,0): G = dO Vᵀ ⊙ A_M ⊙ M − Σ_j(Y_N ⊙ dO Vᵀ), D = 2·s ⊙ G / S ⊙ M, dQ = c·D K.
	q, k, vv, a := in[0], in[1], in[2], in[3]
	c := 1 / math.Sqrt(aD)
	acs := make([]float64, aL)
	run := 0.0
	for t := range acs {
		run += a.At(0, 0, t)
		acs[t] = run
	}
	sc := func(i, j int) float64 {
		x := 0.0
		for e := 0; e < aD; e++ {
			x += q.At(0, 0, i, e) * k.At(0, 0, j, e)
		}
		return x * c
	}
	dov := func(i, j int) float64 {
		x := 0.0
		for e := 0; e < aDV; e++ {
			x += dO.At(0, 0, i, e) * vv.At(0, 0, j, e)
		}
		return x
	}
	var worst, scale float64
	for i := 0; i < aL; i++ {
		S, r := 0.0, 0.0
		for j := 0; j <= i; j++ {
			S += sc(i, j) * sc(i, j) * math.Exp(acs[i]-acs[j])
		}
		for j := 0; j <= i; j++ {
			r += sc(i, j) * sc(i, j) * math.Exp(acs[i]-acs[j]) / S * dov(i, j)
		}
		for e := 0; e < aD; e++ {
			dq := 0.0
			for j := 0; j <= i; j++ {
				G := dov(i, j)*math.Exp(acs[i]-acs[j]) - r
				dq += 2 * sc(i, j) * G / S * k.At(0, 0, j, e) * c
			}
			worst = math.Max(worst, math.Abs(dq-gr.DQ.At(0, 0, i, e)))
			scale = math.Max(scale, math.Abs(gr.DQ.At(0, 0, i, e)))
		}
	}
	t.Logf("printed C.5 dQ vs corrected: max diff %.3g (max |dQ| %.3g)", worst, scale)
	if !(worst > 1e-3*scale) {
		t.Errorf("the printed C.5 agrees with the corrected form (diff %v); the test inputs do not separate them", worst)
	}
	// da = reverse cumsum of dA^N + dA^M.
	for b := 0; b < aB; b++ {
		for h := 0; h < aH; h++ {
			acc := 0.0
			for s := aL - 1; s >= 0; s-- {
				acc += gr.DAN.At(b, h, s) + gr.DAM.At(b, h, s)
				if d := math.Abs(acc - gr.DA.At(b, h, s)); d > 1e-12 {
					t.Errorf("da[%d,%d,%d] = %v, reverse cumsum of dA^N + dA^M = %v", b, h, s, gr.DA.At(b, h, s), acc)
				}
			}
		}
	}
}

func TestAttentionShapeErrors(t *testing.T) {
	q := tensor.Zeros64(1, 2, 4, 8)
	for name, f := range map[string]func(){
		"k":     func() { Attention(Const(q), Const(tensor.Zeros64(1, 2, 4, 4)), Const(q), nil, ssd.Options{Order: 1}) },
		"a":     func() { Attention(Const(q), Const(q), Const(q), Const(tensor.Zeros64(1, 2, 5)), ssd.Options{Order: 1}) },
		"order": func() { Attention(Const(q), Const(q), Const(q), nil, ssd.Options{Order: 0}) },
		"dtype": func() { Attention(Const(q), Const(q), Const(tensor.Zeros(1, 2, 4, 8)), nil, ssd.Options{Order: 1}) },
	} {
		if err := tensor.Catch(f); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// Attention and ChunkedAttention take any ssd.Options: the output norm, a
// score scale other than 1/√d and orders above 2 pass the gradient check too.
func TestGradCheckAttentionOptions(t *testing.T) {
	var cases []gcase
	for _, c := range []struct {
		name string
		o    ssd.Options
	}{
		{"order 3 output norm", ssd.Options{Order: 3, Norm: ssd.NormOutput, Eps: ssd.DefaultEps}},
		{"order 1 scale 1 output norm eps 1e-5", ssd.Options{Order: 1, Scale: 1, Norm: ssd.NormOutput, Eps: 1e-5}},
		{"order 2 scale 0.3 softmax norm", ssd.Options{Order: 2, Scale: 0.3, Norm: ssd.NormSoftmax}},
		{"exp output norm", ssd.Options{Exp: true, Norm: ssd.NormOutput, Eps: ssd.DefaultEps}},
	} {
		c := c
		v := attnVariant{c.name, 2, true, false}
		cases = append(cases, attnCaseWith(c.name, v, 17, func(q, k, val, a *Var) *Var { return Attention(q, k, val, a, c.o) }))
		if !c.o.Exp {
			cases = append(cases, attnCaseWith("chunked(3) "+c.name, v, 17, func(q, k, val, a *Var) *Var { return ChunkedAttention(q, k, val, a, c.o, 3) }))
		}
	}
	runGC(t, cases, 1e-6)
}

// Mixing float32 and float64 in nn's ops and in the ssd primitives they call
// is an ErrDType naming both operands and the conversion to call (one
// check, tensor.CheckDType, for every package).
func TestMixedDTypesNameTheConversion(t *testing.T) {
	x32, x64 := Param(tensor.NewRNG(1).Randn(2, 3)), Param(tensor.NewRNG(2).Randn64(2, 3))
	q := tensor.NewRNG(3).Randn(1, 1, 4, 2)
	a := tensor.NewRNG(4).Rand(-1, 0, 1, 1, 4)
	for _, c := range []struct {
		f    func()
		want string
	}{
		{func() { Add(x32, x64) }, "nn.Add: b: is float64 but a is float32: float32 and float64 do not mix; convert one, e.g. b.As(tensor.Float32)"},
		{func() { MatMul(x64, Transpose(x32, 0, 1)) }, "b.As(tensor.Float64)"},
		{func() { Concat(0, x32, x64) }, "xs[1]: is float64 but xs[0] is float32"},
		{func() { ssd.Quadratic(q, q.As(tensor.Float64), q, a, ssd.TwoMamba.Options()) }, "ssd.Quadratic: k: is float64 but q is float32"},
		{func() { Attention(Const(q), Const(q), Const(q), Const(a.As(tensor.Float64)), ssd.TwoMamba.Options()) }, "a.As(tensor.Float32)"},
	} {
		err := tensor.Catch(c.f)
		if !errors.Is(err, tensor.ErrDType) || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("want an ErrDType containing %q, got %v", c.want, err)
		}
	}
}
