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
	if shape, strides, ok := batchedTranspose(shape, strides, ostrides); ok {
		p, err := d.program(name, gatherSrc, "TRANSPOSE")
		if err != nil {
			return err
		}
		return d.run(p, [3]int{ceilDiv(shape[2], 32), ceilDiv(shape[1], 32), shape[0]}, []*Buffer{a, out},
			iarg("base", base), iarg("obase", obase), iarg("shape[1]", shape[1]), iarg("shape[2]", shape[2]),
			iarg("stride[0]", strides[0]), iarg("stride[2]", strides[2]))
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

// batchedTranspose reports whether a gather of shape (B, R, C) or (R, C)
// writes a packed result from a view whose second-to-last axis is
// contiguous (stride 1): a batch of transposes, which gather.comp's
// TRANSPOSE copies through shared-memory tiles (coalesced reads and
// writes; the attention's Kᵀ, the norm's weight gradient). It returns the
// shape and strides as rank 3.
func batchedTranspose(shape, strides, ostrides []int) ([]int, []int, bool) {
	r := len(shape)
	if r < 2 || r > 3 || strides[r-2] != 1 || shape[r-1] < 2 {
		return nil, nil, false
	}
	for i, s := r-1, 1; i >= 0; i-- {
		if ostrides[i] != s && shape[i] > 1 {
			return nil, nil, false
		}
		s *= shape[i]
	}
	if r == 2 {
		shape, strides = []int{1, shape[0], shape[1]}, []int{0, 1, strides[1]}
	}
	if shape[0] > 65535 || ceilDiv(shape[1], 32) > 65535 || ceilDiv(shape[2], 32) > 65535 {
		return nil, nil, false
	}
	return shape, strides, true
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
