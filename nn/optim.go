package nn

import (
	"math"

	"github.com/furious-lab/furious/tensor"
)

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter), as in
// PyTorch's torch.optim.AdamW. For each parameter p with gradient g at step t:
//
//	p ← p − lr·λ·p                       (decoupled decay, only if Decay(p))
//	m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²
//	p ← p − lr · (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)
//
// The moments are kept in float64 whatever the parameter dtype on the CPU,
// and in float32 beside a parameter resident on a device; each parameter is
// updated in one fused pass (tensor.AdamW), where it lives. Parameters with a
// nil Grad are skipped (their step count still advances).
type AdamW struct {
	Params      []*Var
	LR          float64 // learning rate used by Step; StepLR overrides it
	Beta1       float64 // 0.9
	Beta2       float64 // 0.999 (the paper's LM runs commonly use 0.95)
	Eps         float64 // 1e-8
	WeightDecay float64 // λ, 0.01
	// Decay reports whether p is decayed; nil means "rank ≥ 2 only"
	// (matrices and embeddings, not norms' weights and biases).
	Decay func(p *Var) bool
	T     int // steps taken

	m, v []*tensor.Tensor // float64 moments, one per parameter (nil until its first gradient)
}

// NewAdamW returns AdamW over params with lr and PyTorch's defaults
// (β = (0.9, 0.999), ε = 1e-8, λ = 0.01).
func NewAdamW(params []*Var, lr float64) *AdamW {
	return &AdamW{Params: params, LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
}

// Step applies one update with o.LR.
func (o *AdamW) Step() { o.StepLR(o.LR) }

// StepLR applies one update with learning rate lr (from a Schedule).
func (o *AdamW) StepLR(lr float64) {
	if o.m == nil {
		o.m, o.v = make([]*tensor.Tensor, len(o.Params)), make([]*tensor.Tensor, len(o.Params))
	}
	o.T++
	for i, p := range o.Params {
		if p.Grad == nil {
			continue
		}
		if o.m[i] == nil {
			o.m[i], o.v[i] = moments(p.Value), moments(p.Value)
		}
		wd := 0.0
		if (o.Decay == nil && p.Value.Rank() >= 2) || (o.Decay != nil && o.Decay(p)) {
			wd = o.WeightDecay
		}
		tensor.AdamW(p.Value, p.Grad, o.m[i], o.v[i], lr, o.Beta1, o.Beta2, o.Eps, wd, o.T)
	}
}

// ZeroGrad drops the gradients of all parameters.
func (o *AdamW) ZeroGrad() { ZeroGrads(o.Params) }

// ZeroGrads drops the gradients of params.
func ZeroGrads(params []*Var) {
	for _, p := range params {
		p.Grad = nil
	}
}

// SGD is plain gradient descent p ← p − lr·g (a baseline and for tests).
func SGD(params []*Var, lr float64) {
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		tensor.Axpy(-lr, p.Grad, p.Value)
	}
}

// GradNorm returns the global L2 norm √(Σ_p ‖g_p‖²) over params with a Grad
// (tensor.SumSquares: on a device, one dispatch per gradient and one read).
func GradNorm(params []*Var) float64 {
	gs := make([]*tensor.Tensor, 0, len(params))
	for _, p := range params {
		if p.Grad != nil {
			gs = append(gs, p.Grad)
		}
	}
	return math.Sqrt(tensor.SumSquares(gs...))
}

// ClipGradNorm scales every gradient by min(1, maxNorm/‖g‖) where ‖g‖ is
// the global norm, and returns ‖g‖ before clipping. maxNorm ≤ 0 only
// measures.
func ClipGradNorm(params []*Var, maxNorm float64) float64 {
	n := GradNorm(params)
	if maxNorm > 0 && n > maxNorm {
		c := maxNorm / n
		for _, p := range params {
			if p.Grad != nil {
				p.Grad = tensor.Scale(p.Grad, c)
			}
		}
	}
	return n
}

// Schedule is linear warm-up then linear decay (the paper's schedule):
// lr(t) = Peak·t/Warmup for t < Warmup, then falls linearly from Peak at
// t = Warmup to Final at t = Total, and stays at Final after.
type Schedule struct {
	Peak   float64
	Final  float64
	Warmup int
	Total  int
}

// LR returns the learning rate for step t (0-based).
func (s Schedule) LR(t int) float64 {
	if t < s.Warmup {
		return s.Peak * float64(t+1) / float64(s.Warmup)
	}
	if t >= s.Total || s.Total <= s.Warmup {
		return s.Final
	}
	f := float64(t-s.Warmup) / float64(s.Total-s.Warmup)
	return s.Peak + (s.Final-s.Peak)*f
}
