package gpu

import (
	_ "embed"
	"fmt"
	"math"

	"github.com/furious-lab/furious/backend"
)

// Row softmax, log-softmax, their backward passes and the cross-entropy
// loss and gradient on resident tensors (backend.DeviceSoftmaxer,
// backend.DeviceLosser; model_softmax.comp). The row operations take one
// work group per row and reduce in shared memory in float32; the loss is
// summed in double and is the one value read back.

//go:embed model_softmax.comp
var softmaxSrc string

var (
	_ backend.DeviceSoftmaxer = Backend{}
	_ backend.DeviceLosser    = Backend{}
)

// softmaxRun runs model_softmax.comp with define def: a, b (nil: a), the
// int buffer I (nil: a) and o bound to 0…3, over groups.
func (d *Device) softmaxRun(def string, groups [3]int, a, b, I, o *Buffer, args ...arg) error {
	if b == nil {
		b = a
	}
	if I == nil {
		I = a
	}
	p, err := d.program("model_softmax.comp", softmaxSrc, def)
	if err != nil {
		return err
	}
	return d.run(p, groups, []*Buffer{a, b, I, o}, args...)
}

// rowsShape checks that each buffer holds at least rows·n values.
func rowsShape(op string, rows, n int, bs ...*Buffer) error {
	if rows < 0 || n < 0 || rows*n > math.MaxInt32 {
		return fmt.Errorf("gpu.%s: %d rows of %d", op, rows, n)
	}
	for i, b := range bs {
		if b != nil && b.Len() < rows*n {
			return fmt.Errorf("gpu.%s: %d rows of %d, operand %d has %d values", op, rows, n, i, b.Len())
		}
	}
	return nil
}

// SoftmaxDevice32 implements backend.DeviceSoftmaxer: for each row of x
// (rows, n), y_i = e^{x_i−m}/Σ_j e^{x_j−m}, or with log
// y_i = (x_i − m) − log Σ_j e^{x_j−m}, m the row maximum. One work group
// per row: the maximum, then the sum of exponentials (float32), then y.
func (Backend) SoftmaxDevice32(log bool, x backend.DeviceBuffer, rows, n int, y backend.DeviceBuffer) error {
	d, bs, err := bufs("SoftmaxDevice32", x, y)
	if err != nil {
		return err
	}
	if err := rowsShape("SoftmaxDevice32", rows, n, bs...); err != nil {
		return err
	}
	if rows*n == 0 {
		return nil
	}
	def := "SOFTMAX"
	if log {
		def = "LOGSOFTMAX"
	}
	return oom(d.softmaxRun(def, rowGroups(rows), bs[0], nil, nil, bs[1], iarg("rows", rows), iarg("n", n)))
}

// SoftmaxBackwardDevice32 implements backend.DeviceSoftmaxer: for the
// output gradient g and output y (rows, n), dx_i = y_i(g_i − Σ_j g_j y_j),
// or with log dx_i = g_i − e^{y_i}·Σ_j g_j. One work group per row.
func (Backend) SoftmaxBackwardDevice32(log bool, g, y backend.DeviceBuffer, rows, n int, dx backend.DeviceBuffer) error {
	d, bs, err := bufs("SoftmaxBackwardDevice32", g, y, dx)
	if err != nil {
		return err
	}
	if err := rowsShape("SoftmaxBackwardDevice32", rows, n, bs...); err != nil {
		return err
	}
	if rows*n == 0 {
		return nil
	}
	def := "SOFTMAX_BACK"
	if log {
		def = "LOGSOFTMAX_BACK"
	}
	return oom(d.softmaxRun(def, rowGroups(rows), bs[0], bs[1], nil, bs[2], iarg("rows", rows), iarg("n", n)))
}

// targets checks the targets of a cross-entropy (one per row, in [0, n)
// unless ignore) and returns them as int32s with their count.
func targets(op string, rows, n int, t []int, ignore int) ([]int32, int, error) {
	if len(t) != rows {
		return nil, 0, fmt.Errorf("gpu.%s: %d targets for %d rows", op, len(t), rows)
	}
	if ignore < math.MinInt32 || ignore > math.MaxInt32 {
		return nil, 0, fmt.Errorf("gpu.%s: ignore index %d does not fit 32 bits: %w", op, ignore, backend.ErrNotImplemented)
	}
	iv, count := make([]int32, rows), 0
	for r, v := range t {
		if v != ignore {
			if v < 0 || v >= n {
				return nil, 0, fmt.Errorf("gpu.%s: targets[%d] = %d is out of range for %d classes", op, r, v, n)
			}
			count++
		}
		iv[r] = int32(v)
	}
	return iv, count, nil
}

// CrossEntropyDevice32 implements backend.DeviceLosser: the mean over the
// rows r with targets[r] ≠ ignore of −logp[r, targets[r]] (0 without such
// rows), for the log-softmax logp (rows, n). One work group sums in double
// and writes the sum as two floats; those two are read back.
func (Backend) CrossEntropyDevice32(logp backend.DeviceBuffer, rows, n int, tg []int, ignore int) (float64, error) {
	d, bs, err := bufs("CrossEntropyDevice32", logp)
	if err != nil {
		return 0, err
	}
	if err := rowsShape("CrossEntropyDevice32", rows, n, bs[0]); err != nil {
		return 0, err
	}
	iv, count, err := targets("CrossEntropyDevice32", rows, n, tg, ignore)
	if err != nil || count == 0 {
		return 0, err
	}
	I, free, err := d.ints("model.targets", iv)
	if err != nil {
		return 0, oom(err)
	}
	defer free()
	O, freeO, err := d.takeScratch("model.loss", 2)
	if err != nil {
		return 0, oom(err)
	}
	defer freeO()
	if err := d.softmaxRun("CE_LOSS", [3]int{1, 1, 1}, bs[0], nil, I, O, iarg("rows", rows), iarg("n", n), iarg("ignore", ignore)); err != nil {
		return 0, oom(err)
	}
	var s [2]float32
	if err := O.ReadAt(0, s[:]); err != nil {
		return 0, err
	}
	return (float64(s[0]) + float64(s[1])) / float64(count), nil
}

// CrossEntropyGradDevice32 implements backend.DeviceLosser: dx (rows, n)
// = scale·(e^{logp} − onehot(targets)) on rows whose target is not ignore,
// 0 on the others. One invocation per element.
func (Backend) CrossEntropyGradDevice32(logp backend.DeviceBuffer, rows, n int, tg []int, ignore int, scale float64, dx backend.DeviceBuffer) error {
	d, bs, err := bufs("CrossEntropyGradDevice32", logp, dx)
	if err != nil {
		return err
	}
	if err := rowsShape("CrossEntropyGradDevice32", rows, n, bs...); err != nil {
		return err
	}
	iv, _, err := targets("CrossEntropyGradDevice32", rows, n, tg, ignore)
	if err != nil || rows*n == 0 {
		return err
	}
	I, free, err := d.ints("model.targets", iv)
	if err != nil {
		return oom(err)
	}
	defer free()
	return oom(d.softmaxRun("CE_GRAD", [3]int{min(ceilDiv(rows*n, 256), 65535), 1, 1}, bs[0], nil, I, bs[1],
		iarg("rows", rows), iarg("n", n), iarg("ignore", ignore), farg("c", float32(scale))))
}
