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
// end (out_j = Σ_{i≥j} a_i). One invocation per output row: made for the
// reductions of resident tensors. A long axis with few outputs (n above
// reduceChunk, fewer than reduceFewRows outputs; SumAll of a whole tensor)
// is reduced in two passes instead: chunks of reduceChunk values into
// partials (sums in double, rounded once), then the partials; a sum then
// differs from the one-pass sum by at most 2⁻²⁴ of Σ|partials|.
// n ≥ 1 for max and min.
func (d *Device) ReduceAxis(op string, out, a *Buffer, outer, n, inner int) error {
	return d.reduceAxis(op, out, a, outer, n, inner, n)
}

// reduceChunk and reduceFewRows set when ReduceAxis reduces in two passes.
const (
	reduceChunk   = 1024
	reduceFewRows = 4096
)

// reduceAxis is ReduceAxis with the divisor of "mean".
func (d *Device) reduceAxis(op string, out, a *Buffer, outer, n, inner, divisor int) error {
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
	if n > reduceChunk && m < reduceFewRows && op != "cumsum" && op != "reversecumsum" {
		k := ceilDiv(n, reduceChunk)
		P, free, err := d.takeScratch("reduce.partial", outer*k*inner)
		if err != nil {
			return err
		}
		defer free()
		first := op
		if op == "mean" {
			first = "sum"
		}
		if err := d.reduceRun(first, P, a, outer, n, inner, reduceChunk, 0); err != nil {
			return err
		}
		return d.reduceAxis(op, out, P, outer, k, inner, divisor)
	}
	return d.reduceRun(op, out, a, outer, n, inner, 0, divisor)
}

// reduceRun dispatches reduceaxis.comp (chunk 0: whole axis).
func (d *Device) reduceRun(op string, out, a *Buffer, outer, n, inner, chunk, divisor int) error {
	p, err := d.program("reduceaxis.comp", reduceAxisSrc, strings.ToUpper(op))
	if err != nil {
		return err
	}
	m := outer * inner
	if chunk > 0 {
		m *= ceilDiv(n, chunk)
	}
	return d.run(p, [3]int{min(ceilDiv(m, 256), 65535), 1, 1}, []*Buffer{a, out},
		iarg("outer", outer), iarg("n", n), iarg("inner", inner), iarg("chunk", chunk), iarg("divisor", divisor))
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
