package ssd

import (
	"errors"
	"fmt"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/tensor"
)

// Device dispatch of the quadratic and chunked forms (see "Devices" in
// doc.go), by tensor's one rule: a float32 call runs where its inputs live.
// When they are resident on a device (tensor's To("gpu"), or placed there by
// tensor.SetDevice) the call runs on that device and its results stay
// there; host inputs run on the CPU. The backend must implement
// backend.DeviceSSD; options it lacks run on the CPU after a one-time
// notice, and their results move back to the device.

// deviceRun is one SSD call placed on a device.
type deviceRun struct {
	b    backend.Backend
	ssd  backend.DeviceSSD
	bufs []backend.DeviceBuffer // q, k, v, a (nil when a is nil)
	done func()                 // frees the uploads of host inputs
	p    backend.SSDParams
	dm   dims
}

// deviceFor returns the device a float32 call runs on: that of its
// resident inputs, or nil for host inputs (and float64). Inputs on two
// devices panic with tensor.ErrDevice naming both.
func deviceFor(q, k, v, a *tensor.Tensor) backend.Backend {
	if q.DType() != tensor.Float32 {
		return nil
	}
	return tensor.ResidentBackend(q, k, v, a)
}

// deviceNotice writes the one-time notice that op runs on the CPU rather
// than on b, and why.
func deviceNotice(op string, b backend.Backend, why string) {
	tensor.Notice("ssd/"+b.Name()+"/"+op+"/"+why, fmt.Sprintf("%s on %s: %s; running it on the cpu (the resident inputs are copied to the host, and the results moved back)", op, b.Name(), why))
}

// residentNotice writes the notice for a form without a device version
// (Recurrent, Blockwise) called on resident inputs: they are read back and
// the form runs on the CPU.
func residentNotice(op string, q, k, v, a *tensor.Tensor) {
	if b := tensor.ResidentBackend(q, k, v, a); b != nil {
		deviceNotice(op, b, "this form has no device version")
	}
}

// planDevice returns the device run of op in form ("quadratic", "chunked"
// or "auto"), or nil when it runs on the CPU (after the notice when a
// device was meant to run it).
func planDevice(op, form string, q, k, v, a *tensor.Tensor, o Options, dm dims, chunk int) *deviceRun {
	b := deviceFor(q, k, v, a)
	if b == nil {
		return nil
	}
	why := ""
	ds, ok := b.(backend.DeviceSSD)
	switch {
	case !ok:
		why = "the backend has no device SSD"
	case o.Exp:
		why = "exp (softmax) attention has no device form here"
	case o.Order != 1 && o.Order != 2:
		why = fmt.Sprintf("order %d has no device form (orders 1 and 2 do)", o.Order)
	}
	if why != "" {
		deviceNotice(op, b, why)
		return nil
	}
	p := backend.SSDParams{BH: dm.B * dm.H, L: dm.L, D: dm.d, DV: dm.dv, Order: o.Order, Exp: o.Exp,
		Norm: o.Norm == NormSoftmax, Scale: float32(o.scale(dm.d)), Form: form, Chunk: min(chunk, max(dm.L, 1))}
	_, bufs, done := tensor.DeviceOperands(op, b, q, k, v, a)
	if bufs == nil {
		deviceNotice(op, b, "the backend keeps no data on its device")
		return nil
	}
	return &deviceRun{b: b, ssd: ds, bufs: bufs, done: done, p: p, dm: dm}
}

// fail handles a device error: out of memory panics (tensor.ErrMemory),
// anything else is noticed and the caller runs the CPU code.
func (r *deviceRun) fail(op string, err error) {
	r.done()
	deviceRefused(op, r.b, err)
}

// alloc returns a resident float32 tensor of shape on r's device.
func (r *deviceRun) alloc(op string, shape ...int) *tensor.Tensor {
	t, err := tensor.DeviceAlloc(r.b, shape...)
	if err != nil {
		r.done()
		tensor.DeviceFail(op, err)
	}
	return t
}

// discard frees a result tensor that will not be returned.
func discard(t *tensor.Tensor) {
	if buf, _ := t.DeviceBuffer(); buf != nil {
		buf.Release()
	}
}

// forward runs the SSD forward of r into a new tensor (B, H, L, d_v), or
// returns nil when the device refused (the caller runs the CPU code). The
// output is checked for NaN and Inf on the device (one value read back);
// NormOutput's RMSNorm runs on the host (the result is read back once).
// The result is resident on the inputs' device.
func (r *deviceRun) forward(op string, o Options) *tensor.Tensor {
	dm := r.dm
	y := r.alloc(op, dm.B, dm.H, dm.L, dm.dv)
	ybuf, _ := y.DeviceBuffer()
	if _, err := r.ssd.SSDDevice32(r.p, r.bufs[0], r.bufs[1], r.bufs[2], r.bufs[3], ybuf); err != nil {
		discard(y)
		r.fail(op, err)
		return nil
	}
	if e, ok := r.b.(backend.DeviceElementwiser); ok {
		fin, err := e.AllFinite32(ybuf)
		if err != nil {
			discard(y)
			r.fail(op, err)
			return nil
		}
		if !fin {
			r.done()
			checkFinite(op, y) // reads y back and panics naming the first bad index
		}
	}
	finishOutputNorm(y, o)
	if o.Norm == NormOutput {
		checkFinite(op, y)
	}
	return y
}

// quadraticDevice is Quadratic on a device, nil when it runs on the CPU.
func quadraticDevice(op string, q, k, v, a *tensor.Tensor, o Options, dm dims) *tensor.Tensor {
	r := planDevice(op, "quadratic", q, k, v, a, o, dm, 1)
	if r == nil {
		return nil
	}
	y := r.forward(op, o)
	if y == nil {
		return nil
	}
	r.done()
	return y
}

// chunkedDevice is Chunked from the zero state on a device, with the final
// state when withState (computed on the device from k, v and a, see
// backend.DeviceSSD.SSDState32); nil when it runs on the CPU. form is
// "chunked", or "auto" to let the backend choose between the chunked and
// quadratic forms.
func chunkedDevice(op, form string, q, k, v, a *tensor.Tensor, o Options, dm dims, chunk int, withState bool) (*tensor.Tensor, *State) {
	r := planDevice(op, form, q, k, v, a, o, dm, chunk)
	if r == nil {
		return nil, nil
	}
	y := r.forward(op, o)
	if y == nil {
		return nil, nil
	}
	if !withState {
		r.done()
		return y, nil
	}
	f := getFeatMap(dm.d, o.Order)
	W := dm.dv
	if o.Norm == NormSoftmax {
		W++
	}
	S := r.alloc(op, dm.B, dm.H, f.D, W)
	sbuf, _ := S.DeviceBuffer()
	if err := r.ssd.SSDState32(r.p, r.bufs[1], r.bufs[2], r.bufs[3], sbuf); err != nil {
		discard(S)
		if errors.Is(err, backend.ErrOutOfMemory) {
			r.done()
			tensor.DeviceFail(op, err)
		}
		// The output is right; only the state is missing: compute it on
		// the CPU with the recurrent-free chunked code.
		r.fail(op+" (final state)", err)
		return y, cpuFinalState(op, q, k, v, a, o, dm, chunk).onDeviceOf(q, k, v, a)
	}
	r.done()
	s := &State{Opts: o, B: dm.B, H: dm.H, Dk: dm.d, Dv: dm.dv, D: f.D, S: S, Tokens: dm.L, feat: f}
	return y, s
}

// cpuFinalState runs the chunked form on the CPU for its state only.
func cpuFinalState(op string, q, k, v, a *tensor.Tensor, o Options, dm dims, chunk int) *State {
	s := startState(op, nil, dm, o, tensor.Float32)
	y := tensor.New(tensor.Float32, dm.B, dm.H, dm.L, dm.dv)
	chunkAll[float32](dm, q, k, v, a, y, s, chunk)
	return s
}

// Auto computes the SSD output y (B, H, L, d_v) of q, k, v, a and o in the
// form that is fastest where it runs: on a device (resident inputs) the
// backend chooses between the quadratic and
// chunked forms for the shape (gpu.SSDForm); on the CPU, and for what the
// device lacks, Variant.Resolve's choice: Chunked with DefaultChunk for
// finite orders, Quadratic (L ≤ 256) or Blockwise for exp. No state is
// returned; use Chunked for one.
func Auto(q, k, v, a *tensor.Tensor, o Options) *tensor.Tensor {
	const op = "ssd.Auto"
	o.check(op)
	dm := checkInputs(op, q, k, v, a)
	switch {
	case !o.Exp:
		y, _ := chunked(op, "auto", q, k, v, a, o, DefaultChunk, nil, false)
		return y
	case dm.L <= 256:
		return Quadratic(q, k, v, a, o)
	}
	return Blockwise(q, k, v, a, o, DefaultChunk)
}

// maskDevice is LogDecay of the softplus, forget and original masks on the
// device of a resident float32 x, composed of tensor's device operations
// (a = −softplus(x); log σ(x); −exp(A_log_h)·softplus(x + dtBias_h)); nil
// for host inputs or another kind (LogDecay's CPU code runs).
func maskDevice(kind MaskKind, x, aLog, dtBias *tensor.Tensor) *tensor.Tensor {
	if x.DType() != tensor.Float32 || tensor.ResidentBackend(x, aLog, dtBias) == nil {
		return nil
	}
	tensor.SameDevice("ssd.LogDecay", "x, aLog, dtBias", x, aLog, dtBias)
	H := x.Dim(1)
	switch kind {
	case MaskSoftplus:
		return tensor.Neg(tensor.Softplus(x))
	case MaskForget:
		return tensor.LogSigmoid(x)
	case MaskOriginal:
		tensor.CheckShape("ssd.LogDecayOriginal", "aLog", aLog.Shape(), "(one per head of x)", H)
		if dtBias != nil {
			tensor.CheckShape("ssd.DT", "dtBias", dtBias.Shape(), "(one per head of x)", H)
			x = tensor.Add(x, dtBias.Reshape(H, 1))
		}
		return tensor.Mul(tensor.Neg(tensor.Exp(aLog)).Reshape(H, 1), tensor.Softplus(x))
	}
	return nil
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
