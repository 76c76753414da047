package ssd

import (
	"errors"
	"fmt"

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

// forwardDevice runs t's forward on the device of resident inputs through
// backend.DeviceAttentioner, or returns nil (the CPU runs it, after the
// notice when a device was meant to).
func (t *Tape) forwardDevice() *tensor.Tensor {
	b := deviceFor(t.q, t.k, t.v, t.a)
	if b == nil {
		return nil
	}
	at, ok := b.(backend.DeviceAttentioner)
	why := ""
	switch {
	case !ok:
		why = "the backend has no device attention"
	case t.o.Norm == NormOutput:
		why = "the output norm has no device form here (apply it in the block)"
	case t.chunk > 0 && t.o.Order > 2:
		why = fmt.Sprintf("the chunked form of order %d has no device version (orders 1 and 2 do; the quadratic form takes any order)", t.o.Order)
	}
	if why != "" {
		deviceNotice(t.op, b, why)
		return nil
	}
	dm := t.dm
	t.p = backend.SSDParams{BH: dm.B * dm.H, L: dm.L, D: dm.d, DV: dm.dv, Order: max(t.o.Order, 1), Exp: t.o.Exp,
		Norm: t.o.Norm == NormSoftmax, Scale: float32(t.o.scale(dm.d)), Form: "quadratic"}
	if t.chunk > 0 {
		t.p.Form, t.p.Chunk = "chunked", min(t.chunk, max(dm.L, 1))
	}
	y, err := tensor.DeviceAlloc(b, dm.B, dm.H, dm.L, dm.dv)
	if err != nil {
		tensor.DeviceFail(t.op, err)
	}
	stat, err := tensor.DeviceAlloc(b, dm.B, dm.H, dm.L)
	if err != nil {
		y.Release()
		tensor.DeviceFail(t.op, err)
	}
	_, in, done := tensor.DeviceOperands(t.op, b, t.q, t.k, t.v, t.a)
	yb, _ := y.DeviceBuffer()
	sb, _ := stat.DeviceBuffer()
	err = at.AttentionDevice32(t.p, backend.AttnBuffers{Q: in[0], K: in[1], V: in[2], A: in[3], Y: yb, Stat: sb})
	done()
	if err != nil {
		y.Release()
		stat.Release()
		deviceRefused(t.op, b, err)
		return nil
	}
	if t.o.Exp && t.o.Norm != NormSoftmax { // unnormalised exp can overflow: check, as the CPU does
		if e, ok := b.(backend.DeviceElementwiser); ok {
			if fin, err := e.AllFinite32(yb); err == nil && !fin {
				y.Release()
				stat.Release()
				deviceNotice(t.op, b, "exp attention without a norm overflowed float32")
				return nil // the CPU code runs and reports it (tensor.ErrNotFinite)
			}
		}
	}
	t.b, t.at, t.y, t.stat = b, at, y, stat
	return y
}

// backwardDevice runs the backward on t's device, or reports false when
// the device refused (the CPU runs it then).
func (t *Tape) backwardDevice(dy *tensor.Tensor) (Grads, bool) {
	const op = "ssd.Tape.Backward"
	dm := t.dm
	tensor.CheckShape(op, "dy", dy.Shape(), "(the output's shape (B, H, L, d_v))", dm.B, dm.H, dm.L, dm.dv)
	tensor.SameDevice(op, "q, dy", t.q, dy)
	alloc := func(shape ...int) *tensor.Tensor {
		x, err := tensor.DeviceAlloc(t.b, shape...)
		if err != nil {
			tensor.DeviceFail(op, err)
		}
		return x
	}
	gr := Grads{DQ: alloc(dm.B, dm.H, dm.L, dm.d), DK: alloc(dm.B, dm.H, dm.L, dm.d), DV: alloc(dm.B, dm.H, dm.L, dm.dv)}
	if t.a != nil {
		gr.DA = alloc(dm.B, dm.H, dm.L)
	}
	_, in, done := tensor.DeviceOperands(op, t.b, t.q, t.k, t.v, t.a, t.y, t.stat, dy, gr.DQ, gr.DK, gr.DV, gr.DA)
	err := t.at.AttentionBackwardDevice32(t.p, backend.AttnBuffers{Q: in[0], K: in[1], V: in[2], A: in[3], Y: in[4], Stat: in[5],
		DO: in[6], DQ: in[7], DK: in[8], DV: in[9], DA: in[10]})
	done()
	if err != nil {
		for _, g := range []*tensor.Tensor{gr.DQ, gr.DK, gr.DV, gr.DA} {
			if g != nil {
				g.Release()
			}
		}
		deviceRefused(op, t.b, err)
		return Grads{}, false
	}
	return gr, true
}

// deviceRefused handles a device's refusal of an operation: out of memory
// panics (tensor.ErrMemory), anything else is noticed once and the caller
// runs the CPU code.
func deviceRefused(op string, b backend.Backend, err error) {
	if errors.Is(err, backend.ErrOutOfMemory) {
		tensor.DeviceFail(op, err)
	}
	why := err.Error()
	if errors.Is(err, backend.ErrNotImplemented) {
		why = "not implemented: " + why
	}
	deviceNotice(op, b, why)
}
