package gpu

import (
	"runtime"
	"sync/atomic"
	"time"
)

// pool keeps released buffers by exact byte size, so that NewBuffer of a
// size seen before takes one without a GL call: a training step allocates
// the same sizes every step. Its total is bounded by limit; a buffer that
// would pass it evicts others (any size) and, bigger than limit itself, is
// deleted. Guarded by Device.mu.
//
// Reuse is safe without waiting for the GPU: every GL call of a device
// goes through one FIFO queue to one context, GL executes commands in the
// order they were issued, and every dispatch ends with a memory barrier
// (SHADER_STORAGE and BUFFER_UPDATE bits) that makes its writes visible to
// the commands after it. So a dispatch that writes a reused buffer runs
// after every earlier command that read or wrote it under its previous
// owner, exactly as if it were a fresh buffer. Callers keep a *Buffer
// reachable until its commands are queued (runtime.KeepAlive), so a
// garbage-collected buffer enters the pool only after its last command.
type pool struct {
	free  map[int][]uint32 // byte size → buffer names, last released last
	count int              // buffers in free
	bytes int64            // their bytes
	limit int64            // most bytes kept
}

// defaultPoolLimit is the pool's bound where the driver does not say how
// much memory the device has: 1 GiB.
const defaultPoolLimit = 1 << 30

func (p *pool) init() {
	p.free = map[int][]uint32{}
	p.limit = defaultPoolLimit
}

// get takes a buffer of exactly size bytes, if one is kept.
func (p *pool) get(size int) (uint32, bool) {
	ids := p.free[size]
	if len(ids) == 0 {
		return 0, false
	}
	id := ids[len(ids)-1]
	if len(ids) == 1 {
		delete(p.free, size)
	} else {
		p.free[size] = ids[:len(ids)-1]
	}
	p.count--
	p.bytes -= int64(size)
	return id, true
}

// put keeps buffer id of size bytes and returns the names to delete (id
// itself when it is bigger than the limit, else others evicted to make room).
func (p *pool) put(id uint32, size int) (evict []uint32) {
	if int64(size) > p.limit {
		return []uint32{id}
	}
	for s, ids := range p.free {
		if p.bytes+int64(size) <= p.limit {
			break
		}
		for len(ids) > 0 && p.bytes+int64(size) > p.limit {
			evict = append(evict, ids[len(ids)-1])
			ids = ids[:len(ids)-1]
			p.count--
			p.bytes -= int64(s)
		}
		if len(ids) == 0 {
			delete(p.free, s)
		} else {
			p.free[s] = ids
		}
	}
	p.free[size] = append(p.free[size], id)
	p.count++
	p.bytes += int64(size)
	return evict
}

// drain empties the pool and returns the names it kept.
func (p *pool) drain() []uint32 {
	var out []uint32
	for _, ids := range p.free {
		out = append(out, ids...)
	}
	p.free = map[int][]uint32{}
	p.count, p.bytes = 0, 0
	return out
}

// SetPoolLimit bounds the bytes of released buffers the device keeps for
// reuse (0: keep none), trimming the pool now when it holds more. The
// default is a quarter of the free video memory at Open where the driver
// reports it (GL_NVX_gpu_memory_info), else 1 GiB.
func (d *Device) SetPoolLimit(bytes int64) {
	if bytes < 0 {
		bytes = 0
	}
	d.mu.Lock()
	d.pool.limit = bytes
	var evict []uint32
	if d.pool.bytes > bytes {
		evict = d.pool.drain()
	}
	d.mu.Unlock()
	d.deleteIDs(evict)
}

// TrimPool deletes every buffer the pool keeps.
func (d *Device) TrimPool() {
	d.mu.Lock()
	ids := d.pool.drain()
	d.mu.Unlock()
	d.deleteIDs(ids)
}

// deleteIDs queues the deletion of buffer names (nothing on a closed
// device, whose buffers Close deleted).
func (d *Device) deleteIDs(ids []uint32) {
	if len(ids) == 0 {
		return
	}
	d.tryPost("", "free", func() error {
		for _, id := range ids {
			d.drv.deleteBuffer(id)
		}
		return nil
	})
}

// Garbage collection and device memory. The Go collector does not see GPU
// memory: a program that drops its results unreleased (autograd's
// intermediates) would fill the device long before the Go heap grows
// enough to collect the small *Buffer headers. So every byte handed out
// (from the pool or new from the driver) is counted, as Go's pacer counts
// heap allocation, and past gcEvery since the last collection a
// collection is started in the background; its cleanups return the
// dropped buffers to the pool, where the next allocations find them.
// Counting pooled bytes too matters: were only the driver's counted, a
// step served from the pool would never trigger a collection, the step
// after it would find the pool empty and make every buffer anew (about
// 30 µs to 2 ms each on NVIDIA's driver for 1 KiB to 45 MB), and steps
// would alternate between fast and slow.
var (
	sinceGC   atomic.Int64 // bytes handed out (pooled or new) since the last GC cycle
	gcRunning atomic.Bool  // a forced collection is under way
	liveBytes atomic.Int64 // bytes in live buffers of all devices
	liveAtGC  atomic.Int64 // liveBytes when the last GC cycle ended
)

func init() { watchGC() }

// watchGC resets sinceGC at every garbage collection, however started, and
// notes the live bytes then: a cleanup on a fresh object runs after each
// cycle and re-arms itself.
func watchGC() {
	runtime.AddCleanup(new([16]byte), func(struct{}) {
		sinceGC.Store(0)
		liveAtGC.Store(liveBytes.Load())
		watchGC()
	}, struct{}{})
}

// noteAlloc counts size bytes handed out and starts a collection in the
// background when more than gcEvery bytes were handed out since the last,
// or when the pool had no buffer for this one (miss) and at least
// gcMissFloor bytes were handed out since the last: an empty pool says the
// dropped buffers wait for a collection. Without the second rule a process
// whose live device memory is large (gcEvery grows with it) and whose
// steps are short made new driver buffers for many steps between
// collections: on the H100, after the other GPU tests in the process, 143
// new buffers in 20 steps of a small model against 104 in its first
// (TestTrainStepReusesBuffers after TestTrainStepGPU, 2026-12-06). On
// llvmpipe in that order: 25, 32 and 61 new buffers in the 20 steps
// before this rule, 6, 7 and 8 with it; on the H100 with it 15 and 17 (the
// test passes there; bench/results/train-h100-2026-12-06e.txt).
func (d *Device) noteAlloc(size int, miss bool) {
	n := sinceGC.Add(int64(size))
	if n <= d.gcEvery() && !(miss && n >= gcMissFloor) {
		return
	}
	if gcRunning.CompareAndSwap(false, true) {
		sinceGC.Store(0)
		go func() {
			runtime.GC()
			gcRunning.Store(false)
		}()
	}
}

// gcMissFloor is the bytes handed out since the last collection after
// which a pool miss starts one (noteAlloc): gcEvery's floor.
const gcMissFloor = 4 << 20

// gcEvery is the bytes handed out after which a collection is forced: as many
// as were live after the last one (as GOGC=100 does for the heap), at
// least 4 MiB and at most half the pool's limit (so that what one
// collection returns fits in the pool). A training step drops its
// intermediates unreleased; were they collected only every few GiB, every
// op of every step in between would make a new driver buffer (glGenBuffers
// and glBufferStorage, about 30 µs each on NVIDIA's driver, ten times the
// dispatch) instead of taking one from the pool. The floor was 64 MiB: a
// small model's step hands out a few MiB, so the pool ran dry for many
// steps between collections (TestTrainStepReusesBuffers: 773 new buffers
// in 20 steps against 39 now).
func (d *Device) gcEvery() int64 {
	d.mu.Lock()
	l := d.pool.limit / 2
	d.mu.Unlock()
	return min(max(liveAtGC.Load(), gcMissFloor), max(l, gcMissFloor))
}

// collect runs a garbage collection and waits (up to a second) for its
// cleanups, which return dropped buffers to the pool.
func collect() {
	for range 2 {
		done := make(chan struct{})
		runtime.AddCleanup(new([16]byte), func(c chan struct{}) { close(c) }, done)
		runtime.GC()
		select {
		case <-done:
		case <-time.After(time.Second):
		}
	}
}
