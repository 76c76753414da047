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
	if d := Device(); !strings.HasPrefix(d, "cpu: gonum") || !strings.HasSuffix(d, "(default)") {
		t.Fatalf("Device() = %q", d)
	}
	if Zeros(1).Device() != backend.CPU || !strings.Contains(Zeros(1).String(), "float32 cpu") {
		t.Fatal("tensor device is not cpu")
	}
	err := SetDevice("gpu")
	if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "registered: cpu") {
		t.Fatalf("SetDevice(gpu) without a gpu backend: %v", err)
	}
	if err := SetDevice("auto"); err != nil || !strings.HasSuffix(Device(), "(auto: no gpu backend registered)") {
		t.Fatalf("SetDevice(auto): %v, %q", err, Device())
	}
	if err := SetDevice("cpu"); err != nil || ActiveBackend().Name() != "cpu" || !strings.HasSuffix(Device(), "(tensor.SetDevice cpu)") {
		t.Fatalf("SetDevice(cpu): %v, %q", err, Device())
	}
}

func TestAutoSkipsUnavailableGPU(t *testing.T) {
	withFakeGPU(t, &fakeGPU{unavailable: fmt.Errorf("no EGL device: %w", backend.ErrUnavailable)})
	t.Setenv("FURIOUS_DEVICE", "auto")
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

// TestHostTensorsNeverLeaveTheHost checks the one rule from the host side:
// whatever the device choice, an operation on host tensors runs on the
// CPU; a backend that offers host-slice kernels (fakeGPU) is never called.
func TestHostTensorsNeverLeaveTheHost(t *testing.T) {
	f := &fakeGPU{}
	withFakeGPU(t, f)
	if err := SetDevice("gpu"); err != nil {
		t.Fatal(err)
	}
	if d := Device(); d != "gpu: fake (tensor.SetDevice gpu)" {
		t.Fatalf("Device() = %q", d)
	}
	x := New(Float32, 2)
	x.Set(1, 1)
	if y := Exp(x); f.unaryCalls != 0 || y.At(0) != 1 || y.Device() != backend.CPU {
		t.Fatalf("Exp of a host tensor: %d backend calls, y %v", f.unaryCalls, y)
	}
	if y := MatMul(New(Float32, 2, 3).Fill(1), New(Float32, 3, 2).Fill(1)); f.matmulCalls != 0 || y.At(1, 1) != 3 {
		t.Fatal("MatMul of host tensors went to the backend")
	}
	t.Setenv("FURIOUS_DEVICE", "tpu")
	SetDevice("auto")
	devices.Lock()
	devices.want, devices.active = "", nil
	devices.Unlock()
	if d := Device(); !strings.Contains(d, `FURIOUS_DEVICE asked for "tpu", which is not registered; using cpu`) {
		t.Fatalf("FURIOUS_DEVICE=tpu: %q", d)
	}
}

// TestPlacementAndMixedDevices checks that SetDevice chooses where the
// constructors and loaders put float32 tensors (float64 and New stay on
// the host), that results follow their operands (also through a CPU
// fallback), and that operands on two devices are an error naming both.
func TestPlacementAndMixedDevices(t *testing.T) {
	withFakeDevice(t, &fakeDevice{})
	if err := SetDevice("gpu"); err != nil {
		t.Fatal(err)
	}
	for name, x := range map[string]*Tensor{"Zeros": Zeros(2, 3), "Ones": Ones(2, 3), "Full": Full(2, 2, 3),
		"Randn": NewRNG(1).Randn(2, 3), "Rand": NewRNG(1).Rand(0, 1, 2, 3), "FromFloat32": FromFloat32(make([]float32, 6), 2, 3)} {
		if x.Device() != backend.GPU {
			t.Fatalf("%s under SetDevice(gpu) is on %v", name, x.Device())
		}
	}
	var buf bytes.Buffer
	if err := NewRNG(1).Randn(2, 3).WriteNpy(&buf); err != nil {
		t.Fatal(err)
	}
	if l, err := ReadNpy(&buf); err != nil || l.Device() != backend.GPU {
		t.Fatalf("ReadNpy under SetDevice(gpu): %v, %v", err, l)
	}
	if NewRNG(1).Randn64(3).Device() != backend.CPU || New(Float32, 3).Device() != backend.CPU {
		t.Fatal("float64 or New left the host")
	}
	r := NewRNG(1).Randn(4, 5)
	if y := Exp(r); y.Device() != backend.GPU || MaxAbsDiff(y, Exp(r.To("cpu"))) != 0 { // Exp: a CPU fallback on the fake
		t.Fatalf("a fallback result is on %v, want gpu", y.Device())
	}
	err := Catch(func() { Add(r, New(Float32, 4, 5)) })
	if !errors.Is(err, ErrDevice) || !strings.Contains(err.Error(), "tensor.Add") ||
		!strings.Contains(err.Error(), "operand 1 (shape (4,5)) is on cpu, operand 0 (shape (4,5)) on gpu") {
		t.Fatalf("Add of a gpu and a cpu tensor: %v", err)
	}
	err = Catch(func() { Exp(r); Sum(Concat(0, r, New(Float32, 4, 5)), 0, false) })
	if !errors.Is(err, ErrDevice) || !strings.Contains(err.Error(), "tensor.Concat") {
		t.Fatalf("Concat of a gpu and a cpu tensor: %v", err)
	}
}
