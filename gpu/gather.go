package gpu

import (
	_ "embed"
	"fmt"

	"github.com/furious-lab/furious/backend"
)

//go:embed gather.comp
var gatherSrc string

// Gather copies a strided view of a into one of out: for every index
// (i_0, …, i_{r−1}) of shape, out[obase + Σ_d i_d·ostrides[d]] =
// a[base + Σ_d i_d·strides[d]], r ≤ 8; nil ostrides are the row-major
// strides of shape (a packed result). It is Permute (strides permuted),
// Slice (base at the first kept element) and Concat (each input into its
// place) of package tensor, on the device. Offsets must fit in int32.
func (d *Device) Gather(out *Buffer, obase int, ostrides []int, a *Buffer, base int, strides []int, shape []int) error {
	const name = "gather.comp"
	r := len(shape)
	if ostrides == nil {
		ostrides = make([]int, r)
		for i, s := r-1, 1; i >= 0; i-- {
			ostrides[i] = s
			s *= shape[i]
		}
	}
	if len(strides) != r || len(ostrides) != r || r > 8 {
		argPanic(name, "dispatch", "shape %v, strides %v and %v (rank ≤ 8, one stride per axis)", shape, strides, ostrides)
	}
	n, last, olast := 1, base, obase
	for i, s := range shape {
		if s < 0 || strides[i] < 0 || ostrides[i] < 0 {
			argPanic(name, "dispatch", "shape %v, strides %v, %v: negative entry", shape, strides, ostrides)
		}
		n *= s
		if s > 0 {
			last += (s - 1) * strides[i]
			olast += (s - 1) * ostrides[i]
		}
	}
	if n == 0 {
		return nil
	}
	if base < 0 || obase < 0 || last >= a.Len() || olast >= out.Len() || max(last, olast) > 1<<31-1 {
		argPanic(name, "dispatch", "%d values from %d (last %d) of a buffer of %d to %d (last %d) of one of %d", n, base, last, a.Len(), obase, olast, out.Len())
	}
	p, err := d.program(name, gatherSrc)
	if err != nil {
		return err
	}
	args := []arg{iarg("n", n), iarg("rank", r), iarg("base", base), iarg("obase", obase)}
	for i := range shape {
		args = append(args, iarg(fmt.Sprintf("shape[%d]", i), shape[i]),
			iarg(fmt.Sprintf("stride[%d]", i), strides[i]), iarg(fmt.Sprintf("ostride[%d]", i), ostrides[i]))
	}
	return d.run(p, [3]int{min(ceilDiv(n, 256), 65535), 1, 1}, []*Buffer{a, out}, args...)
}

var _ backend.DeviceGatherer = Backend{}

// GatherDevice32 implements backend.DeviceGatherer with Gather.
func (Backend) GatherDevice32(x backend.DeviceBuffer, base int, strides []int, y backend.DeviceBuffer, ybase int, ystrides []int, shape []int) error {
	d, bs, err := bufs("GatherDevice32", x, y)
	if err != nil {
		return err
	}
	if len(shape) > 8 || len(shape) != len(strides) || (ystrides != nil && len(ystrides) != len(shape)) {
		return fmt.Errorf("gpu.GatherDevice32: rank %d (≤ 8 with one stride per axis): %w", len(shape), backend.ErrNotImplemented)
	}
	return oom(d.Gather(bs[1], ybase, ystrides, bs[0], base, strides, shape))
}
