package gpu

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/furious-lab/furious/backend"
)

// Device is one OpenGL 4.3 context made through EGL, with the goroutine
// that owns it. It implements backend.Backend. All methods are safe for
// concurrent use: every GL call is queued to the device's thread.
//
// Calls whose result the caller does not need now (dispatches, writes from
// host memory, copies, deletes) are posted: queued without waiting. Calls
// that return something (reads, allocations the pool cannot serve,
// compiles, Finish, Stats) wait, and so wait for everything queued before
// them: the queue is one FIFO, and GL runs commands in the order given. A
// GL error or a panic in a posted call is kept and reported by the next
// call that returns an error (naming the shader); Sync reports it too.
type Device struct {
	jobs    chan func()
	drv     driver
	info    driverInfo
	freeKiB int64 // the driver's free video memory when the device opened; 0 unknown

	life   sync.RWMutex // held for reading while a job is queued; Close takes it to close the queue
	closed bool         // guarded by life

	mu       sync.Mutex
	programs map[string]*program
	live     map[uint32]int // buffer name → bytes, for Stats and the leak test
	bytes    int64
	peak     int64
	scratch  map[string]*scratch // buffers kept between calls (scratch.go)
	pool     pool                // released buffers for reuse (pool.go), guarded by mu
	written  map[string]written  // what int scratch slots hold (model_index.go), guarded by mu

	failed atomic.Pointer[failure] // the first failure of a posted call, until reported
	posted atomic.Int64            // calls posted so far (for tests and benchmarks)
	glNew  atomic.Int64            // buffers made by the driver (glBufferData) so far

	prof *profiler // the running profile (profile.go), or nil; GL thread only
}

// failure is what a posted call left behind: an error, or a panic's value.
type failure struct {
	err   error
	panic any
}

var _ backend.Backend = (*Device)(nil)

var (
	defaultOnce sync.Once
	defaultDev  *Device
	defaultErr  error
)

// Default returns the process's shared device, opened on first use. Its
// error wraps backend.ErrUnavailable and says why no context could be made.
func Default() (*Device, error) {
	defaultOnce.Do(func() {
		defaultDev, defaultErr = Open()
		defaultOpened.Store(defaultErr == nil)
	})
	return defaultDev, defaultErr
}

// defaultOpened is set once Default has opened the device.
var defaultOpened atomic.Bool

// Open makes a new OpenGL 4.3 core context on the first EGL device that
// gives one (then Mesa's surfaceless platform, then the default display),
// owned by a new goroutine locked to its OS thread. Close releases it.
func Open() (*Device, error) { return OpenDevice(-1) }

// OpenDevice is Open restricted to the EGL device with index i (i < 0: any).
func OpenDevice(i int) (*Device, error) {
	d := &Device{
		jobs:     make(chan func(), 4096),
		programs: map[string]*program{},
		live:     map[uint32]int{},
	}
	d.pool.init()
	errc := make(chan error)
	go d.loop(i, errc)
	if err := <-errc; err != nil {
		return nil, err
	}
	return d, nil
}

// loop is the GL thread: it makes the context current and runs jobs until
// the queue is closed. The thread stays locked, so it ends with the loop.
func (d *Device) loop(i int, errc chan<- error) {
	runtime.LockOSThread()
	drv, err := openDriver(i)
	if err != nil {
		errc <- err
		return
	}
	d.drv = drv
	d.info = drv.info()
	if v, ok := drv.freeVideoMemoryKiB(); ok && v > 0 {
		d.freeKiB = int64(v)
		d.pool.limit = int64(v) << 10 / 4
	}
	if v, err := strconv.ParseInt(os.Getenv("FURIOUS_GPU_POOL"), 10, 64); err == nil && v >= 0 {
		d.pool.limit = v // bytes; 0 keeps no released buffer
	}
	errc <- nil
	for f := range d.jobs {
		f()
	}
	drv.destroy()
}

// do runs f on the GL thread and waits for it. A panic in f is re-raised in
// the caller, not on the GL thread.
func (d *Device) do(f func()) {
	if !d.tryDo(f) {
		panic(&Error{Op: "use", Err: fmt.Errorf("device is closed")})
	}
}

// post queues f to the GL thread without waiting for it. An error that f
// returns, or a panic in f, is kept (the first one only) and reported by
// the next call that checks (pending), wrapped as an *Error naming shader
// and op. On a closed device post panics, as do does.
func (d *Device) post(shader, op string, f func() error) {
	if !d.tryPost(shader, op, f) {
		panic(&Error{Op: "use", Err: fmt.Errorf("device is closed")})
	}
}

// tryPost is post that returns false, queuing nothing, on a closed device.
func (d *Device) tryPost(shader, op string, f func() error) bool {
	d.life.RLock()
	defer d.life.RUnlock()
	if d.closed {
		return false
	}
	d.posted.Add(1)
	d.jobs <- func() {
		defer func() {
			if p := recover(); p != nil {
				d.failed.CompareAndSwap(nil, &failure{panic: p})
			}
		}()
		if err := f(); err != nil {
			d.failed.CompareAndSwap(nil, &failure{err: &Error{Shader: shader, Op: op, Err: fmt.Errorf("%w (reported by a later call: this one was queued)", err)}})
		}
	}
	return true
}

// pending returns, and forgets, the failure of a posted call that ran
// already; a panic there is re-raised here, in the caller. Calls that
// return an error check it first, so a failed dispatch is reported by the
// next call, naming its shader.
func (d *Device) pending() error {
	f := d.failed.Swap(nil)
	if f == nil {
		return nil
	}
	if f.panic != nil {
		panic(f.panic)
	}
	return f.err
}

// Sync waits until the GL thread has run everything queued before it and
// returns the first failure of a posted call (or GL error) not yet reported (it does not
// wait for the GPU: reads do that; Finish waits for the GPU).
func (d *Device) Sync() error {
	d.do(func() {
		if err := d.drv.check(); err != nil {
			d.failed.CompareAndSwap(nil, &failure{err: err})
		}
	})
	return d.pending()
}

// tryDo is do that returns false, running nothing, on a closed device.
func (d *Device) tryDo(f func()) bool {
	d.life.RLock()
	defer d.life.RUnlock()
	if d.closed {
		return false
	}
	done := make(chan any, 1)
	d.jobs <- func() {
		defer func() { done <- recover() }()
		f()
	}
	if p := <-done; p != nil {
		panic(p)
	}
	return true
}

// Close deletes the programs and buffers still held and destroys the
// context. Buffers of a closed device must not be used.
func (d *Device) Close() {
	d.life.RLock()
	closed := d.closed
	d.life.RUnlock()
	if closed {
		return
	}
	d.mu.Lock()
	progs := d.programs
	live := d.live
	d.programs = map[string]*program{}
	d.live = map[uint32]int{}
	d.scratch = nil
	liveBytes.Add(-d.bytes)
	d.bytes = 0
	pooled := d.pool.drain()
	d.mu.Unlock()
	d.do(func() {
		for _, p := range progs {
			d.drv.deleteProgram(p.id)
		}
		for id := range live {
			d.drv.deleteBuffer(id)
		}
		for _, id := range pooled {
			d.drv.deleteBuffer(id)
		}
	})
	d.life.Lock()
	d.closed = true
	close(d.jobs)
	d.life.Unlock()
}

// Name returns "gpu".
func (d *Device) Name() string { return "gpu" }

// Kind returns backend.GPU.
func (d *Device) Kind() backend.Kind { return backend.GPU }

// Describe is one line: renderer, GL version and how the context was made,
// e.g. "gpu: llvmpipe (LLVM 15.0.6, 256 bits), OpenGL 4.5 (Core Profile) Mesa 22.3.6, EGL device 0 of 1".
func (d *Device) Describe() string {
	in := d.info
	where := "EGL " + in.Platform
	if in.Platform == "device" {
		where = fmt.Sprintf("EGL device %d of %d", in.Device, in.Devices)
	}
	return fmt.Sprintf("gpu: %s, OpenGL %s, %s", in.Renderer, in.Version, where)
}

// Vendor is GL_VENDOR, e.g. "NVIDIA Corporation" or "Mesa/X.org".
func (d *Device) Vendor() string { return d.info.Vendor }

// Renderer is GL_RENDERER, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
func (d *Device) Renderer() string { return d.info.Renderer }

// Version is GL_VERSION, e.g. "4.5 (Core Profile) Mesa 22.3.6".
func (d *Device) Version() string { return d.info.Version }

// Software reports whether the renderer is a CPU rasteriser (Mesa's
// llvmpipe, softpipe, swrast): correct but slow, fine for tests.
func (d *Device) Software() bool {
	r := strings.ToLower(d.info.Renderer)
	return strings.Contains(r, "llvmpipe") || strings.Contains(r, "softpipe") || strings.Contains(r, "swrast")
}

// Capabilities lists float32 and the operations this package dispatches.
func (d *Device) Capabilities() backend.Capabilities {
	ops := map[string]bool{}
	for _, op := range Ops {
		ops[op] = true
	}
	return backend.Capabilities{Float32: true, Ops: ops}
}

// Ops names the operations with a shader, as Capabilities reports them.
var Ops = []string{"matmul", "add", "sub", "mul", "div", "scale", "exp", "softplus", "sum", "max", "cumsum", "segsum", "featuremap2", "attention", "ssd1", "ssd2", "quadratic1", "quadratic2", "rmsnorm", "conv1d"}

// Stats is the device's own accounting, for leak checks and banners.
type Stats struct {
	Buffers      int   // live buffers (in use, not counting the pool)
	Bytes        int64 // bytes in live buffers (not counting the pool)
	PeakBytes    int64 // most bytes live at once (not counting the pool)
	Pooled       int   // released buffers kept for reuse (pool.go)
	PooledBytes  int64 // their bytes: device memory held is Bytes + PooledBytes
	Created      int64 // buffers made by the driver so far (the rest came from the pool)
	Programs     int   // compiled programs in the cache
	FreeVideoKiB int   // free video memory from GL_NVX_gpu_memory_info; -1 when unknown
	ProgramNames []string
}

// Stats returns the device's accounting and the driver's free-memory
// counter when it has one.
func (d *Device) Stats() Stats {
	free := -1
	d.do(func() {
		if v, ok := d.drv.freeVideoMemoryKiB(); ok {
			free = v
		}
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	s := Stats{Buffers: len(d.live), Bytes: d.bytes, PeakBytes: d.peak, Pooled: d.pool.count, PooledBytes: d.pool.bytes,
		Created: d.glNew.Load(), Programs: len(d.programs), FreeVideoKiB: free}
	for k := range d.programs {
		s.ProgramNames = append(s.ProgramNames, k)
	}
	sort.Strings(s.ProgramNames)
	return s
}

// Finish blocks until the GPU has completed all queued work (glFinish). A
// failure of a posted call is left for the next call that returns an error
// (or Sync) to report.
func (d *Device) Finish() { d.do(func() { d.drv.finish() }) }
