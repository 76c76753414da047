package ssd

import (
	"math"
	"strings"
	"testing"

	"github.com/furious-lab/furious/tensor"
)

// TestMemoryEq6 pins Eq. 6: 2Mamba's state equals a softmax KV cache at
// N = (d+1)²/4 + 3/2 = 1057.75 for d = 64 (order 2, conv 2, softmax norm, fp32),
// and Figure 7's 135,392 elements (0.5416 MB) per head.
func TestMemoryEq6(t *testing.T) {
	m := TwoMamba.Memory(64, 4)
	if m.Crossover != 1057.75 {
		t.Errorf("crossover %v, want 1057.75", m.Crossover)
	}
	if m.StateElems != 135392 || m.StateBytes() != 541568 {
		t.Errorf("state %d elements %d bytes, want 135392, 541568", m.StateElems, m.StateBytes())
	}
	if d := 32; TwoMamba.Memory(d, 4).Crossover != float64((d+1)*(d+1))/4+1.5 {
		t.Errorf("crossover formula at d=32: %v", TwoMamba.Memory(d, 4).Crossover)
	}
	s := Softmax.Memory(64, 4)
	if s.KVCacheBytes(1000) != 2*1000*64*4 || !math.IsInf(s.Crossover, 1) {
		t.Errorf("softmax KV cache %d bytes at N=1000", s.KVCacheBytes(1000))
	}
	// the state the code allocates matches the accounting (without the conv cache)
	st := NewState(tensor.Float32, 1, 1, 64, 64, TwoMamba.Options())
	if st.Bytes()+int64(3*64*4) != m.StateBytes() {
		t.Errorf("State.Bytes %d + conv %d != %d", st.Bytes(), 3*64*4, m.StateBytes())
	}
	lin := Mamba2S.Memory(64, 4)
	if lin.StateElems != 64*64+3*64 {
		t.Errorf("linear state %d", lin.StateElems)
	}
}

func TestVariantString(t *testing.T) {
	want := "2Mamba: order 2, scale 1/√d, mask softplus, norm softmax, conv 2, qk none, dt off, D off, Z off"
	if got := TwoMamba.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	for _, v := range Presets() {
		if s := v.String(); strings.Contains(s, "\n") || !strings.HasPrefix(s, v.Name+": ") {
			t.Errorf("%q", s)
		}
	}
}

// TestVariantForms: every preset's Core agrees across its possible forms,
// and the impossible ones fail with a clear error.
func TestVariantForms(t *testing.T) {
	const B, H, L, d = 1, 2, 45, 8
	for _, v := range Presets() {
		in := makeInputs(77, B, H, L, d, d, v.Mask, false, false)
		if v.Mask == MaskNone {
			in.a = nil
		}
		dt := DT(tensor.NewRNG(5).Randn64(B, H, L), nil)
		z := tensor.NewRNG(6).Randn64(B, H, L, d)
		v.Chunk = 16
		want := v.Core(FormQuadratic, in.q, in.k, in.v, in.a, dt, z)
		forms := []Form{FormAuto, FormBlockwise, FormRecurrent, FormChunked}
		for _, f := range forms {
			if v.Exp && (f == FormRecurrent || f == FormChunked) {
				e := mustPanic(t, func() { v.Core(f, in.q, in.k, in.v, in.a, dt, z) })
				if !strings.Contains(e.Error(), "impossible") || !strings.Contains(e.Error(), "no finite state") {
					t.Errorf("%s %s: %q", v.Name, f, e.Error())
				}
				continue
			}
			got := v.Core(f, in.q, in.k, in.v, in.a, dt, z)
			if e := relErr(got, want); e > 1e-10 {
				t.Errorf("%s %s: rel err %.3g", v.Name, f, e)
			}
		}
	}
	e := mustPanic(t, func() {
		Mamba2.Core(FormChunked, tensor.Zeros(1, 1, 4, 4), tensor.Zeros(1, 1, 4, 4), tensor.Zeros(1, 1, 4, 4), tensor.Zeros(1, 1, 4), nil, nil)
	})
	if !strings.Contains(e.Error(), "dt") {
		t.Errorf("missing dt: %q", e.Error())
	}
}

// TestBlockParts: conv formula and its streaming form, V⊙dt, D residual, Z gate.
func TestBlockParts(t *testing.T) {
	x := tensor.NewRNG(1).Randn64(2, 7, 3)
	w := tensor.NewRNG(2).Randn64(3, 3)
	b := tensor.NewRNG(3).Randn64(3)
	for _, act := range []bool{false, true} {
		y := CausalConv1d(x, w, b, act)
		// y[t,c] = b[c] + Σ_κ w[c,κ] x[t−2+κ, c]
		for _, tc := range [][3]int{{1, 0, 2}, {0, 1, 0}, {1, 6, 1}} {
			bb, tt, c := tc[0], tc[1], tc[2]
			s := b.At(c)
			for kk := 0; kk < 3; kk++ {
				if u := tt - 2 + kk; u >= 0 {
					s += w.At(c, kk) * x.At(bb, u, c)
				}
			}
			if act {
				s = s / (1 + math.Exp(-s))
			}
			if math.Abs(y.At(bb, tt, c)-s) > 1e-14 {
				t.Errorf("conv y[%d,%d,%d] = %v, want %v", bb, tt, c, y.At(bb, tt, c), s)
			}
		}
		cs := NewConvState(tensor.Float64, 2, 3, 3)
		if cs.Bytes() != 2*2*3*8 {
			t.Errorf("conv cache %d bytes", cs.Bytes())
		}
		for tt := 0; tt < 7; tt++ {
			xt := tensor.New(tensor.Float64, 2, 3)
			for bb := 0; bb < 2; bb++ {
				for c := 0; c < 3; c++ {
					xt.Set(x.At(bb, tt, c), bb, c)
				}
			}
			yt := cs.Step(xt, w, b, act)
			for bb := 0; bb < 2; bb++ {
				for c := 0; c < 3; c++ {
					if math.Abs(yt.At(bb, c)-y.At(bb, tt, c)) > 1e-14 {
						t.Fatalf("conv step t=%d differs", tt)
					}
				}
			}
		}
	}
	v := tensor.NewRNG(4).Randn64(1, 2, 3, 2)
	dt := tensor.NewRNG(5).Rand64(0, 1, 1, 2, 3)
	vd := DiscretizeValues(v, dt)
	if vd.At(0, 1, 2, 1) != v.At(0, 1, 2, 1)*dt.At(0, 1, 2) {
		t.Errorf("V⊙dt")
	}
	D := tensor.NewRNG(6).Randn64(2, 2)
	y := tensor.NewRNG(7).Randn64(1, 2, 3, 2)
	if r := DResidual(y, v, D); math.Abs(r.At(0, 1, 2, 0)-(y.At(0, 1, 2, 0)+v.At(0, 1, 2, 0)*D.At(1, 0))) > 1e-15 {
		t.Errorf("D residual")
	}
	z := tensor.NewRNG(8).Randn64(1, 2, 3, 2)
	zg := ZGate(y, z)
	if zz := z.At(0, 0, 1, 1); math.Abs(zg.At(0, 0, 1, 1)-y.At(0, 0, 1, 1)*zz/(1+math.Exp(-zz))) > 1e-15 {
		t.Errorf("Z gate")
	}
	rn := RMSNorm(y, nil, 0)
	// mean square over the merged heads of one (b, l) is 1
	ms := 0.0
	for h := 0; h < 2; h++ {
		for c := 0; c < 2; c++ {
			ms += rn.At(0, h, 1, c) * rn.At(0, h, 1, c)
		}
	}
	if math.Abs(ms/4-1) > 1e-14 {
		t.Errorf("RMSNorm mean square %v", ms/4)
	}
	if e := mustPanic(t, func() { CausalConv1d(x, tensor.Zeros64(3, 5), nil, false) }); !strings.Contains(e.Error(), "width 5") {
		t.Errorf("%q", e.Error())
	}
}
