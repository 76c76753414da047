package gpu

import (
	"fmt"
	"runtime"
	"unsafe"
)

// Buffer is a shader storage buffer of float32s on the device. Release
// frees it; a Buffer that becomes unreachable unreleased is freed by the
// garbage collector, later.
type Buffer struct {
	d       *Device
	id      uint32
	n       int
	cleanup runtime.Cleanup
}

// NewBuffer allocates n float32s of uninitialised device memory. A refusal
// by the driver is an *Error wrapping ErrOutOfMemory.
func (d *Device) NewBuffer(n int) (*Buffer, error) {
	if n < 0 {
		argPanic("", "allocate", "negative length %d", n)
	}
	size := 4 * n
	if size < 16 {
		size = 16 // zero-sized storage buffers cannot be bound
	}
	if d.info.MaxSSBOBytes > 0 && size > d.info.MaxSSBOBytes {
		return nil, &Error{Op: "allocate", Err: &oomError{fmt.Errorf("%d bytes exceed GL_MAX_SHADER_STORAGE_BLOCK_SIZE (%d)", size, d.info.MaxSSBOBytes)}}
	}
	var id uint32
	var err error
	d.do(func() { id, err = d.drv.newBuffer(size) })
	if err != nil {
		return nil, &Error{Op: "allocate", Err: fmt.Errorf("%d bytes: %w", size, err)}
	}
	d.mu.Lock()
	d.live[id] = size
	d.bytes += int64(size)
	if d.bytes > d.peak {
		d.peak = d.bytes
	}
	d.mu.Unlock()
	b := &Buffer{d: d, id: id, n: n}
	b.cleanup = runtime.AddCleanup(b, func(id uint32) { go d.releaseID(id) }, id)
	return b, nil
}

// Upload allocates a buffer holding a copy of data.
func (d *Device) Upload(data []float32) (*Buffer, error) {
	b, err := d.NewBuffer(len(data))
	if err != nil {
		return nil, err
	}
	if err := b.Write(data); err != nil {
		b.Release()
		return nil, err
	}
	return b, nil
}

// Len is the number of float32s.
func (b *Buffer) Len() int { return b.n }

// Device returns the device that holds b.
func (b *Buffer) Device() *Device { return b.d }

func (b *Buffer) check(op string) {
	if b == nil || b.id == 0 {
		argPanic("", op, "buffer is released")
	}
}

// Write copies data into the start of b.
func (b *Buffer) Write(data []float32) error { return b.WriteAt(0, data) }

// WriteAt copies data into b starting at element off.
func (b *Buffer) WriteAt(off int, data []float32) error {
	b.check("upload")
	if off < 0 || off+len(data) > b.n {
		argPanic("", "upload", "writing %d floats at %d into a buffer of %d", len(data), off, b.n)
	}
	if len(data) == 0 {
		return nil
	}
	var err error
	b.d.do(func() { err = b.d.drv.upload(b.id, 4*off, unsafe.Pointer(&data[0]), 4*len(data)) })
	runtime.KeepAlive(data)
	if err != nil {
		return &Error{Op: "upload", Err: err}
	}
	return nil
}

// Read copies the start of b into dst (waiting for the dispatches that write b).
func (b *Buffer) Read(dst []float32) error { return b.ReadAt(0, dst) }

// ReadAt copies len(dst) float32s from element off of b into dst.
func (b *Buffer) ReadAt(off int, dst []float32) error {
	b.check("download")
	if off < 0 || off+len(dst) > b.n {
		argPanic("", "download", "reading %d floats at %d from a buffer of %d", len(dst), off, b.n)
	}
	if len(dst) == 0 {
		return nil
	}
	var err error
	b.d.do(func() { err = b.d.drv.download(b.id, 4*off, unsafe.Pointer(&dst[0]), 4*len(dst)) })
	runtime.KeepAlive(dst)
	if err != nil {
		return &Error{Op: "download", Err: err}
	}
	return nil
}

// Download returns a new slice with b's contents.
func (b *Buffer) Download() ([]float32, error) {
	out := make([]float32, b.n)
	return out, b.Read(out)
}

// CopyFrom copies n float32s from src[srcOff:] to b[dstOff:] on the device.
func (b *Buffer) CopyFrom(src *Buffer, srcOff, dstOff, n int) error {
	b.check("copy")
	src.check("copy")
	if srcOff < 0 || dstOff < 0 || n < 0 || srcOff+n > src.n || dstOff+n > b.n {
		argPanic("", "copy", "copying %d floats from %d of %d to %d of %d", n, srcOff, src.n, dstOff, b.n)
	}
	if n == 0 {
		return nil
	}
	var err error
	b.d.do(func() { err = b.d.drv.copyBuffer(src.id, b.id, 4*srcOff, 4*dstOff, 4*n) })
	if err != nil {
		return &Error{Op: "copy", Err: err}
	}
	return nil
}

// Release frees the device memory now. Releasing twice is harmless.
func (b *Buffer) Release() {
	if b == nil || b.id == 0 {
		return
	}
	b.cleanup.Stop()
	b.d.releaseID(b.id)
	b.id = 0
}

func (d *Device) releaseID(id uint32) {
	d.mu.Lock()
	size, ok := d.live[id]
	if ok {
		delete(d.live, id)
		d.bytes -= int64(size)
	}
	d.mu.Unlock()
	if !ok { // released already, or freed by Close
		return
	}
	d.tryDo(func() { d.drv.deleteBuffer(id) }) // a closed device freed everything

}
