package nn

import (
	"math"
	"testing"

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
	{"C.1 linear", OrderLinear, false, false},
	{"C.2 linear+smnorm", OrderLinear, false, true},
	{"C.3 linear+Amask", OrderLinear, true, false},
	{"linear+Amask+smnorm", OrderLinear, true, true},
	{"squared", OrderSquared, false, false},
	{"squared+smnorm", OrderSquared, false, true},
	{"C.4 squared+Amask", OrderSquared, true, false},
	{"C.5 2Mamba (corrected)", OrderSquared, true, true},
	{"exp (no norm)", OrderExp, false, false},
	{"exp+smnorm (softmax)", OrderExp, false, true},
	{"exp+Amask", OrderExp, true, false},
	{"C.6 2Mamba-E", OrderExp, true, true},
}

const aB, aH, aL, aD, aDV = 2, 2, 7, 4, 3

// attnInputs returns q, k (B, H, L, d), v (B, H, L, dv), a (B, H, L) in float64.
// Linear attention with softmax norm needs a positive score image (spec §c:
// ReLU features), so its q and k are drawn positive.
func attnInputs(v attnVariant, seed uint64) []*tensor.Tensor {
	q, k := tensor.Randn64(seed, aB, aH, aL, aD), tensor.Randn64(seed+1, aB, aH, aL, aD)
	if v.order == OrderLinear && v.norm {
		q, k = tensor.Rand64(seed, 0.1, 1, aB, aH, aL, aD), tensor.Rand64(seed+1, 0.1, 1, aB, aH, aL, aD)
	}
	return []*tensor.Tensor{q, k, tensor.Randn64(seed+2, aB, aH, aL, aDV), tensor.Rand64(seed+3, -1.5, -0.05, aB, aH, aL)}
}

func attnCase(v attnVariant) gcase {
	return attnCaseWith(v.name, v, 11, func(q, k, val, a *Var) *Var { return Attention(q, k, val, a, v.order, v.norm) })
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
					case OrderSquared:
						f = sc * sc
					case OrderExp:
						f = math.Exp(sc)
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
		got := AttentionForward(in[0], in[1], in[2], a, v.order, v.norm)
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
		dO := tensor.Randn64(99, aB, aH, aL, aDV)
		gr := AttentionBackward(in[0], in[1], in[2], in[3], v.order, v.norm, dO)
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
	v := attnVariant{"C.5", OrderSquared, true, true}
	in := attnInputs(v, 31)
	dO := tensor.Randn64(7, aB, aH, aL, aDV)
	gr := AttentionBackward(in[0], in[1], in[2], in[3], v.order, v.norm, dO)
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
		"k":     func() { AttentionForward(q, tensor.Zeros64(1, 2, 4, 4), q, nil, 1, false) },
		"a":     func() { AttentionForward(q, q, q, tensor.Zeros64(1, 2, 5), 1, false) },
		"order": func() { AttentionForward(q, q, q, nil, 3, false) },
		"dtype": func() { AttentionForward(q, q, tensor.Zeros(1, 2, 4, 8), nil, 1, false) },
	} {
		if err := tensor.Catch(f); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
