package ssd

import (
	"fmt"
	"math"

	"github.com/furious-lab/furious/tensor"
)

// Act is an elementwise activation (the QK activation of the block).
type Act int

const (
	ActNone Act = iota
	ActReLU
	ActSiLU
)

func (a Act) String() string {
	switch a {
	case ActNone:
		return "none"
	case ActReLU:
		return "relu"
	case ActSiLU:
		return "silu"
	}
	return fmt.Sprintf("Act(%d)", int(a))
}

func silu(x float64) float64 { return x / (1 + math.Exp(-x)) }

func (a Act) f() func(float64) float64 {
	switch a {
	case ActReLU:
		return func(x float64) float64 { return math.Max(x, 0) }
	case ActSiLU:
		return silu
	}
	return nil
}

// Activate returns act(x) elementwise (x itself for ActNone).
func Activate(x *tensor.Tensor, act Act) *tensor.Tensor {
	if act < ActNone || act > ActSiLU {
		tensor.Errorf("ssd.Activate", "act", "is %d, want ActNone, ActReLU or ActSiLU", int(act))
	}
	if act == ActNone {
		return x
	}
	return mapT("ssd.Activate", "x", x, act.f())
}

// SiLU returns x·σ(x) elementwise.
func SiLU(x *tensor.Tensor) *tensor.Tensor { return mapT("ssd.SiLU", "x", x, silu) }

// CausalConv1d is the depthwise causal convolution of the block (spec §d.2)
// over x (B, L, C) with weight w (C, W), W ∈ 1…4, and bias (C) or nil:
// y[t, c] = b[c] + Σ_{κ=0}^{W−1} w[c, κ]·x[t−(W−1)+κ, c] (w[:, W−1] hits the
// current token; zero history), then SiLU when silu is set. → (B, L, C).
func CausalConv1d(x, w, bias *tensor.Tensor, useSiLU bool) *tensor.Tensor {
	const op = "ssd.CausalConv1d"
	checkConv(op, x, w, bias, 3)
	y := tensor.CausalConv1d(x, w, bias) // summed in float64, rounded once; where x lives
	if useSiLU {
		y = tensor.SiLU(y)
	}
	return checkFinite(op, y)
}

func checkConv(op string, x, w, bias *tensor.Tensor, rank int) (C, W int) {
	if x == nil || w == nil {
		tensor.Errorf(op, "x, w", "must not be nil")
	}
	if x.Rank() != rank {
		want := []int{-1, -1, -1}[:rank]
		tensor.CheckShape(op, "x", x.Shape(), "(B, L, C) or (B, C) for a step", want...)
	}
	C = x.Dim(-1)
	if w.Rank() != 2 {
		tensor.CheckShape(op, "w", w.Shape(), "(C, width)", C, -1)
	}
	tensor.CheckShape(op, "w", w.Shape(), "(C of x, width)", C, -1)
	W = w.Dim(1)
	if W < 1 || W > 4 {
		tensor.Errorf(op, "w", "width %d, want 1…4", W)
	}
	if bias != nil {
		tensor.CheckShape(op, "bias", bias.Shape(), "(C of x)", C)
	}
	return C, W
}

// ConvState caches the last W−1 inputs of a causal convolution for decoding
// ((W−1)·C values per batch row; C = 3·H·d for the fused QKV of the block).
type ConvState struct {
	B, C, W int
	hist    *tensor.Tensor // (B, W−1, C), oldest first
}

// NewConvState returns the zero history for x (B, ·, C) and width W.
func NewConvState(dtype tensor.DType, B, C, W int) *ConvState {
	if W < 1 || W > 4 {
		tensor.Errorf("ssd.NewConvState", "W", "is %d, want 1…4", W)
	}
	return &ConvState{B: B, C: C, W: W, hist: tensor.New(dtype, B, W-1, C)}
}

// Bytes is the cache memory: B·(W−1)·C elements.
func (s *ConvState) Bytes() int64 { return s.hist.Bytes() }

// Step convolves one token x (B, C) with w (C, W) and bias, returning (B, C),
// and shifts x into the history; equal to CausalConv1d on the whole sequence.
func (s *ConvState) Step(x, w, bias *tensor.Tensor, useSiLU bool) *tensor.Tensor {
	const op = "ssd.ConvState.Step"
	C, W := checkConv(op, x, w, bias, 2)
	tensor.CheckShape(op, "x", x.Shape(), "(B, C of the state)", s.B, s.C)
	if W != s.W {
		tensor.Errorf(op, "w", "width %d, the state was made for %d", W, s.W)
	}
	xd, wd, hd := x.Data(), w.Data(), s.hist.Data()
	var bd []float64
	if bias != nil {
		bd = bias.Data()
	}
	out := tensor.New(x.DType(), s.B, C)
	for b := 0; b < s.B; b++ {
		for c := 0; c < C; c++ {
			v := 0.0
			if bd != nil {
				v = bd[c]
			}
			for kk := 0; kk < W-1; kk++ {
				v += wd[c*W+kk] * hd[(b*(W-1)+kk)*C+c]
			}
			v += wd[c*W+W-1] * xd[b*C+c]
			if useSiLU {
				v = silu(v)
			}
			out.Set(v, b, c)
		}
		for kk := 0; kk < W-1; kk++ { // shift the history left, append x
			for c := 0; c < C; c++ {
				nv := xd[b*C+c]
				if kk+1 < W-1 {
					nv = hd[(b*(W-1)+kk+1)*C+c]
				}
				s.hist.Set(nv, b, kk, c)
			}
		}
	}
	return checkFinite(op, out)
}

// DiscretizeValues returns v ⊙ dt: v (B, H, L, d_v), dt (B, H, L).
func DiscretizeValues(v, dt *tensor.Tensor) *tensor.Tensor {
	const op = "ssd.DiscretizeValues"
	if v == nil || dt == nil || v.Rank() != 4 {
		tensor.Errorf(op, "v, dt", "need v (B, H, L, d_v) and dt (B, H, L)")
	}
	s := v.Shape()
	tensor.CheckShape(op, "dt", dt.Shape(), "(B, H, L of v)", s[0], s[1], s[2])
	dd := dt.Data()
	i := 0
	return mapT(op, "v", v, func(x float64) float64 {
		r := x * dd[i/s[3]]
		i++
		return r
	})
}

// DResidual returns y + v ⊙ D: y, v (B, H, L, d_v), D (H, d_v) or nil (ones,
// the initial value of the parameter).
func DResidual(y, v, D *tensor.Tensor) *tensor.Tensor {
	const op = "ssd.DResidual"
	if y == nil || v == nil || y.Rank() != 4 {
		tensor.Errorf(op, "y, v", "need y and v (B, H, L, d_v)")
	}
	s := y.Shape()
	tensor.CheckShape(op, "v", v.Shape(), "(same as y)", s...)
	var dd []float64
	if D != nil {
		tensor.CheckShape(op, "D", D.Shape(), "(H, d_v of y)", s[1], s[3])
		dd = D.Data()
	}
	vd := v.Data()
	i := 0
	return mapT(op, "y", y, func(x float64) float64 {
		g := 1.0
		if dd != nil {
			h, c := (i/(s[2]*s[3]))%s[1], i%s[3]
			g = dd[h*s[3]+c]
		}
		r := x + vd[i]*g
		i++
		return r
	})
}

// ZGate returns y ⊙ silu(z): y, z (B, H, L, d_v), z the gate pre-activation.
func ZGate(y, z *tensor.Tensor) *tensor.Tensor {
	const op = "ssd.ZGate"
	if y == nil || z == nil {
		tensor.Errorf(op, "y, z", "must not be nil")
	}
	tensor.CheckShape(op, "z", z.Shape(), "(same as y)", y.Shape()...)
	zd := z.Data()
	i := 0
	return mapT(op, "y", y, func(x float64) float64 {
		r := x * silu(zd[i])
		i++
		return r
	})
}
