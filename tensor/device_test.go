package tensor

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/furious-lab/furious/backend"
)

// fakeGPU is a partial backend: MatMul32 is not implemented, Unary32 does
// "exp" (and counts its calls) and refuses the rest.
type fakeGPU struct {
	unavailable error
	unaryCalls  int
	matmulCalls int
}

func (*fakeGPU) Name() string                       { return "gpu" }
func (*fakeGPU) Kind() backend.Kind                 { return backend.GPU }
func (*fakeGPU) Describe() string                   { return "gpu: fake" }
func (*fakeGPU) Capabilities() backend.Capabilities { return backend.Capabilities{Float32: true} }
func (f *fakeGPU) Available() error                 { return f.unavailable }
func (f *fakeGPU) MatMul32(transA, transB bool, batch, m, n, k int, a []float32, sa int, b []float32, sb int, c []float32) error {
	f.matmulCalls++
	return backend.ErrNotImplemented
}
func (f *fakeGPU) Unary32(op string, x, y []float32) error {
	f.unaryCalls++
	if op != "exp" {
		return fmt.Errorf("fake: %s failed", op)
	}
	for i, v := range x {
		y[i] = float32(math.Exp(float64(v))) + 1000 // marked, so the test sees who computed it
	}
	return nil
}

var (
	_ backend.MatMuler     = (*fakeGPU)(nil)
	_ backend.Elementwiser = (*fakeGPU)(nil)
	_ backend.Prober       = (*fakeGPU)(nil)
)

// withFakeGPU registers f for one test and restores the registry after.
func withFakeGPU(t *testing.T, f *fakeGPU) *bytes.Buffer {
	t.Setenv("FURIOUS_DEVICE", "")
	var notices bytes.Buffer
	old := SetNoticeWriter(&notices)
	if f != nil {
		Register(f)
	}
	t.Cleanup(func() {
		SetNoticeWriter(old)
		devices.Lock()
		delete(devices.byName, "gpu")
		devices.want, devices.active = "", nil
		clear(devices.noticed)
		devices.Unlock()
	})
	return &notices
}

func TestDefaultDeviceIsCPUWithReason(t *testing.T) {
	withFakeGPU(t, nil)
	if d := Device(); !strings.HasPrefix(d, "cpu: gonum") || !strings.HasSuffix(d, "(auto: no gpu backend registered)") {
		t.Fatalf("Device() = %q", d)
	}
	if Zeros(1).Device() != backend.CPU || !strings.Contains(Zeros(1).String(), "float32 cpu") {
		t.Fatal("tensor device is not cpu")
	}
	err := SetDevice("gpu")
	if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "registered: cpu") {
		t.Fatalf("SetDevice(gpu) without a gpu backend: %v", err)
	}
	if err := SetDevice("cpu"); err != nil || ActiveBackend().Name() != "cpu" || !strings.HasSuffix(Device(), "(tensor.SetDevice cpu)") {
		t.Fatalf("SetDevice(cpu): %v, %q", err, Device())
	}
}

func TestAutoSkipsUnavailableGPU(t *testing.T) {
	withFakeGPU(t, &fakeGPU{unavailable: fmt.Errorf("no EGL device: %w", backend.ErrUnavailable)})
	if d := Device(); !strings.HasPrefix(d, "cpu:") || !strings.Contains(d, "auto: gpu unavailable: no EGL device") {
		t.Fatalf("Device() = %q", d)
	}
	if err := SetDevice("gpu"); !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("SetDevice(gpu) on an unavailable gpu: %v", err)
	}
	if ActiveBackend().Name() != "cpu" {
		t.Fatal("a failed SetDevice changed the device")
	}
}

func TestDispatchAndFallbackWithNotice(t *testing.T) {
	f := &fakeGPU{}
	notices := withFakeGPU(t, f)
	if d := Device(); d != "gpu: fake (auto: gpu available)" {
		t.Fatalf("Device() = %q", d)
	}
	x := FromFloat32([]float32{0, 1})
	if y := Exp(x); f.unaryCalls != 1 || y.At(0) != 1001 {
		t.Fatalf("Exp was not dispatched to the gpu backend: calls %d, y %v", f.unaryCalls, y)
	}
	if y := Exp(x.As(Float64)); f.unaryCalls != 1 || y.At(0) != 1 {
		t.Fatal("a float64 op went to a float32-only backend")
	}
	for i := 0; i < 3; i++ {
		if y := MatMul(Ones(2, 3), Ones(3, 2)); y.At(1, 1) != 3 {
			t.Fatal("MatMul fallback computed the wrong answer")
		}
		Sigmoid(x)
	}
	if f.matmulCalls != 3 {
		t.Fatalf("MatMul offered to the backend %d times, want 3", f.matmulCalls)
	}
	n := notices.String()
	if strings.Count(n, "tensor.MatMul on gpu: not implemented; running it on the cpu") != 1 ||
		strings.Count(n, "tensor.Sigmoid on gpu: fake: sigmoid failed; running it on the cpu") != 1 {
		t.Fatalf("notices (each wanted once):\n%s", n)
	}
	t.Setenv("FURIOUS_DEVICE", "cpu")
	Register(f) // forces a new choice, which now reads FURIOUS_DEVICE
	if d := Device(); !strings.HasSuffix(d, "(FURIOUS_DEVICE cpu)") {
		t.Fatalf("FURIOUS_DEVICE=cpu: %q", d)
	}
	Exp(x)
	if f.unaryCalls != 4 {
		t.Fatalf("the gpu backend was used with FURIOUS_DEVICE=cpu (%d calls)", f.unaryCalls)
	}
	t.Setenv("FURIOUS_DEVICE", "tpu")
	Register(f)
	if d := Device(); !strings.Contains(d, `FURIOUS_DEVICE asked for "tpu", which is not registered; using cpu`) {
		t.Fatalf("FURIOUS_DEVICE=tpu: %q", d)
	}
}
