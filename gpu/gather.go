package gpu

import (
	_ "embed"
	"fmt"

	"github.com/furious-lab/furious/backend"
)

//go:embed gather.comp
var gatherSrc string

// Gather copies a strided view of a into out: for every row-major index
// (i_0, …, i_{r−1}) of shape, out[flat(i)] = a[base + Σ_d i_d·strides[d]],
// r ≤ 8, out of product(shape) floats. It is Permute (strides permuted) and
// Slice (base at the first kept element) of package tensor, on the device.
// Offsets must fit in int32.
func (d *Device) Gather(out, a *Buffer, base int, shape, strides []int) error {
	const name = "gather.comp"
	if len(shape) != len(strides) || len(shape) > 8 {
		argPanic(name, "dispatch", "shape %v and strides %v (rank ≤ 8, one stride per axis)", shape, strides)
	}
	n, last := 1, base
	for i, s := range shape {
		if s < 0 || strides[i] < 0 {
			argPanic(name, "dispatch", "shape %v, strides %v: negative entry", shape, strides)
		}
		n *= s
		if s > 0 {
			last += (s - 1) * strides[i]
		}
	}
	if n == 0 {
		return nil
	}
	if base < 0 || last >= a.Len() || out.Len() < n || last > 1<<31-1 {
		argPanic(name, "dispatch", "view of %d values from %d (last %d) of a buffer of %d into one of %d", n, base, last, a.Len(), out.Len())
	}
	p, err := d.program(name, gatherSrc)
	if err != nil {
		return err
	}
	args := []arg{iarg("n", n), iarg("rank", len(shape)), iarg("base", base)}
	for i := range shape {
		args = append(args, iarg(fmt.Sprintf("shape[%d]", i), shape[i]), iarg(fmt.Sprintf("stride[%d]", i), strides[i]))
	}
	return d.run(p, [3]int{min(ceilDiv(n, 256), 65535), 1, 1}, []*Buffer{a, out}, args...)
}

var _ backend.DeviceGatherer = Backend{}

// GatherDevice32 implements backend.DeviceGatherer with Gather.
func (Backend) GatherDevice32(x backend.DeviceBuffer, base int, shape, strides []int, y backend.DeviceBuffer) error {
	d, bs, err := bufs("GatherDevice32", x, y)
	if err != nil {
		return err
	}
	if len(shape) > 8 || len(shape) != len(strides) {
		return fmt.Errorf("gpu.GatherDevice32: rank %d (≤ 8 with one stride per axis): %w", len(shape), backend.ErrNotImplemented)
	}
	return oom(d.Gather(bs[1], bs[0], base, shape, strides))
}
