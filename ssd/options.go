package ssd

import (
	"fmt"
	"math"

	"github.com/furious-lab/furious/tensor"
)

// Norm selects the normalisation of the attention output (spec §c).
type Norm int

const (
	// NormNone: y = P V, no denominator.
	NormNone Norm = iota
	// NormOutput: y = P V, then RMSNorm over the merged heads (B, L, H·d_v)
	// with weight 1 and Options.Eps (the block applies the learned weight).
	NormOutput
	// NormSoftmax: y_i = Σ_j P_ij v_j / Σ_j P_ij. Zero-denominator policy:
	// a row whose denominator is exactly 0 outputs zeros (0/0 := 0), in every
	// form. (The 2Mamba torch path outputs the unnormalised sum instead and
	// its kernels floor the denominator at 1e-8 or 1e-12.)
	NormSoftmax
)

func (n Norm) String() string {
	switch n {
	case NormNone:
		return "none"
	case NormOutput:
		return "output"
	case NormSoftmax:
		return "softmax"
	}
	return fmt.Sprintf("Norm(%d)", int(n))
}

// DefaultEps is the RMSNorm epsilon of the 2Mamba code: torch.finfo(float32).eps.
const DefaultEps = 1.1920928955078125e-07

// Options configure the core attention y = norm(f(Q Kᵀ·scale) ⊙ AM ⊙ M · V).
type Options struct {
	Order int     // p ≥ 1: f(s) = s^p; ignored when Exp
	Exp   bool    // f(s) = exp(s) (softmax attention, 2Mamba-E / FoX): no finite state
	Scale float64 // s = q·k·Scale, applied before the power; 0 means 1/√d
	Norm  Norm    // NormNone, NormOutput, NormSoftmax
	Eps   float64 // RMSNorm epsilon for NormOutput (DefaultEps in the presets)
}

func (o Options) String() string {
	f := fmt.Sprintf("order %d", o.Order)
	if o.Exp {
		f = "exp"
	}
	sc := "1/√d"
	if o.Scale != 0 {
		sc = fmt.Sprintf("%g", o.Scale)
	}
	return fmt.Sprintf("%s scale %s norm %s", f, sc, o.Norm)
}

// scale returns the score scale for head dimension d.
func (o Options) scale(d int) float64 {
	if o.Scale != 0 {
		return o.Scale
	}
	return 1 / math.Sqrt(float64(d))
}

func (o Options) check(op string) {
	if !o.Exp && o.Order < 1 {
		tensor.Errorf(op, "Order", "is %d, want ≥ 1 (or Exp)", o.Order)
	}
	if o.Norm < NormNone || o.Norm > NormSoftmax {
		tensor.Errorf(op, "Norm", "is %d, want NormNone, NormOutput or NormSoftmax", int(o.Norm))
	}
	if math.IsNaN(o.Scale) || math.IsInf(o.Scale, 0) {
		tensor.Errorf(op, "Scale", "is %v", o.Scale)
	}
}

// dims holds the sizes of one call: q, k (B, H, L, d), v (B, H, L, dv).
type dims struct{ B, H, L, d, dv int }

// checkInputs validates q, k, v (B, H, L, d|dv) and a (B, H, L) or nil.
func checkInputs(op string, q, k, v, a *tensor.Tensor) dims {
	if q == nil || k == nil || v == nil {
		tensor.Errorf(op, "q, k, v", "must not be nil")
	}
	tensor.SameDevice(op, "q, k, v, a", q, k, v, a)
	if q.Rank() != 4 {
		tensor.CheckShape(op, "q", q.Shape(), "(B, H, L, d)", -1, -1, -1, -1)
	}
	s := q.Shape()
	dm := dims{B: s[0], H: s[1], L: s[2], d: s[3]}
	tensor.CheckShape(op, "k", k.Shape(), "(same as q)", s...)
	if v.Rank() != 4 {
		tensor.CheckShape(op, "v", v.Shape(), "(B, H, L, d_v)", s[0], s[1], s[2], -1)
	}
	tensor.CheckShape(op, "v", v.Shape(), "(batch, heads and length of q)", s[0], s[1], s[2], -1)
	dm.dv = v.Dim(3)
	if a != nil {
		tensor.CheckShape(op, "a", a.Shape(), "(log-decay per step: B, H, L of q)", s[0], s[1], s[2])
	}
	sameDType(op, q, []string{"k", "v", "a"}, k, v, a)
	if dm.d == 0 {
		tensor.Errorf(op, "q", "has head dimension 0")
	}
	return dm
}
