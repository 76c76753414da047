package nn

import (
	"sync"

	"github.com/furious-lab/furious/tensor"
)

// Devices. nn follows tensor's one rule: an op runs where its operands
// live. A model trains on the GPU when its parameters live there (LM.To,
// ToDevice, or built under tensor.SetDevice("gpu") / FURIOUS_DEVICE=gpu,
// which Param honours); the batch's token ids go up with the embedding
// gather and the targets with the loss, and the loss is the one value read
// back. nn has no device code of its own: package tensor and ssd run each
// op on the device or fall back with a notice.

// ToDevice moves every parameter's value to device ("cpu" or "gpu", as
// tensor.Tensor.To) in place and drops its gradient; a parameter already
// there is kept. Optimisers made before the move must be made again.
func ToDevice(params []*Var, device string) {
	for _, p := range params {
		p.Value = p.Value.To(device)
		p.Grad = nil
	}
}

// To moves the model's parameters to device (see ToDevice) and returns m.
func (m *LM) To(device string) *LM {
	ToDevice(m.params, device)
	return m
}

// placed returns the new parameter value t on the device tensor.SetDevice
// chose (FURIOUS_DEVICE), when that is not the CPU and t is float32 (Param
// calls it, so models built under SetDevice("gpu") live there).
func placed(t *tensor.Tensor) *tensor.Tensor {
	if name := tensor.ActiveBackend().Name(); name != "cpu" && t.DType() == tensor.Float32 {
		return t.To(name)
	}
	return t
}

// constOn returns the constant host tensor make() on the device of like,
// made once per key and device and kept (rotary tables, feature-map
// weights): a step does not upload it again.
func constOn(key string, like *tensor.Tensor, make func() *tensor.Tensor) *tensor.Tensor {
	b := tensor.ResidentBackend(like)
	if b == nil {
		return make()
	}
	k := constKey{key, b.Name(), like.DType()}
	if c, ok := consts.Load(k); ok {
		return c.(*tensor.Tensor)
	}
	c := make().OnDeviceOf(like)
	consts.Store(k, c)
	return c
}

type constKey struct {
	key, device string
	dtype       tensor.DType
}

var consts sync.Map

// moments returns a zero moment for p: float64 on the CPU, float32 on
// p's device when p is resident there (moved once, at the first step).
func moments(p *tensor.Tensor) *tensor.Tensor {
	if tensor.ResidentBackend(p) == nil {
		return tensor.Zeros64(p.Shape()...)
	}
	return tensor.New(tensor.Float32, p.Shape()...).OnDeviceOf(p)
}
