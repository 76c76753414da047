package nn

import (
	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// AttnGrads are the gradients of one attention call: ssd.Grads (DQ, DK,
// DV, and DA w.r.t. the per-step log-decays when there is a mask).
type AttnGrads = ssd.Grads

// Attention is the quadratic (attention) form of spec §e as a graph node,
// per head:
//
//	s_ij = q_i·k_j·scale,  AM_ij = exp(Σ_{u=j+1}^{i} a_u) (1 without a mask),
//	P_ij = f(s_ij)·AM_ij for j ≤ i, 0 for j > i,  f(s) = s^p or eˢ,
//	y = norm(P V)  (none; softmax: y_i = Σ_j P_ij v_j / Σ_j P_ij; output: unit-weight RMSNorm over the merged heads)
//
// q, k (B, H, L, d), v (B, H, L, d_v), a (B, H, L) per-step log-decay or nil
// (no A-mask) → y (B, H, L, d_v), for any o the package ssd takes (order p ≥ 1
// or exp, any scale, every norm). Forward and backward are ssd.Train and
// ssd.Tape.Backward: they run where q, k, v and a live (resident inputs on
// their device, at any L), like every op.
func Attention(q, k, v, a *Var, o ssd.Options) *Var {
	return attention("nn.Attention", q, k, v, a, o, 0)
}

// ChunkedAttention is the chunked (SSD) form of Attention (spec §e.3), for
// every finite order p: the forward is ssd.Chunked from the zero state, the
// backward ssd.ChunkedBackward (chunk by chunk in reverse, the state
// gradient flowing backwards), through ssd.Train. It equals Attention up to
// rounding (tests: ≤ 1e-10 in float64) and costs O(L·(chunk·d + D·d_v)) per
// head, D = C(d+p−1, p), instead of O(L²·d); L need not be a multiple of
// chunk. The exp order has no chunked form.
func ChunkedAttention(q, k, v, a *Var, o ssd.Options, chunk int) *Var {
	if o.Exp {
		tensor.Errorf("nn.ChunkedAttention", "o", "exp attention has no finite feature map: use Attention")
	}
	if chunk < 1 {
		tensor.Errorf("nn.ChunkedAttention", "chunk", "%d must be ≥ 1", chunk)
	}
	return attention("nn.ChunkedAttention", q, k, v, a, o, chunk)
}

// attention is the graph node of Attention (chunk 0) and ChunkedAttention.
func attention(op string, q, k, v, a *Var, o ssd.Options, chunk int) *Var {
	at := valueOf(a)
	attnCheck(q.Value, k.Value, v.Value, at, nil)
	y, tape := ssd.Train(q.Value, k.Value, v.Value, at, o, chunk)
	return NewOp(y, []*Var{q, k, v, a}, func(g *tensor.Tensor) []*tensor.Tensor {
		gr := tape.Backward(g)
		return []*tensor.Tensor{gr.DQ, gr.DK, gr.DV, gr.DA}
	})
}

func valueOf(v *Var) *tensor.Tensor {
	if v == nil {
		return nil
	}
	return v.Value
}

// attnCheck panics naming nn.Attention unless q, k (B, H, L, d), v
// (B, H, L, dv), a (B, H, L) or nil and dO (B, H, L, dv) or nil agree in
// shape and dtype.
func attnCheck(q, k, v, a *tensor.Tensor, dO *tensor.Tensor) {
	const op = "nn.Attention"
	qs := q.Shape()
	tensor.CheckShape(op, "q", qs, "(want (B, H, L, d))", -1, -1, -1, -1)
	B, H, L, d := qs[0], qs[1], qs[2], qs[3]
	tensor.CheckShape(op, "k", k.Shape(), "(same as q)", B, H, L, d)
	tensor.CheckShape(op, "v", v.Shape(), "(want (B, H, L, dv) with q "+tensor.ShapeString(qs)+")", B, H, L, -1)
	if a != nil {
		tensor.CheckShape(op, "a", a.Shape(), "(want (B, H, L) with q "+tensor.ShapeString(qs)+")", B, H, L)
	}
	if dO != nil {
		tensor.CheckShape(op, "dO", dO.Shape(), "(the output's shape)", B, H, L, v.Dim(3))
	}
	for i, t := range []*tensor.Tensor{k, v, a, dO} {
		if t != nil {
			tensor.CheckDType(op, "q", q, [...]string{"k", "v", "a", "dO"}[i], t)
		}
	}
}
