package gpu

import (
	_ "embed"
	"fmt"
	"math"
	"slices"

	"github.com/furious-lab/furious/backend"
)

// Gather and scatter-add along an axis on resident tensors
// (backend.DeviceIndexer), the embedding lookup and its gradient
// (model_index.comp). The indices live on the host; each call writes them
// (for ScatterAdd their inverse, built on the host by a counting sort) into
// a scratch buffer of the device, the only upload of the call.

//go:embed model_index.comp
var indexSrc string

var _ backend.DeviceIndexer = Backend{}

// ints returns a scratch buffer holding v as int32s (the shader reads the
// buffer as int[]), and its release.
func (d *Device) ints(slot string, v []int32) (*Buffer, func(), error) {
	b, free, err := d.takeScratch(slot, max(len(v), 1))
	if err != nil {
		return nil, nil, err
	}
	if d.holds(slot, b, v) { // written by the last call already (a loss's targets, forward then backward)
		return b, free, nil
	}
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = math.Float32frombits(uint32(x))
	}
	if err := b.Write(f); err != nil {
		free()
		return nil, nil, err
	}
	d.remember(slot, b, v)
	return b, free, nil
}

// holds reports whether the scratch buffer b of slot still holds v, as
// remember recorded (a host write is a sync point on some drivers: see
// driver_gl.go's beforeWrite; so an unchanged index list is not written
// again).
func (d *Device) holds(slot string, b *Buffer, v []int32) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	w, ok := d.written[slot]
	return ok && w.buf == b && slices.Equal(w.ints, v)
}

// remember records that b, slot's scratch buffer, holds v.
func (d *Device) remember(slot string, b *Buffer, v []int32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.written == nil {
		d.written = map[string]written{}
	}
	d.written[slot] = written{b, slices.Clone(v)}
}

// written is what a scratch slot's buffer was last written with.
type written struct {
	buf  *Buffer
	ints []int32
}

// indexShape checks an index operation's sizes against its buffers: a
// holds (outer, na, inner), o (outer, no, inner), and every idx is in [0, n).
func indexShape(op string, outer, n, inner int, idx []int, a, o *Buffer, na, no int) error {
	if outer < 0 || n < 0 || inner < 0 || a.Len() < outer*na*inner || o.Len() < outer*no*inner {
		return fmt.Errorf("gpu.%s: (outer %d, n %d, inner %d) with %d indices: in %d, out %d values", op, outer, n, inner, len(idx), a.Len(), o.Len())
	}
	if outer*max(na, no)*inner > math.MaxInt32 || n >= math.MaxInt32 || len(idx) >= math.MaxInt32 {
		return fmt.Errorf("gpu.%s: %d×%d×%d values exceed 32-bit indices: %w", op, outer, max(na, no), inner, backend.ErrNotImplemented)
	}
	for j, v := range idx {
		if v < 0 || v >= n {
			return fmt.Errorf("gpu.%s: idx[%d] = %d is out of range [0, %d)", op, j, v, n)
		}
	}
	return nil
}

// GatherIndexDevice32 implements backend.DeviceIndexer: x viewed as
// (outer, n, inner) gives y (outer, len(idx), inner), y[q, j, i] =
// x[q, idx[j], i]. One invocation per element of y.
func (Backend) GatherIndexDevice32(x backend.DeviceBuffer, outer, n, inner int, idx []int, y backend.DeviceBuffer) error {
	d, bs, err := bufs("GatherIndexDevice32", x, y)
	if err != nil {
		return err
	}
	X, Y := bs[0], bs[1]
	m := len(idx)
	if err := indexShape("GatherIndexDevice32", outer, n, inner, idx, X, Y, n, m); err != nil {
		return err
	}
	total := outer * m * inner
	if total == 0 {
		return nil
	}
	iv := make([]int32, m)
	for j, v := range idx {
		iv[j] = int32(v)
	}
	I, free, err := d.ints("model.index", iv)
	if err != nil {
		return oom(err)
	}
	defer free()
	p, err := d.program("model_index.comp", indexSrc, "GATHER")
	if err != nil {
		return err
	}
	return oom(d.run(p, [3]int{min(ceilDiv(total, 256), 65535), 1, 1}, []*Buffer{X, I, Y},
		iarg("total", total), iarg("n", n), iarg("m", m), iarg("inner", inner)))
}

// ScatterAddDevice32 implements backend.DeviceIndexer: g (outer, len(idx),
// inner) summed into y (outer, n, inner) from zeros, y[q, idx[j], i] +=
// g[q, j, i]. Without atomics: the host inverts idx by a counting sort
// (for each r, the js with idx[j] = r, ascending), and one invocation per
// element of y sums its list in float32, in the order of package tensor's
// CPU loop (so the sums agree bit for bit).
func (Backend) ScatterAddDevice32(g backend.DeviceBuffer, outer, n, inner int, idx []int, y backend.DeviceBuffer) error {
	d, bs, err := bufs("ScatterAddDevice32", g, y)
	if err != nil {
		return err
	}
	G, Y := bs[0], bs[1]
	m := len(idx)
	if err := indexShape("ScatterAddDevice32", outer, n, inner, idx, G, Y, m, n); err != nil {
		return err
	}
	total := outer * n * inner
	if total == 0 {
		return nil
	}
	inv := make([]int32, n+1+m) // offsets (n+1), then the js grouped by idx[j]
	for _, v := range idx {
		inv[v+1]++
	}
	for r := 0; r < n; r++ {
		inv[r+1] += inv[r]
	}
	next := make([]int32, n)
	copy(next, inv[:n])
	for j, v := range idx {
		inv[n+1+int(next[v])] = int32(j)
		next[v]++
	}
	I, free, err := d.ints("model.index", inv)
	if err != nil {
		return oom(err)
	}
	defer free()
	p, err := d.program("model_index.comp", indexSrc, "SCATTER")
	if err != nil {
		return err
	}
	return oom(d.run(p, [3]int{min(ceilDiv(total, 256), 65535), 1, 1}, []*Buffer{G, I, Y},
		iarg("total", total), iarg("n", n), iarg("m", m), iarg("inner", inner)))
}

// PadDevice32 implements backend.DeviceIndexer: y (outer, before+m+after,
// inner) holds x (outer, m, inner) at positions before … before+m−1 of the
// middle axis and zeros elsewhere. One invocation per element of y, nothing
// uploaded.
func (Backend) PadDevice32(x backend.DeviceBuffer, outer, m, inner, before, after int, y backend.DeviceBuffer) error {
	d, bs, err := bufs("PadDevice32", x, y)
	if err != nil {
		return err
	}
	X, Y := bs[0], bs[1]
	n := before + m + after
	if outer < 0 || m < 0 || inner < 0 || before < 0 || after < 0 || X.Len() < outer*m*inner || Y.Len() < outer*n*inner {
		return fmt.Errorf("gpu.PadDevice32: (outer %d, m %d, inner %d) padded by %d and %d: in %d, out %d values", outer, m, inner, before, after, X.Len(), Y.Len())
	}
	if outer*n*inner > math.MaxInt32 {
		return fmt.Errorf("gpu.PadDevice32: %d×%d×%d values exceed 32-bit indices: %w", outer, n, inner, backend.ErrNotImplemented)
	}
	total := outer * n * inner
	if total == 0 {
		return nil
	}
	p, err := d.program("model_index.comp", indexSrc, "PAD")
	if err != nil {
		return err
	}
	return oom(d.run(p, [3]int{min(ceilDiv(total, 256), 65535), 1, 1}, []*Buffer{X, X, Y},
		iarg("total", total), iarg("n", n), iarg("m", m), iarg("inner", inner), iarg("before", before)))
}
