package gpu

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/furious-lab/furious/backend"
)

//go:embed reduceaxis.comp
var reduceAxisSrc string

// ReduceAxis reduces the middle axis of a (outer, n, inner) into out
// (outer, inner): op "sum" or "mean" accumulate in double in index order
// and round once, "max" and "min" propagate NaN, as package tensor's CPU
// code does; "cumsum" writes the inclusive running sums (double, rounded
// once each) into out (outer, n, inner), "reversecumsum" those from the
// end (out_j = Σ_{i≥j} a_i). One invocation per output row:
// made for the reductions of resident tensors, not for one huge sum.
// n ≥ 1 for max and min.
func (d *Device) ReduceAxis(op string, out, a *Buffer, outer, n, inner int) error {
	const name = "reduceaxis.comp"
	switch op {
	case "sum", "mean", "max", "min", "cumsum", "reversecumsum":
	default:
		argPanic(name, op, "unknown reduction (want sum, mean, max, min, cumsum or reversecumsum)")
	}
	nOut := outer * inner
	if op == "cumsum" || op == "reversecumsum" {
		nOut *= n
	}
	if outer < 0 || n < 0 || inner < 0 || a.Len() < outer*n*inner || out.Len() < nOut ||
		((op == "max" || op == "min") && n == 0 && outer*inner > 0) {
		argPanic(name, op, "(outer %d, n %d, inner %d) from %d floats into %d", outer, n, inner, a.Len(), out.Len())
	}
	m := outer * inner
	if m == 0 {
		return nil
	}
	p, err := d.program(name, reduceAxisSrc, strings.ToUpper(op))
	if err != nil {
		return err
	}
	return d.run(p, [3]int{min(ceilDiv(m, 256), 65535), 1, 1}, []*Buffer{a, out},
		iarg("outer", outer), iarg("n", n), iarg("inner", inner))
}

var _ backend.DeviceReducer = Backend{}

// ReduceDevice32 implements backend.DeviceReducer with ReduceAxis.
func (Backend) ReduceDevice32(op string, x backend.DeviceBuffer, outer, n, inner int, y backend.DeviceBuffer) error {
	d, bs, err := bufs("ReduceDevice32", x, y)
	if err != nil {
		return err
	}
	switch op {
	case "sum", "mean", "max", "min", "cumsum", "reversecumsum":
	default:
		return fmt.Errorf("gpu.ReduceDevice32(%q): %w", op, backend.ErrNotImplemented)
	}
	return oom(d.ReduceAxis(op, bs[1], bs[0], outer, n, inner))
}
