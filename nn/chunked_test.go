package nn

import (
	"fmt"
	"math"
	"testing"

	"github.com/furious-lab/furious/tensor"
)

// The chunked form equals the quadratic form, forward and backward, for
// orders 1 and 2 × mask × norm and chunk sizes that divide L, do not, are
// 1, and exceed L.
func TestChunkedMatchesQuadratic(t *testing.T) {
	worstF, worstG := 0.0, 0.0
	for _, v := range attnVariants {
		if v.order == orderExp {
			continue
		}
		for _, Q := range []int{1, 3, 7, 16} {
			in := attnInputs(v, 41)
			a := in[3]
			if !v.masked {
				a = nil
			}
			want := quadF(in[0], in[1], in[2], a, v.order, v.norm)
			got := chunkF(in[0], in[1], in[2], a, v.order, v.norm, Q)
			ef := RelErr(got, want)
			dO := tensor.NewRNG(8).Randn64(aB, aH, aL, aDV)
			gq := quadB(in[0], in[1], in[2], a, v.order, v.norm, dO)
			gc := chunkB(in[0], in[1], in[2], a, v.order, v.norm, Q, dO)
			eg := math.Max(RelErr(gc.DQ, gq.DQ), math.Max(RelErr(gc.DK, gq.DK), RelErr(gc.DV, gq.DV)))
			if a != nil {
				eg = math.Max(eg, RelErr(gc.DA, gq.DA))
			}
			worstF, worstG = math.Max(worstF, ef), math.Max(worstG, eg)
			if !(ef < 1e-13) || !(eg < 1e-12) {
				t.Errorf("%s chunk %d: forward rel err %v, gradients %v", v.name, Q, ef, eg)
			}
		}
	}
	t.Logf("chunked vs quadratic (orders 1, 2; 8 variants × chunks 1, 3, 7, 16 at L = %d): forward %.2e, gradients %.2e", aL, worstF, worstG)
}

func TestGradCheckChunked(t *testing.T) {
	var cases []gcase
	for _, v := range attnVariants {
		if v.order == orderExp {
			continue
		}
		v := v
		cases = append(cases, attnCaseWith(fmt.Sprintf("chunked(3) %s", v.name), v, 13, func(q, k, val, a *Var) *Var {
			return ChunkedAttention(q, k, val, a, opts(v.order, v.norm), 3)
		}))
	}
	runGC(t, cases, 1e-6)
	f32vs64(t, cases, 1e-4)
}

func TestChunkedRejectsExp(t *testing.T) {
	q := tensor.Zeros64(1, 1, 4, 2)
	if err := tensor.Catch(func() { ChunkedAttention(Const(q), Const(q), Const(q), nil, opts(orderExp, true), 2) }); err == nil {
		t.Fatal("orderExp accepted by the chunked form")
	} else {
		t.Log(err)
	}
}

// A longer sequence with several full chunks and a ragged tail.
func TestChunkedLong(t *testing.T) {
	q, k := tensor.NewRNG(1).Randn64(1, 2, 70, 8), tensor.NewRNG(2).Randn64(1, 2, 70, 8)
	v, a := tensor.NewRNG(3).Randn64(1, 2, 70, 5), tensor.NewRNG(4).Rand64(-0.3, 0, 1, 2, 70)
	dO := tensor.NewRNG(5).Randn64(1, 2, 70, 5)
	for _, order := range []int{1, 2, 3} {
		for _, norm := range []bool{false, true} {
			if order%2 == 1 && norm {
				continue // needs a positive score image
			}
			want := quadF(q, k, v, a, order, norm)
			gq := quadB(q, k, v, a, order, norm, dO)
			for _, Q := range []int{16, 5} {
				got := chunkF(q, k, v, a, order, norm, Q)
				gc := chunkB(q, k, v, a, order, norm, Q, dO)
				ef := RelErr(got, want)
				eg := math.Max(math.Max(RelErr(gc.DQ, gq.DQ), RelErr(gc.DK, gq.DK)), math.Max(RelErr(gc.DV, gq.DV), RelErr(gc.DA, gq.DA)))
				t.Logf("order %d norm %v chunk %d, L 70: forward %.2e gradients %.2e", order, norm, Q, ef, eg)
				if !(ef < 1e-12) || !(eg < 1e-11) {
					t.Errorf("order %d norm %v chunk %d: forward %v gradients %v", order, norm, Q, ef, eg)
				}
			}
		}
	}
}

// Float32 chunked = float64 quadratic at L = 512 with realistic decays
// (a = −softplus(x), x ~ N(0, 1)), forward and gradients within 1e-4.
func TestChunkedFloat32Long(t *testing.T) {
	const L = 512
	q, k := tensor.NewRNG(1).Randn64(1, 2, L, 16), tensor.NewRNG(2).Randn64(1, 2, L, 16)
	v, x := tensor.NewRNG(3).Randn64(1, 2, L, 16), tensor.NewRNG(4).Randn64(1, 2, L)
	a := tensor.Neg(tensor.Softplus(x))
	dO := tensor.NewRNG(5).Randn64(1, 2, L, 16)
	f32 := func(t *tensor.Tensor) *tensor.Tensor { return t.As(tensor.Float32) }
	want := quadF(q, k, v, a, 2, true)
	gq := quadB(q, k, v, a, 2, true, dO)
	got := chunkF(f32(q), f32(k), f32(v), f32(a), 2, true, 64)
	gc := chunkB(f32(q), f32(k), f32(v), f32(a), 2, true, 64, f32(dO))
	ef := RelErr(got, want)
	eg := math.Max(math.Max(RelErr(gc.DQ, gq.DQ), RelErr(gc.DK, gq.DK)), math.Max(RelErr(gc.DV, gq.DV), RelErr(gc.DA, gq.DA)))
	t.Logf("2Mamba L %d chunk 64: float32 chunked vs float64 quadratic: forward %.2e, gradients %.2e", L, ef, eg)
	if !(ef < 1e-4) || !(eg < 1e-4) {
		t.Errorf("float32 chunked: forward %v gradients %v", ef, eg)
	}
}

// A softmax-norm row whose denominator is exactly 0 outputs 0 (ssd's
// policy) and passes no gradient, in the quadratic and the chunked form.
func TestZeroDenominatorRow(t *testing.T) {
	q := tensor.FromFloat64([]float64{1, 0, 1, 1}, 1, 1, 2, 2) // q_0·k_0 = 0: row 0 has Σ_j P_0j = 0
	k := tensor.FromFloat64([]float64{0, 1, 1, 1}, 1, 1, 2, 2)
	v := tensor.FromFloat64([]float64{3, 4, 5, 6}, 1, 1, 2, 2)
	dO := tensor.FromFloat64([]float64{1, 1, 0, 0}, 1, 1, 2, 2) // gradient on row 0 only
	for _, chunk := range []int{0, 1, 2} {
		var y *tensor.Tensor
		var g AttnGrads
		if chunk == 0 {
			y, g = quadF(q, k, v, nil, 1, true), quadB(q, k, v, nil, 1, true, dO)
		} else {
			y, g = chunkF(q, k, v, nil, 1, true, chunk), chunkB(q, k, v, nil, 1, true, chunk, dO)
		}
		if yd := y.Float64s(); yd[0] != 0 || yd[1] != 0 || yd[2] == 0 {
			t.Errorf("chunk %d: y = %v, want row 0 zero and row 1 not", chunk, yd)
		}
		for name, d := range map[string]*tensor.Tensor{"dQ": g.DQ, "dK": g.DK, "dV": g.DV} {
			for _, x := range d.Float64s() {
				if x != 0 {
					t.Errorf("chunk %d: %s = %v, want 0", chunk, name, d.Float64s())
					break
				}
			}
		}
	}
}
