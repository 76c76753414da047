package gpu

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rssBytes is the process's resident memory from /proc (0 where there is
// none). A software renderer keeps buffers in host memory, so a leak of
// GL buffers shows here.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// TestNoLeak runs 1,000 cycles of what a notebook cell does with GPU
// tensors (allocate, upload, compute, download, release) and checks that
// our accounting returns to where it was, and that the driver's free-memory
// counter (NVIDIA) or the resident memory (software renderers) did not grow
// by more than a few cycles' worth.
func TestNoLeak(t *testing.T) {
	d := device(t)
	const n = 1 << 18 // 1 MiB per buffer, 3 buffers per cycle
	r := rand.New(rand.NewPCG(7, 8))
	x := randFloats(r, n)
	cycle := func() {
		a := upload(t, d, x)
		b, err := d.NewBuffer(n)
		if err != nil {
			t.Fatal(err)
		}
		c, err := d.NewBuffer(16)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.MatMul(a, a, b, 1, 512, 1, 512, false, false); err != nil {
			t.Fatal(err)
		}
		if err := b.ReadAt(0, c4[:]); err != nil {
			t.Fatal(err)
		}
		a.Release()
		b.Release()
		c.Release()
	}
	for i := 0; i < 20; i++ { // warm up caches and driver pools
		cycle()
	}
	d.Finish()
	const slack = 32 << 20 // a few cycles' worth; 1,000 leaked cycles would be 2 GiB
	before, rss0 := d.Stats(), rssBytes()
	for i := 0; i < 1000; i++ {
		cycle()
	}
	d.Finish()
	after, rss1 := d.Stats(), rssBytes()
	// Drivers may return freed memory a little later: give them a second.
	for i := 0; i < 20 && before.FreeVideoKiB >= 0 && before.FreeVideoKiB-after.FreeVideoKiB > slack>>10; i++ {
		time.Sleep(50 * time.Millisecond)
		after = d.Stats()
	}
	t.Logf("before: %d buffers, %d bytes, free video %d KiB, RSS %d MiB; after: %d buffers, %d bytes, free video %d KiB, RSS %d MiB",
		before.Buffers, before.Bytes, before.FreeVideoKiB, rss0>>20, after.Buffers, after.Bytes, after.FreeVideoKiB, rss1>>20)
	if after.Buffers != before.Buffers || after.Bytes != before.Bytes {
		t.Errorf("live buffers went from %d (%d bytes) to %d (%d bytes)", before.Buffers, before.Bytes, after.Buffers, after.Bytes)
	}
	if before.FreeVideoKiB >= 0 && int64(before.FreeVideoKiB-after.FreeVideoKiB)<<10 > slack {
		t.Errorf("free video memory fell by %d KiB over 1,000 cycles", before.FreeVideoKiB-after.FreeVideoKiB)
	}
	if d.Software() && rss0 > 0 && rss1-rss0 > slack {
		t.Errorf("resident memory grew by %d MiB over 1,000 cycles", (rss1-rss0)>>20)
	}
}

var c4 [4]float32
