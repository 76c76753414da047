package ssd

import (
	"fmt"
	"testing"

	"github.com/furious-lab/furious/tensor"
)

// recurrentTol is the float32 Recurrent and State.Step bound against the
// float64 oracle fed the same float32-rounded inputs (measured ≤ 5e-8; the
// float32 state alone, before the residual lo, gave up to 0.42).
const recurrentTol = 1e-6

// accuracyCase is one row of the Accuracy table in doc.go.
type accuracyCase struct {
	order  int
	exp    bool
	norm   Norm
	L      int
	strong bool
}

// recurrentErrors returns the relative errors of float32 Recurrent and of
// State.Step (KVCache.Step for exp) token by token against the float64
// oracle: Quadratic for L ≤ 2048, above it float64 Chunked (within 1e-10
// of Quadratic, TestFormsAgree64) to keep the oracle's L×L matrix out of
// memory. B = 1, H = 2, d = d_v = 16, the softplus mask (strong: a ≈ −20).
func recurrentErrors(c accuracyCase) (rec, step float64) {
	const B, H, d, dv = 1, 2, 16, 16
	o := Options{Order: c.order, Exp: c.exp, Norm: c.norm, Eps: DefaultEps}
	pos := c.norm == NormSoftmax && c.order%2 == 1 && !c.exp
	in64 := makeInputs(uint64(1000+c.L+c.order), B, H, c.L, d, dv, MaskSoftplus, pos, c.strong).round()
	in32 := in64.as(tensor.Float32)
	var want *tensor.Tensor
	if c.L <= 2048 || c.exp {
		want = Quadratic(in64.q, in64.k, in64.v, in64.a, o)
	} else {
		want, _ = Chunked(in64.q, in64.k, in64.v, in64.a, o, DefaultChunk, nil)
	}
	if c.exp {
		return -1, relErr(kvSteps(in32, o), want)
	}
	y, _ := Recurrent(in32.q, in32.k, in32.v, in32.a, o, nil)
	return relErr(y, want), relErr(byStep(in32, o), want)
}

// kvSteps runs KVCache.Step token by token (exp attention's recurrent form).
func kvSteps(in inputs, o Options) *tensor.Tensor {
	s := in.q.Shape()
	B, H, L, d, dv := s[0], s[1], s[2], s[3], in.v.Dim(3)
	c := NewKVCache(in.q.DType(), B, H, d, dv, o)
	y := tensor.New(in.q.DType(), B, H, L, dv)
	for t := 0; t < L; t++ {
		yt := c.Step(sliceT(in.q, t, t+1).Reshape(B, H, d), sliceT(in.k, t, t+1).Reshape(B, H, d),
			sliceT(in.v, t, t+1).Reshape(B, H, dv), sliceT(in.a, t, t+1).Reshape(B, H))
		for bh := 0; bh < B*H; bh++ {
			for ch := 0; ch < dv; ch++ {
				y.Set(yt.At(0, bh, ch), 0, bh, t, ch)
			}
		}
	}
	return y
}

// TestRecurrentAccuracy32 holds float32 Recurrent and State.Step within
// recurrentTol of the float64 oracle: order 2 with softmax norm at L = 1,
// 200, 2048, 8192 (8192 skipped with -short), normal and strong decay, and
// orders 1, 3, exp (its KV cache) and the other norms at L ≤ 2048. It logs
// the rows of doc.go's table (go test -run RecurrentAccuracy32 -v).
func TestRecurrentAccuracy32(t *testing.T) {
	var cases []accuracyCase
	for _, L := range []int{1, 200, 2048, 8192} {
		if L == 8192 && testing.Short() {
			continue
		}
		for _, strong := range []bool{false, true} {
			cases = append(cases, accuracyCase{order: 2, norm: NormSoftmax, L: L, strong: strong})
		}
	}
	for _, strong := range []bool{false, true} {
		cases = append(cases,
			accuracyCase{order: 2, norm: NormNone, L: 2048, strong: strong},
			accuracyCase{order: 2, norm: NormOutput, L: 2048, strong: strong},
			accuracyCase{order: 1, norm: NormSoftmax, L: 2048, strong: strong},
			accuracyCase{order: 3, norm: NormSoftmax, L: 512, strong: strong},
			accuracyCase{exp: true, norm: NormSoftmax, L: 512, strong: strong})
	}
	for _, c := range cases {
		rec, step := recurrentErrors(c)
		name := fmt.Sprintf("p%d", c.order)
		if c.exp {
			name = "exp"
		}
		t.Logf("%s %s L=%d strong=%v: Recurrent %.1e, Step %.1e", name, c.norm, c.L, c.strong, rec, step)
		if rec > recurrentTol || step > recurrentTol {
			t.Errorf("%s %s L=%d strong=%v: Recurrent %.3g, Step %.3g > %g", name, c.norm, c.L, c.strong, rec, step, recurrentTol)
		}
	}
}
