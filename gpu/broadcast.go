package gpu

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/furious-lab/furious/backend"
)

//go:embed broadcast.comp
var broadcastSrc string

var broadcastOps = map[string]bool{"add": true, "sub": true, "mul": true, "div": true, "maximum": true, "minimum": true}

// Broadcast sets out[flat(i)] = a[Σ_d i_d·stridesA[d]] ∘ b[Σ_d i_d·stridesB[d]]
// for every row-major index i of shape (rank ≤ 8; stride 0 on a broadcast
// axis), ∘ one of "add", "sub", "mul", "div", "maximum", "minimum" (NaN
// when either operand is NaN). Offsets must fit in int32.
func (d *Device) Broadcast(op string, out, a *Buffer, stridesA []int, b *Buffer, stridesB []int, shape []int) error {
	const name = "broadcast.comp"
	if !broadcastOps[op] {
		argPanic(name, op, "unknown function (want add, sub, mul, div, maximum or minimum)")
	}
	r := len(shape)
	if r > 8 || len(stridesA) != r || len(stridesB) != r {
		argPanic(name, op, "shape %v, strides %v and %v (rank ≤ 8, one stride per axis)", shape, stridesA, stridesB)
	}
	n, lastA, lastB := 1, 0, 0
	for i, s := range shape {
		if s < 0 || stridesA[i] < 0 || stridesB[i] < 0 {
			argPanic(name, op, "shape %v, strides %v, %v: negative entry", shape, stridesA, stridesB)
		}
		n *= s
		if s > 0 {
			lastA += (s - 1) * stridesA[i]
			lastB += (s - 1) * stridesB[i]
		}
	}
	if n == 0 {
		return nil
	}
	if lastA >= a.Len() || lastB >= b.Len() || out.Len() < n || n > 1<<31-1 {
		argPanic(name, op, "%d outputs from a (last %d of %d) and b (last %d of %d) into %d", n, lastA, a.Len(), lastB, b.Len(), out.Len())
	}
	p, err := d.program(name, broadcastSrc, strings.ToUpper(op))
	if err != nil {
		return err
	}
	args := []arg{iarg("n", n), iarg("rank", r)}
	for i := range shape {
		args = append(args, iarg(fmt.Sprintf("shape[%d]", i), shape[i]),
			iarg(fmt.Sprintf("sa[%d]", i), stridesA[i]), iarg(fmt.Sprintf("sb[%d]", i), stridesB[i]))
	}
	return d.run(p, [3]int{min(ceilDiv(n, 256), 65535), 1, 1}, []*Buffer{a, b, out}, args...)
}

var _ backend.DeviceBroadcaster = Backend{}

// BroadcastDevice32 implements backend.DeviceBroadcaster with Broadcast.
func (Backend) BroadcastDevice32(op string, a backend.DeviceBuffer, stridesA []int, b backend.DeviceBuffer, stridesB []int, shape []int, y backend.DeviceBuffer) error {
	d, bs, err := bufs("BroadcastDevice32", a, b, y)
	if err != nil {
		return err
	}
	if !broadcastOps[op] || len(shape) > 8 {
		return fmt.Errorf("gpu.BroadcastDevice32(%q): rank %d: %w", op, len(shape), backend.ErrNotImplemented)
	}
	return oom(d.Broadcast(op, bs[2], bs[0], stridesA, bs[1], stridesB, shape))
}
