package tensor

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/furious-lab/furious/backend"
)

// Resident tensors (see "Resident tensors" in doc.go): a float32 tensor
// moved to a device with To keeps its data in a backend.DeviceBuffer, and
// its host data is a lazily synced copy.

// devData is the device side of a resident tensor, shared by the tensors
// that share its data (Reshape, Unsqueeze, Squeeze).
type devData struct {
	mu        sync.Mutex
	b         backend.Backend      // the backend holding buf; it implements backend.Resident
	buf       backend.DeviceBuffer // nil once released: the tensor is then a host tensor
	n         int                  // number of float32s
	host      []float32            // host copy; nil until first needed
	hostStale bool                 // the device holds newer data than host
	devStale  bool                 // host holds newer data than the device (host writes)
}

var transfers struct{ up, down atomic.Int64 }

// Transfers returns how many times tensor data has been copied to a device
// (To, host operands of a device operation, host writes flushed before one)
// and back to the host (the first host access to a result computed on the
// device, To("cpu"), Release), since the process started. Notebooks and
// tests use it to see that a chain of device operations stays on the device.
func Transfers() (uploads, downloads int64) { return transfers.up.Load(), transfers.down.Load() }

// DeviceBytes is the device memory held by the live buffers of the active
// backend when it keeps tensors resident (backend.Resident), else 0. It
// counts every buffer of that device, resident tensors and the backend's
// own scratch alike.
func DeviceBytes() int64 {
	if r, ok := ActiveBackend().(backend.Resident); ok {
		return r.DeviceBytes()
	}
	if b, ok := lookupBackend("gpu"); ok && available(b) == nil {
		if r, ok := b.(backend.Resident); ok {
			return r.DeviceBytes()
		}
	}
	return 0
}

func lookupBackend(name string) (backend.Backend, bool) {
	devices.Lock()
	defer devices.Unlock()
	b, ok := devices.byName[name]
	return b, ok
}

// deviceError turns a device failure into the panic of op: an *Error of
// kind ErrMemory when the device ran out of memory, else an *Error with the
// backend's message.
func deviceError(op string, err error) {
	if errors.Is(err, backend.ErrOutOfMemory) {
		panic(&Error{Op: op, Kind: ErrMemory, Msg: fmt.Sprintf("the gpu is out of memory (tensor.DeviceBytes() = %s held by live buffers; Release tensors you no longer need, or use To(\"cpu\")): %v",
			FormatBytes(DeviceBytes()), err)})
	}
	panic(&Error{Op: op, Msg: "gpu: " + err.Error()})
}

// To returns t on the named device: "gpu" uploads a float32 tensor to the
// gpu backend's device (t itself when it is resident there already), "cpu"
// returns a host tensor (t itself when it is one; a copy of the data, read
// back from the device if needed, for a resident one). The result of "gpu"
// has Device() == backend.GPU and keeps no host copy until one is needed.
// Float64 tensors cannot live on the gpu: converting one panics with an
// *Error naming the dtype (use As(tensor.Float32) first), and so does a
// build or machine without a usable gpu backend (the error says why).
func (t *Tensor) To(device string) *Tensor {
	const op = "tensor.To"
	switch strings.ToLower(strings.TrimSpace(device)) {
	case "cpu":
		if t.dev == nil {
			return t
		}
		h := t.host()
		if t.dev.buf == nil { // released: already a host tensor
			return t
		}
		c := newUnchecked(Float32, t.shape)
		copy(c.f32, h)
		return c
	case "gpu":
		if t.dtype != Float32 {
			panic(&Error{Op: op, Arg: "t", Msg: fmt.Sprintf("is %s: only float32 tensors live on the gpu; convert with t.As(tensor.Float32) first", t.dtype)})
		}
		if t.Device() == backend.GPU {
			return t
		}
		b, ok := lookupBackend("gpu")
		if !ok {
			panic(&Error{Op: op, Msg: fmt.Sprintf("no gpu backend in this build (import github.com/furious-lab/furious/gpu and build with the tags of scripts/buildtags.sh): %v", backend.ErrUnavailable)})
		}
		if err := available(b); err != nil {
			panic(&Error{Op: op, Msg: "the gpu backend is unavailable: " + err.Error()})
		}
		r, ok := b.(backend.Resident)
		if !ok {
			panic(&Error{Op: op, Msg: fmt.Sprintf("the %q backend keeps no data on its device: %v", b.Name(), backend.ErrNotImplemented)})
		}
		buf, err := r.Upload32(t.Float32s())
		if err != nil {
			deviceError(op, err)
		}
		transfers.up.Add(1)
		return &Tensor{shape: t.Shape(), dtype: Float32, dev: &devData{b: b, buf: buf, n: t.Len(), hostStale: true}}
	}
	panic(&Error{Op: op, Arg: "device", Msg: fmt.Sprintf("is %q, want \"cpu\" or \"gpu\"", device)})
}

// Release frees t's device memory now, instead of when the garbage
// collector finds t unreachable. t stays usable as a host tensor: a
// result not yet read is first copied to the host. It does nothing for a
// host tensor. Tensors sharing t's data (Reshape) are released with it.
func (t *Tensor) Release() {
	if t.dev == nil {
		return
	}
	t.host()
	d := t.dev
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.buf != nil {
		d.buf.Release()
		d.buf = nil
	}
}

// drop frees the device buffer of a result that failed, without reading it.
func (t *Tensor) drop() {
	if d := t.dev; d != nil {
		d.mu.Lock()
		if d.buf != nil {
			d.buf.Release()
			d.buf = nil
		}
		d.hostStale = false
		d.mu.Unlock()
	}
}

// host returns t's float32 host data, reading it back from the device
// first when the device holds newer data; t.f32 is then that data.
func (t *Tensor) host() []float32 {
	d := t.dev
	if d == nil {
		return t.f32
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.host == nil {
		CheckAlloc("tensor (copy to host)", Float32, t.shape)
		d.host = make([]float32, d.n)
	}
	if d.hostStale && d.buf != nil {
		if err := d.buf.Read32(d.host); err != nil {
			deviceError("tensor (copy to host)", err)
		}
		transfers.down.Add(1)
		d.hostStale = false
	}
	if len(t.f32) != len(d.host) { // set once per view, so concurrent readers rarely write
		t.f32 = d.host
	}
	return d.host
}

// hostWrite is host for a caller that may write the host data: the device
// copy is then out of date, and the next device operation uploads it.
func (t *Tensor) hostWrite() []float32 {
	h := t.host()
	if d := t.dev; d != nil {
		d.mu.Lock()
		d.devStale = d.buf != nil
		d.mu.Unlock()
	}
	return h
}

// deviceWrote records that a device operation wrote the buffers of the
// resident tensors among ts in place (AdamW, Axpy): their host copies are
// out of date, and the next host access reads them back.
func deviceWrote(ts ...*Tensor) {
	for _, t := range ts {
		if t == nil || t.dev == nil {
			continue
		}
		t.dev.mu.Lock()
		t.dev.hostStale = t.dev.buf != nil
		t.dev.mu.Unlock()
	}
}

// syncHost makes the host data of ts current (a no-op for host tensors).
func syncHost(ts ...*Tensor) {
	for _, t := range ts {
		if t != nil && t.dev != nil {
			t.host()
		}
	}
}

// resident returns the backend of the first operand that lives on a
// device, or nil when all are host tensors.
func resident(ts ...*Tensor) backend.Backend {
	for _, t := range ts {
		if t == nil || t.dev == nil {
			continue
		}
		t.dev.mu.Lock()
		live := t.dev.buf != nil
		t.dev.mu.Unlock()
		if live {
			return t.dev.b
		}
	}
	return nil
}

// hostFallback prepares an operation with no device implementation for its
// operands: it checks that they live on one device (mixedDevices), and
// when they are resident it writes the one-time notice naming op (and why,
// when err says more than "not implemented") and syncs their host data.
// The operation then runs on the CPU, and its result follows the operands
// back to their device (Tensor.OnDeviceOf), so that it lives where they do.
func hostFallback(op string, err error, ts ...*Tensor) {
	mixedDevices(op, ts...)
	b := resident(ts...)
	if b == nil {
		return
	}
	why := "it has no device implementation for these operands"
	if err != nil && !errors.Is(err, backend.ErrNotImplemented) {
		why = err.Error()
	} else if err != nil {
		why = "not implemented: " + err.Error()
	}
	noticeOnce("resident/"+op, fmt.Sprintf("%s on %s-resident tensors: %s; copied them to the host, ran it on the cpu and moved the result back", op, b.Name(), why))
	syncHost(ts...)
}

// mixedDevices panics with an *Error naming op and both devices when the
// non-nil operands among ts live on different devices (a host tensor
// beside a resident one, or two backends): an operation runs where its
// operands live, so they must live in one place.
func mixedDevices(op string, ts ...*Tensor) { namedDevices(op, nil, ts...) }

// namedDevices is mixedDevices naming the operands (names[i] for ts[i];
// "operand i" without names).
func namedDevices(op string, names []string, ts ...*Tensor) {
	name := func(i int) string {
		if i < len(names) {
			return names[i]
		}
		return fmt.Sprintf("operand %d", i)
	}
	first, where := -1, ""
	for i, t := range ts {
		if t == nil {
			continue
		}
		w := t.where()
		if first < 0 {
			first, where = i, w
			continue
		}
		if w != where {
			panic(&Error{Op: op, Kind: ErrDevice,
				Msg: fmt.Sprintf("operands on two devices: %s (shape %s) is on %s, %s (shape %s) on %s: an operation runs where its operands live; move them to one device with To(\"cpu\") or To(\"gpu\")", name(i), ShapeString(t.shape), w, name(first), ShapeString(ts[first].shape), where)})
		}
	}
}

// where names the device t lives on: "cpu", or the name of the backend
// holding its buffer.
func (t *Tensor) where() string {
	if b := resident(t); b != nil {
		return b.Name()
	}
	return "cpu"
}

// toBackend returns the host tensor y moved to b's device (y itself when it
// is not float32, already resident, or b keeps no data on a device).
func toBackend(op string, y *Tensor, b backend.Backend) *Tensor {
	r, ok := b.(backend.Resident)
	if !ok || y.dtype != Float32 || y.dev != nil {
		return y
	}
	buf, err := r.Upload32(y.f32)
	if err != nil {
		deviceError(op, err)
	}
	transfers.up.Add(1)
	return &Tensor{shape: y.shape, dtype: Float32, dev: &devData{b: b, buf: buf, n: y.Len(), host: y.f32}, f32: y.f32}
}

// devicePlan is one operation on a device: its backend, the operands'
// buffers (host operands uploaded for the call) and a release of those
// temporary uploads.
type devicePlan struct {
	b    backend.Backend
	bufs []backend.DeviceBuffer
	tmp  []backend.DeviceBuffer
}

func (p *devicePlan) done() {
	for _, t := range p.tmp {
		t.Release()
	}
	p.tmp = nil
}

// planDevice returns the plan for running op on the device of a resident
// operand, or nil when no operand is resident. Nil operands get nil
// buffers. A host operand (float32) is uploaded for the call; a resident
// operand whose host data was written is flushed to its device first.
// An upload the device refuses panics (deviceError).
func planDevice(op string, ts ...*Tensor) *devicePlan { return planOn(op, nil, ts...) }

// planOn is planDevice on backend b, or on the backend of a resident
// operand when b is nil.
func planOn(op string, b backend.Backend, ts ...*Tensor) *devicePlan {
	if b == nil {
		b = resident(ts...)
	}
	if b == nil {
		return nil
	}
	mixedDevices(op, ts...)
	r, ok := b.(backend.Resident)
	if !ok {
		return nil
	}
	p := &devicePlan{b: b, bufs: make([]backend.DeviceBuffer, len(ts))}
	for i, t := range ts {
		if t == nil {
			continue
		}
		if buf := t.deviceBuf(op, b); buf != nil {
			p.bufs[i] = buf
			continue
		}
		if t.dtype != Float32 {
			p.done()
			panic(&Error{Op: op, Msg: fmt.Sprintf("operand %d is %s: only float32 tensors live on the gpu (convert with As(tensor.Float32))", i, t.dtype)})
		}
		buf, err := r.Upload32(t.host())
		if err != nil {
			p.done()
			deviceError(op, err)
		}
		transfers.up.Add(1)
		p.bufs[i] = buf
		p.tmp = append(p.tmp, buf)
	}
	return p
}

// deviceBuf returns t's buffer on b, uploading host writes first, or nil
// when t is not resident on b.
func (t *Tensor) deviceBuf(op string, b backend.Backend) backend.DeviceBuffer {
	d := t.dev
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.buf == nil || d.b != b {
		return nil
	}
	if d.devStale {
		if err := d.buf.Write32(d.host); err != nil {
			deviceError(op, err)
		}
		transfers.up.Add(1)
		d.devStale = false
	}
	return d.buf
}

// alloc returns a new resident tensor of the given shape on p's device, or
// nil with the error when the device refuses.
func (p *devicePlan) alloc(shape []int) (*Tensor, error) {
	n := numel("tensor (device result)", shape)
	buf, err := p.b.(backend.Resident).Alloc32(n)
	if err != nil {
		return nil, err
	}
	return &Tensor{shape: append([]int{}, shape...), dtype: Float32, dev: &devData{b: p.b, buf: buf, n: n, hostStale: true}}, nil
}

// onDevice runs an operation on the device of the resident operands among
// ts: run gets their buffers (host operands uploaded for the call, nil for
// nil operands) and the buffer of a new resident result of shape. A nil
// result leaves the operation to the CPU: with a nil error when no operand
// is resident, else with why the device refused. Out of memory panics
// (deviceError) naming op.
func onDevice(op string, shape []int, ts []*Tensor, run func(in []backend.DeviceBuffer, out backend.DeviceBuffer) error) (*Tensor, error) {
	p := planDevice(op, ts...)
	if p == nil {
		return nil, nil
	}
	defer p.done()
	y, err := p.alloc(shape)
	if err != nil {
		deviceError(op, err)
	}
	if err := run(p.bufs, y.dev.buf); err != nil {
		y.drop()
		if errors.Is(err, backend.ErrOutOfMemory) {
			deviceError(op, err)
		}
		return nil, err
	}
	return y, nil
}

// NewResident wraps buf, a buffer of b's device holding the float32s of
// shape in row-major order, as a resident tensor (not copied; the tensor
// releases it). Packages that compute on a device (ssd) return their
// results through it.
func NewResident(b backend.Backend, buf backend.DeviceBuffer, shape ...int) *Tensor {
	n := numel("tensor.NewResident", shape)
	if buf.Len() < n {
		Errorf("tensor.NewResident", "buf", "has %d values, shape %s needs %d", buf.Len(), ShapeString(shape), n)
	}
	return &Tensor{shape: append([]int{}, shape...), dtype: Float32, dev: &devData{b: b, buf: buf, n: n, hostStale: true}}
}

// DeviceBuffer returns t's device buffer and its backend when t is
// resident, flushing host writes to the device first; nil, nil for a host
// tensor. The buffer stays owned by t.
func (t *Tensor) DeviceBuffer() (backend.DeviceBuffer, backend.Backend) {
	b := resident(t)
	if b == nil {
		return nil, nil
	}
	return t.deviceBuf("tensor.DeviceBuffer", b), b
}

// DeviceOperands prepares an operation of another package (such as ssd) on
// a device: b, or when b is nil the backend of the first resident operand
// among ts. It returns that backend and the operands' buffers (nil for a
// nil operand; a host operand is uploaded for the call, a resident one's
// host writes flushed first), and the function that frees the uploads,
// to call when the operation is done. It returns a nil backend when b is
// nil and no operand is resident, or the backend keeps no data on a device.
// A refused upload panics with an *Error naming op (ErrMemory when the
// device is out of memory).
func DeviceOperands(op string, b backend.Backend, ts ...*Tensor) (backend.Backend, []backend.DeviceBuffer, func()) {
	p := planOn(op, b, ts...)
	if p == nil {
		return nil, nil, func() {}
	}
	return p.b, p.bufs, p.done
}

// DeviceAlloc returns a new resident float32 tensor of the given shape on
// b's device, its values unset, or the device's error (wrapping
// backend.ErrOutOfMemory when it has no room).
func DeviceAlloc(b backend.Backend, shape ...int) (*Tensor, error) {
	return (&devicePlan{b: b}).alloc(shape)
}

// DeviceFail panics as a device operation of op that failed with err does:
// an *Error of kind ErrMemory when the device is out of memory.
func DeviceFail(op string, err error) { deviceError(op, err) }

// SameDevice panics with an *Error of kind ErrDevice naming op, the two
// operands (names, comma-separated in the order of ts, e.g. "q, k, v, a")
// and their devices when the non-nil tensors among ts live on different
// devices. Packages with operations of their own (ssd, nn) call it on
// their operands, as tensor's operations do.
func SameDevice(op, names string, ts ...*Tensor) {
	namedDevices(op, strings.Split(strings.ReplaceAll(names, " ", ""), ","), ts...)
}

// OnDeviceOf returns t on the device of the first resident tensor among ts
// (uploaded once), or t itself when they are all host tensors or t is not
// float32: the result of an operation computed on the CPU for resident
// operands follows them back to their device.
func (t *Tensor) OnDeviceOf(ts ...*Tensor) *Tensor {
	if t == nil {
		return nil
	}
	b := resident(ts...)
	if b == nil {
		return t
	}
	return toBackend("tensor.OnDeviceOf", t, b)
}

// ResidentBackend returns the backend holding the first resident operand
// among ts, nil when all are host tensors.
func ResidentBackend(ts ...*Tensor) backend.Backend { return resident(ts...) }

// Notice writes msg once per key through the notice writer (SetNoticeWriter),
// prefixed "furious: ". Packages that fall back from a device to the CPU
// use it so that a notebook user sees why, once.
func Notice(key, msg string) { noticeOnce(key, msg) }
