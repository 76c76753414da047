//go:build gl && cgo

package gpu

import (
	"testing"

	"github.com/go-gl/gl/v4.3-core/gl"
)

// With -gl.debug the benchmarks turn on the driver's debug output
// (KHR_debug, read from its message log rather than through a callback)
// and print what it logged: NVIDIA's driver says there where it places
// each buffer (video or host memory) and when it moves one.
func init() {
	glDebugOn = func(d *Device) {
		d.do(func() {
			gl.Enable(gl.DEBUG_OUTPUT)
			gl.Enable(gl.DEBUG_OUTPUT_SYNCHRONOUS)
			gl.DebugMessageControl(gl.DONT_CARE, gl.DONT_CARE, gl.DONT_CARE, 0, nil, true)
			for gl.GetError() != gl.NO_ERROR {
			}
		})
	}
	glDebugDrain = func(d *Device) []string {
		var msgs []string
		d.do(func() {
			var maxLen int32
			gl.GetIntegerv(gl.MAX_DEBUG_MESSAGE_LENGTH, &maxLen)
			if maxLen <= 0 {
				maxLen = 4096
			}
			buf := make([]byte, maxLen)
			var length int32
			for i := 0; i < 10000; i++ {
				var src, typ, id, sev uint32
				n := gl.GetDebugMessageLog(1, maxLen, &src, &typ, &id, &sev, &length, &buf[0])
				if n == 0 {
					break
				}
				msgs = append(msgs, string(buf[:max(length-1, 0)]))
			}
			for gl.GetError() != gl.NO_ERROR {
			}
		})
		return msgs
	}
}

// TestHostWritesOrdered checks that host writes are ordered against the
// dispatches around them (driver_gl.go, beforeWrite): a sum over a large
// buffer, then an upload of zeros into that buffer, must give the sum of
// the old values (write after read); an upload of ones into a buffer, then
// its sum, must count them all (read after write). It runs with the guard
// and without it (FURIOUS_GPU_WRITESYNC=none), logging whether this driver
// reorders the unguarded pattern (neither Mesa nor the H100 did).
func TestHostWritesOrdered(t *testing.T) {
	d := device(t)
	const n = 1 << 22
	ones, zeros := make([]float32, n), make([]float32, n)
	for i := range ones {
		ones[i] = 1
	}
	mode := func(unordered bool) (old bool) {
		d.do(func() { g := d.drv.(*glDriver); old, g.unordered = g.unordered, unordered })
		return
	}
	defer mode(mode(false))
	for _, m := range []string{"ordered", "none"} {
		mode(m == "none")
		bad := 0
		for round := 0; round < 3; round++ {
			x := upload(t, d, ones)
			s1, s2 := upload(t, d, []float32{0}), upload(t, d, []float32{0})
			if err := d.SumRows(s1, x, 1, n); err != nil { // one work group: slow
				t.Fatal(err)
			}
			if err := x.Write(zeros); err != nil { // after the sum's reads
				t.Fatal(err)
			}
			if err := x.Write(ones); err != nil {
				t.Fatal(err)
			}
			if err := d.SumRows(s2, x, 1, n); err != nil { // right after the upload
				t.Fatal(err)
			}
			a, b := download(t, s1)[0], download(t, s2)[0]
			if a != n || b != n {
				bad++
				t.Logf("writesync %q: sums %v and %v, want %d", m, a, b, n)
			}
			for _, y := range []*Buffer{x, s1, s2} {
				y.Release()
			}
		}
		switch {
		case m != "none" && bad > 0:
			t.Errorf("writesync %q: host writes not ordered against dispatches in %d of 3 rounds", m, bad)
		case m == "none" && bad > 0:
			t.Logf("this driver reorders unguarded host writes (%d of 3 rounds): the guard is needed here", bad)
		case m == "none":
			t.Logf("this driver kept unguarded host writes in order (3 of 3 rounds)")
		}
	}
}
