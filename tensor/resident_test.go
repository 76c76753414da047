package tensor

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/furious-lab/furious/backend"
)

// fakeDevice is a resident backend whose "device memory" is host slices:
// it tests tensor's dispatch and synchronisation in every build. It does
// Neg and Add on buffers, refuses the matrix product (ErrNotImplemented),
// and refuses allocations above maxFloats with backend.ErrOutOfMemory.
type fakeDevice struct {
	live, maxFloats int
}

type fakeBuf struct {
	dev  *fakeDevice
	data []float32
}

func (b *fakeBuf) Len() int { return len(b.data) }
func (b *fakeBuf) Read32(dst []float32) error {
	if b.data == nil {
		return errors.New("fake: read of a released buffer")
	}
	copy(dst, b.data)
	return nil
}
func (b *fakeBuf) Write32(src []float32) error { copy(b.data, src); return nil }
func (b *fakeBuf) Release() {
	if b.data != nil {
		b.dev.live--
		b.data = nil
	}
}

func (*fakeDevice) Name() string                       { return "gpu" }
func (*fakeDevice) Kind() backend.Kind                 { return backend.GPU }
func (*fakeDevice) Describe() string                   { return "gpu: fake resident" }
func (*fakeDevice) Capabilities() backend.Capabilities { return backend.Capabilities{Float32: true} }
func (f *fakeDevice) Alloc32(n int) (backend.DeviceBuffer, error) {
	if f.maxFloats > 0 && n > f.maxFloats {
		return nil, fmt.Errorf("fake: %d floats: %w", n, backend.ErrOutOfMemory)
	}
	f.live++
	return &fakeBuf{dev: f, data: make([]float32, n)}, nil
}
func (f *fakeDevice) Upload32(x []float32) (backend.DeviceBuffer, error) {
	b, err := f.Alloc32(len(x))
	if err == nil {
		b.Write32(x)
	}
	return b, err
}
func (f *fakeDevice) DeviceBytes() int64 { return 0 }
func (f *fakeDevice) MatMulDevice32(transA, transB bool, batch, m, n, k int, a backend.DeviceBuffer, offA, strideA int, b backend.DeviceBuffer, offB, strideB int, c backend.DeviceBuffer, offC int) error {
	return fmt.Errorf("fake: no product: %w", backend.ErrNotImplemented)
}
func (f *fakeDevice) UnaryDevice32(op string, s float64, x, y backend.DeviceBuffer) error {
	if op != "neg" {
		return fmt.Errorf("fake: %s: %w", op, backend.ErrNotImplemented)
	}
	for i, v := range x.(*fakeBuf).data {
		y.(*fakeBuf).data[i] = -v
	}
	return nil
}
func (f *fakeDevice) BinaryDevice32(op string, a, b, y backend.DeviceBuffer) error {
	if op != "add" {
		return fmt.Errorf("fake: %s: %w", op, backend.ErrNotImplemented)
	}
	for i := range y.(*fakeBuf).data {
		y.(*fakeBuf).data[i] = a.(*fakeBuf).data[i] + b.(*fakeBuf).data[i]
	}
	return nil
}
func (f *fakeDevice) AllFinite32(x backend.DeviceBuffer) (bool, error) { return true, nil }
func (f *fakeDevice) AxpyDevice32(alpha float64, x, y backend.DeviceBuffer) error {
	for i, v := range x.(*fakeBuf).data {
		y.(*fakeBuf).data[i] += float32(alpha) * v
	}
	return nil
}
func (f *fakeDevice) SumSquaresDevice32(xs []backend.DeviceBuffer, ns []int, out backend.DeviceBuffer) error {
	return fmt.Errorf("fake: no sum of squares: %w", backend.ErrNotImplemented)
}
func (f *fakeDevice) AdamWDevice32(p, g, m, v backend.DeviceBuffer, n int, lr, beta1, beta2, eps, wd, bc1, bc2 float64) error {
	return fmt.Errorf("fake: no AdamW: %w", backend.ErrNotImplemented)
}

var (
	_ backend.Resident           = (*fakeDevice)(nil)
	_ backend.DeviceMatMuler     = (*fakeDevice)(nil)
	_ backend.DeviceElementwiser = (*fakeDevice)(nil)
	_ backend.DeviceOptimizer    = (*fakeDevice)(nil)
)

// withFakeDevice registers f as "gpu" for one test, with the CPU active.
func withFakeDevice(t *testing.T, f *fakeDevice) *bytes.Buffer {
	notices := withFakeGPU(t, nil)
	Register(f)
	if err := SetDevice("cpu"); err != nil {
		t.Fatal(err)
	}
	return notices
}

func transfersSince(u0, d0 int64) (int64, int64) {
	u, d := Transfers()
	return u - u0, d - d0
}

func TestToGPUWithoutBackend(t *testing.T) {
	withFakeGPU(t, nil)
	err := Catch(func() { NewRNG(1).Randn(3).To("gpu") })
	if err == nil || !strings.Contains(err.Error(), "tensor.To") || !strings.Contains(err.Error(), "no gpu backend") {
		t.Fatalf("To(\"gpu\") with no gpu backend: %v", err)
	}
	err = Catch(func() { NewRNG(1).Randn64(3).To("gpu") })
	if err == nil || !strings.Contains(err.Error(), "float64") || !strings.Contains(err.Error(), "As(tensor.Float32)") {
		t.Fatalf("float64 To(\"gpu\"): %v", err)
	}
	err = Catch(func() { NewRNG(1).Randn(3).To("tpu") })
	if err == nil || !strings.Contains(err.Error(), `"tpu"`) {
		t.Fatalf("To(\"tpu\"): %v", err)
	}
	x := NewRNG(1).Randn(3)
	if x.To("cpu") != x {
		t.Fatal("To(\"cpu\") of a host tensor is not the tensor itself")
	}
	x.Release() // no-op on a host tensor
	if x.At(0) != NewRNG(1).Randn(3).At(0) {
		t.Fatal("Release changed a host tensor")
	}
}

// TestResidentDispatchFake checks the dispatch rule and lazy
// synchronisation on the fake device: device ops chain without reading
// back, the first host read downloads once, an op without a device kernel
// syncs, falls back with the notice and moves its result back,
// host writes reach the device, and Release frees the buffer and keeps the
// data.
func TestResidentDispatchFake(t *testing.T) {
	f := &fakeDevice{}
	notices := withFakeDevice(t, f)
	x, h := NewRNG(1).Randn(4, 5), NewRNG(2).Randn(4, 5)
	u0, d0 := Transfers()
	r := x.To("gpu")
	if r.Device() != backend.GPU || r.Len() != 20 || f.live != 1 {
		t.Fatalf("To(\"gpu\"): device %v, len %d, %d live buffers", r.Device(), r.Len(), f.live)
	}
	y := Neg(Add(Add(r, h.To("gpu")), r)) // −(x + h + x)
	if up, down := transfersSince(u0, d0); up != 2 || down != 0 || y.Device() != backend.GPU {
		t.Fatalf("chain: %d uploads, %d downloads, result on %v; want 2 (x, h), 0, gpu", up, down, y.Device())
	}
	want := Neg(Add(Add(x, h), x))
	if d := MaxAbsDiff(y, want); d != 0 {
		t.Fatalf("device chain differs by %g", d)
	}
	_ = y.String()
	if _, down := transfersSince(u0, d0); down != 1 {
		t.Fatalf("%d downloads after two host reads, want 1", down)
	}
	// Fallbacks: no device kernel (Exp: the fake refuses it), no device
	// op set entry (Sum), a refused product (MatMul).
	e := Exp(r)
	s := Sum(r, 0, false)
	m := MatMulT(r, r, false, true)
	for _, c := range []struct {
		op        string
		got, want *Tensor
	}{{"tensor.Exp", e, Exp(x)}, {"tensor.Sum", s, Sum(x, 0, false)}, {"tensor.MatMul", m, MatMulT(x, x, false, true)}} {
		if c.got.Device() != backend.GPU || MaxAbsDiff(c.got, c.want) != 0 {
			t.Fatalf("%s fallback: device %v, difference %g", c.op, c.got.Device(), MaxAbsDiff(c.got, c.want))
		}
		if !strings.Contains(notices.String(), c.op+" on gpu-resident tensors") {
			t.Fatalf("no notice for %s:\n%s", c.op, notices)
		}
	}
	// Host writes: Set then a device op sees the value.
	r.Set(10, 0, 0)
	if v := Neg(r).At(0, 0); v != -10 {
		t.Fatalf("Neg after Set gave %v, want -10", v)
	}
	// Release: the buffer goes, the data stays.
	live := f.live
	y.Release()
	if f.live != live-1 || y.Device() != backend.CPU || MaxAbsDiff(y, want) != 0 {
		t.Fatalf("Release: %d live (was %d), device %v", f.live, live, y.Device())
	}
	// A result not yet read survives Release too (it is read back first).
	z := Neg(r)
	z.Release()
	if z.At(0, 0) != -10 {
		t.Fatalf("Release of an unread result lost its data: %v", z.At(0, 0))
	}
}

// TestResidentOutOfMemoryFake checks that a refused device allocation
// makes the operation panic with ErrMemory naming it.
func TestResidentOutOfMemoryFake(t *testing.T) {
	withFakeDevice(t, &fakeDevice{maxFloats: 100})
	r := NewRNG(1).Randn(10, 10).To("gpu")
	err := Catch(func() { Add(r, r) })
	if err != nil {
		t.Fatalf("Add within the limit: %v", err)
	}
	err = Catch(func() { NewRNG(1).Randn(101).To("gpu") })
	if !errors.Is(err, ErrMemory) || !strings.Contains(err.Error(), "tensor.To") || !strings.Contains(err.Error(), "out of memory") {
		t.Fatalf("To beyond the device's memory: %v, want ErrMemory naming tensor.To", err)
	}
}

// TestResidentConcurrentReads reads a fresh device result from several
// goroutines at once (run with -race): one download, the same values.
func TestResidentConcurrentReads(t *testing.T) {
	withFakeDevice(t, &fakeDevice{})
	x := NewRNG(3).Randn(64, 33)
	y := Neg(x.To("gpu"))
	_, d0 := Transfers()
	done := make(chan float64)
	for g := 0; g < 8; g++ {
		go func(g int) {
			s := 0.0
			for i := 0; i < 64; i++ {
				s += y.At(i, g) + y.Reshape(-1).At(i*33+g)
			}
			done <- s
		}(g)
	}
	for g := 0; g < 8; g++ {
		<-done
	}
	if _, d := transfersSince(0, d0); d != 1 {
		t.Fatalf("%d downloads for concurrent reads, want 1", d)
	}
	if MaxAbsDiff(y, Neg(x)) != 0 {
		t.Fatal("concurrent reads changed the values")
	}
}

// TestResidentAxpyFake checks an in-place device update (Axpy on a
// resident y): nothing moves during it, and a host copy of y read before
// it is read back again after it (the device data is newer).
func TestResidentAxpyFake(t *testing.T) {
	f := &fakeDevice{}
	notices := withFakeDevice(t, f)
	x, y := NewRNG(1).Randn(3, 4), NewRNG(2).Randn(3, 4)
	X, Y := x.To("gpu"), y.To("gpu")
	_ = Y.At(0, 0) // a host copy of y, current now
	u0, d0 := Transfers()
	Axpy(-0.5, X, Y)
	if u, d := transfersSince(u0, d0); u != 0 || d != 0 {
		t.Fatalf("Axpy on resident tensors: %d uploads, %d downloads", u, d)
	}
	Axpy(-0.5, x, y)
	for i, v := range Y.To("cpu").Float32s() {
		if v != y.Float32s()[i] {
			t.Fatalf("element %d after a device Axpy reads %v, want %v (a stale host copy?)", i, v, y.Float32s()[i])
		}
	}
	if _, d := transfersSince(u0, d0); d != 1 {
		t.Fatalf("%d downloads to read y after the update, want 1", d)
	}
	if notices.Len() > 0 {
		t.Fatalf("notices: %s", notices)
	}
}
