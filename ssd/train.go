package ssd

import (
	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/tensor"
)

// Tape is what a training forward pass (Train) keeps for its backward pass:
// the inputs, the options and the form, and on a device the output y and
// its row statistic (backend.AttnBuffers' Stat), so that the backward
// rebuilds P without an L×L matrix and without a second forward.
type Tape struct {
	op         string
	q, k, v, a *tensor.Tensor
	o          Options
	chunk      int // 0: the quadratic form; > 0: chunked with chunks of chunk steps
	dm         dims
	// On a device (nil on the CPU):
	b       backend.Backend
	at      backend.DeviceAttentioner
	p       backend.SSDParams
	y, stat *tensor.Tensor
}

// Train is the forward pass of the core attention for training, with its
// tape for Tape.Backward: Quadratic (chunk 0) or Chunked from the zero
// state (chunk > 0, finite orders) of q, k (B, H, L, d), v (B, H, L, d_v),
// a (B, H, L) or nil → y (B, H, L, d_v). Like every form it runs where its
// inputs live: resident float32 inputs run on their device's
// backend.DeviceAttentioner (the quadratic form at any L for orders p ≥ 1
// and exp, the chunked form for orders 1 and 2; nothing is read back but
// one float checking exp attention without a norm for overflow), and y
// stays there; what the device lacks (the
// output norm, d or d_v above its limit) runs on the CPU after tensor's
// one-time notice, its results moved back to the device.
func Train(q, k, v, a *tensor.Tensor, o Options, chunk int) (*tensor.Tensor, *Tape) {
	op := "ssd.Train"
	o.check(op)
	if chunk < 0 || (chunk > 0 && o.Exp) {
		tensor.Errorf(op, "chunk", "is %d: want 0 (quadratic) or ≥ 1 for a finite order (exp has no chunked form)", chunk)
	}
	dm := checkInputs(op, q, k, v, a)
	t := &Tape{op: op, q: q, k: k, v: v, a: a, o: o, chunk: chunk, dm: dm}
	if y := t.forwardDevice(); y != nil {
		return y, t
	}
	if chunk > 0 {
		y, _ := Chunked(q, k, v, a, o, chunk, nil)
		return y, t
	}
	return Quadratic(q, k, v, a, o), t
}

// Backward returns the gradients of the forward pass that made t for the
// output gradient dy (B, H, L, d_v): on the device when the forward ran
// there, else QuadraticBackward or ChunkedBackward (see Grads; the device
// fills DQ, DK, DV and DA only).
func (t *Tape) Backward(dy *tensor.Tensor) Grads {
	if t.at != nil {
		if gr, ok := t.backwardDevice(dy); ok {
			return gr
		}
	}
	var gr Grads
	if t.chunk > 0 {
		gr = ChunkedBackward(t.q, t.k, t.v, t.a, t.o, t.chunk, dy)
	} else {
		gr = QuadraticBackward(t.q, t.k, t.v, t.a, t.o, dy)
	}
	for _, g := range []**tensor.Tensor{&gr.DQ, &gr.DK, &gr.DV, &gr.DA} {
		*g = (*g).OnDeviceOf(t.q, t.k, t.v, t.a, dy)
	}
	return gr
}
