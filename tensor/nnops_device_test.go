package tensor

import (
	"strings"
	"testing"

	"github.com/furious-lab/furious/backend"
)

// softmaxDev is fakeDevice with a row softmax on its buffers (computed
// by the CPU kernel), to test that tensor's model operations take the
// backend.Device* seam for resident operands.
type softmaxDev struct {
	fakeDevice
	calls int
}

func (f *softmaxDev) SoftmaxDevice32(log bool, x backend.DeviceBuffer, rows, n int, y backend.DeviceBuffer) error {
	f.calls++
	softmaxRows(y.(*fakeBuf).data, x.(*fakeBuf).data, rows, n, log)
	return nil
}

func (f *softmaxDev) SoftmaxBackwardDevice32(log bool, g, y backend.DeviceBuffer, rows, n int, dx backend.DeviceBuffer) error {
	return backend.ErrNotImplemented
}

var _ backend.DeviceSoftmaxer = (*softmaxDev)(nil)

func TestModelOpsDeviceSeam(t *testing.T) {
	f := &softmaxDev{}
	notices := withFakeDevice(t, &f.fakeDevice)
	Register(f) // replaces the plain fake as "gpu"
	x := NewRNG(1).Randn(3, 5)
	want := Softmax(x)
	xd := x.To("gpu")
	y := Softmax(xd)
	if f.calls != 1 || y.Device() != backend.GPU {
		t.Fatalf("Softmax of a resident tensor: %d device calls, result on %v; want 1 call and a resident result", f.calls, y.Device())
	}
	if d := MaxAbsDiff(y.To("cpu"), want); d != 0 {
		t.Fatalf("device softmax differs by %g", d)
	}
	// Its backward is refused (ErrNotImplemented): the CPU runs it, with a
	// notice, and the result moves back to the operands' device.
	g := NewRNG(2).Randn(3, 5)
	dx := SoftmaxBackward(g.To("gpu"), y)
	if dx.Device() != backend.GPU || MaxAbsDiff(dx, SoftmaxBackward(g, want)) != 0 {
		t.Fatalf("fallback of SoftmaxBackward: device %v", dx.Device())
	}
	// An operation the backend has no interface for falls back too.
	r, _ := RMSNorm(xd, nil, 1e-5)
	r0, _ := RMSNorm(x, nil, 1e-5)
	if r.Device() != backend.GPU || MaxAbsDiff(r, r0) != 0 {
		t.Fatalf("fallback of RMSNorm: device %v", r.Device())
	}
	if u := UnaryGrad("relu", xd, xd, nil, 0); u.Device() != backend.GPU || MaxAbsDiff(u, UnaryGrad("relu", x, x, nil, 0)) != 0 {
		t.Fatalf("fallback of UnaryGrad: device %v", u.Device())
	}
	if s := notices.String(); !strings.Contains(s, "tensor.SoftmaxBackward") || !strings.Contains(s, "tensor.RMSNorm") || !strings.Contains(s, "tensor.UnaryGrad") {
		t.Fatalf("notices %q lack the fallbacks", s)
	}
}
