package gpu

import (
	"errors"
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
	if err := d.pending(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	id, ok := d.pool.get(size)
	if ok {
		d.take(id, size)
	}
	d.mu.Unlock()
	d.noteAlloc(size, !ok) // pooled or new: every byte handed out counts (pool.go)
	if !ok {
		var err error
		if id, err = d.alloc(size); err != nil {
			return nil, err
		}
	}
	b := &Buffer{d: d, id: id, n: n}
	b.cleanup = runtime.AddCleanup(b, func(id uint32) { d.releaseID(id) }, id)
	return b, nil
}

// take records buffer id of size bytes as live. d.mu is held.
func (d *Device) take(id uint32, size int) {
	d.live[id] = size
	d.bytes += int64(size)
	liveBytes.Add(int64(size))
	if d.bytes > d.peak {
		d.peak = d.bytes
	}
}

// alloc makes a buffer of size bytes with the driver (the pool had none).
// When the driver is out of memory it empties the pool, collects garbage
// (whose cleanups return dropped buffers to the pool), takes a pooled
// buffer of the size if one came back, else empties the pool again and
// retries once.
func (d *Device) alloc(size int) (uint32, error) {
	var id uint32
	var err error
	d.do(func() { id, err = d.drv.newBuffer(size) })
	if err != nil && errors.Is(err, ErrOutOfMemory) {
		d.TrimPool()
		collect()
		d.mu.Lock()
		pid, ok := d.pool.get(size)
		if ok {
			d.take(pid, size)
		}
		d.mu.Unlock()
		if ok {
			return pid, nil
		}
		d.TrimPool()
		d.do(func() { id, err = d.drv.newBuffer(size) })
	}
	if e, ok := err.(*Error); ok {
		return 0, e // a queued dispatch's error, found here
	}
	if err != nil {
		return 0, &Error{Op: "allocate", Err: fmt.Errorf("%d bytes: %w", size, err)}
	}
	d.glNew.Add(1)
	d.mu.Lock()
	d.take(id, size)
	d.mu.Unlock()
	return id, nil
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
	if err := b.d.pending(); err != nil {
		return err
	}
	id := b.id
	if len(data) > syncUploadFloats {
		// Too big to copy: upload from data itself, waiting.
		var err error
		b.d.do(func() { err = b.d.drv.upload(id, 4*off, unsafe.Pointer(&data[0]), 4*len(data)) })
		runtime.KeepAlive(data)
		runtime.KeepAlive(b)
		if err != nil {
			return &Error{Op: "upload", Err: err}
		}
		return nil
	}
	// Posted: the copy is the caller's data as of now.
	cp := append([]float32(nil), data...)
	b.d.post("", "upload", func() error {
		return b.d.drv.upload(id, 4*off, unsafe.Pointer(&cp[0]), 4*len(cp))
	})
	runtime.KeepAlive(b)
	return nil
}

// syncUploadFloats is the largest write (16 Mi floats, 64 MiB) that is
// copied and posted; a bigger one waits instead of doubling host memory.
const syncUploadFloats = 16 << 20

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
	if err := b.d.pending(); err != nil {
		return err
	}
	var err error
	id := b.id
	b.d.do(func() { err = b.d.drv.download(id, 4*off, unsafe.Pointer(&dst[0]), 4*len(dst)) })
	runtime.KeepAlive(dst)
	runtime.KeepAlive(b)
	if err == nil {
		err = b.d.pending() // a failure of the work queued before the read
	}
	if err != nil {
		if _, ok := err.(*Error); ok {
			return err
		}
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
	if err := b.d.pending(); err != nil {
		return err
	}
	sid, did := src.id, b.id
	b.d.post("", "copy", func() error { return b.d.drv.copyBuffer(sid, did, 4*srcOff, 4*dstOff, 4*n) })
	runtime.KeepAlive(src)
	runtime.KeepAlive(b)
	return nil
}

// Release gives the device memory back now, to the device's pool of
// buffers for reuse (pool.go). Releasing twice is harmless.
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
		liveBytes.Add(-int64(size))
	}
	var evict []uint32
	if ok {
		evict = d.pool.put(id, size)
	}
	d.mu.Unlock()
	d.deleteIDs(evict) // nothing to do on a closed device, which freed everything
}
