package gpu

import (
	"fmt"
	"math"
	"runtime"
	"testing"
)

// TestPoolReuse releases a buffer and allocates one of the same size: it
// comes from the pool (no new driver buffer), and a dispatch queued before
// the release still reads the old contents while the new owner's write,
// queued after, is what the new owner reads.
func TestPoolReuse(t *testing.T) {
	d := device(t)
	const n = 777
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = float32(i)/n, -float32(i)
	}
	a := upload(t, d, x)
	out, err := d.NewBuffer(n)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if err := d.Exp(out, a); err != nil {
		t.Fatal(err)
	}
	created := d.Stats().Created
	a.Release()
	b, err := d.NewBuffer(n)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	if got := d.Stats().Created; got != created {
		t.Errorf("a buffer of a released size was made by the driver (%d made before, %d after)", created, got)
	}
	if err := b.Write(y); err != nil {
		t.Fatal(err)
	}
	want := make([]float64, n)
	for i := range want {
		want[i] = math.Exp(float64(x[i]))
	}
	compare(t, "exp of the released buffer", download(t, out), want, nil, 1e-6)
	for i := range want {
		want[i] = float64(y[i])
	}
	compare(t, "the reused buffer", download(t, b), want, nil, 0)
}

// TestSteadyStateAllocations runs an allocate–dispatch–release op many
// times: after the first, no buffer is made by the driver.
func TestSteadyStateAllocations(t *testing.T) {
	d := device(t)
	x := upload(t, d, []float32{0.5, 1, 2})
	defer x.Release()
	op := func() {
		y, err := d.NewBuffer(3)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Exp(y, x); err != nil {
			t.Fatal(err)
		}
		y.Release()
	}
	op()
	before := d.Stats()
	for range 200 {
		op()
	}
	after := d.Stats()
	if after.Created != before.Created || after.Buffers != before.Buffers || after.Bytes != before.Bytes {
		t.Errorf("200 steady-state ops: driver buffers made %d → %d, live %d → %d (%d → %d bytes); want no change",
			before.Created, after.Created, before.Buffers, after.Buffers, before.Bytes, after.Bytes)
	}
}

// TestQueuedWorkBeforeRead posts 100 dependent dispatches and reads once:
// the read sees all of them.
func TestQueuedWorkBeforeRead(t *testing.T) {
	d := device(t)
	b := upload(t, d, []float32{1, 2})
	defer b.Release()
	for range 100 {
		if err := d.Scale(b, b, 1, 1); err != nil {
			t.Fatal(err)
		}
	}
	compare(t, "after 100 queued increments", download(t, b), []float64{101, 102}, nil, 0)
}

// TestPostedPanic: a panic in a posted call is re-raised in the caller of
// the next call that checks, not lost on the GL thread.
func TestPostedPanic(t *testing.T) {
	d := device(t)
	d.post("panic.comp", "test", func() error { panic("boom in a queued call") })
	func() {
		defer func() {
			if p := recover(); fmt.Sprint(p) != "boom in a queued call" {
				t.Errorf("Sync after a panicking posted call recovered %v", p)
			}
		}()
		d.Sync()
	}()
	if err := d.Sync(); err != nil {
		t.Errorf("the panic was reported twice: %v", err)
	}
}

// TestPoolAfterGC drops buffers unreleased: a garbage collection returns
// them to the pool, and the live accounting falls back.
func TestPoolAfterGC(t *testing.T) {
	d := device(t)
	collect()
	before := d.Stats()
	const n, count = 1000, 20
	func() {
		for range count {
			if _, err := d.NewBuffer(n); err != nil {
				t.Fatal(err)
			}
		}
	}()
	if s := d.Stats(); s.Buffers < before.Buffers+count {
		t.Fatalf("%d live buffers after allocating %d, had %d", s.Buffers, count, before.Buffers)
	}
	collect()
	after := d.Stats()
	if after.Buffers > before.Buffers || after.Bytes > before.Bytes {
		t.Errorf("after GC: %d live buffers (%d bytes), before %d (%d bytes)", after.Buffers, after.Bytes, before.Buffers, before.Bytes)
	}
	if after.Pooled < count {
		t.Errorf("after GC the pool holds %d buffers, want at least %d", after.Pooled, count)
	}
	created := after.Created
	for range count {
		b, err := d.NewBuffer(n)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Release()
	}
	if got := d.Stats().Created; got != created {
		t.Errorf("%d buffers made by the driver although the pool held the size", got-created)
	}
}

// TestGCPressure drops 1 MiB results unreleased, 300 MiB in all, with a
// pool of 128 MiB (a collection every 64 MiB of fresh device bytes): the
// collections return them to the pool, so the driver makes far fewer than
// 300 buffers.
func TestGCPressure(t *testing.T) {
	d := device(t)
	d.mu.Lock()
	old := d.pool.limit
	d.mu.Unlock()
	defer d.SetPoolLimit(old)
	d.SetPoolLimit(128 << 20)
	x := upload(t, d, make([]float32, 1<<18))
	defer x.Release()
	collect()
	created := d.Stats().Created
	for range 300 {
		y, err := d.NewBuffer(1 << 18)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Exp(y, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	s := d.Stats()
	t.Logf("300 dropped 1 MiB results: %d buffers made by the driver, %d live, %d pooled (%d MiB)", s.Created-created, s.Buffers, s.Pooled, s.PooledBytes>>20)
	if s.Created-created >= 250 {
		t.Errorf("the driver made %d of 300 dropped buffers: garbage collection did not return them", s.Created-created)
	}
	collect()
	d.TrimPool()
	runtime.GC()
}

// TestPoolLimit: the pool never holds more than its limit.
func TestPoolLimit(t *testing.T) {
	d := device(t)
	d.mu.Lock()
	old := d.pool.limit
	d.mu.Unlock()
	defer d.SetPoolLimit(old)
	d.SetPoolLimit(10 << 10)
	var bs []*Buffer
	for range 8 {
		b, err := d.NewBuffer(1000) // 4,000 bytes
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
	for _, b := range bs {
		b.Release()
	}
	if s := d.Stats(); s.PooledBytes > 10<<10 {
		t.Errorf("the pool holds %d bytes, limit %d", s.PooledBytes, 10<<10)
	}
	d.SetPoolLimit(0)
	if s := d.Stats(); s.Pooled != 0 {
		t.Errorf("with limit 0 the pool holds %d buffers", s.Pooled)
	}
}

// TestGCEvery checks the forced-collection threshold: the live bytes at the
// last collection, at least 4 MiB, at most half the pool's limit (a large
// limit, as NVIDIA's free memory gives, must not postpone collections for
// GiBs of fresh driver buffers).
func TestGCEvery(t *testing.T) {
	d := device(t)
	d.mu.Lock()
	old := d.pool.limit
	d.mu.Unlock()
	defer d.SetPoolLimit(old)
	oldLive := liveAtGC.Load()
	defer liveAtGC.Store(oldLive)
	d.SetPoolLimit(40 << 30)
	for _, c := range []struct{ live, want int64 }{{0, 4 << 20}, {1 << 30, 1 << 30}, {100 << 30, 20 << 30}} {
		liveAtGC.Store(c.live)
		if got := d.gcEvery(); got != c.want {
			t.Errorf("live %d at the last GC, pool limit 40 GiB: gcEvery %d, want %d", c.live, got, c.want)
		}
	}
}
