package gpu

import _ "embed"

//go:embed rmsnorm.comp
var rmsnormSrc string

//go:embed conv1d.comp
var conv1dSrc string

// RMSNorm sets y = u / √(mean(u²) + eps) ⊙ w for each row, with u = x, or
// u = x ⊙ silu(z) when z is given (Mamba-2's gated norm); w may be nil (no
// weight). x, z, y (rows, n), w (n).
func (d *Device) RMSNorm(y, x, z, w *Buffer, rows, n int, eps float32) error {
	const name = "rmsnorm.comp"
	if rows < 0 || n < 1 || x.Len() < rows*n || y.Len() < rows*n ||
		(z != nil && z.Len() < rows*n) || (w != nil && w.Len() < n) {
		argPanic(name, "dispatch", "rows=%d n=%d: x %d, z %d, w %d, y %d floats", rows, n, x.Len(), lenOf(z), lenOf(w), y.Len())
	}
	if rows == 0 {
		return nil
	}
	var defs []string
	if z != nil {
		defs = append(defs, "GATE")
	} else {
		z = x
	}
	if w != nil {
		defs = append(defs, "WEIGHT")
	} else {
		w = x
	}
	p, err := d.program(name, rmsnormSrc, defs...)
	if err != nil {
		return err
	}
	return d.run(p, rowGroups(rows), []*Buffer{x, z, w, y}, iarg("rows", rows), iarg("n", n), farg("eps", eps))
}

// Conv1D is the causal depthwise convolution of Mamba's input path:
// y[b, t, c] = act(Σ_{i<W} w[c, i]·x[b, t−W+1+i, c] + bias[c]), zeros
// before the start, act = SiLU when silu; bias may be nil.
// x, y (B, L, C), w (C, W), bias (C).
func (d *Device) Conv1D(y, x, w, bias *Buffer, B, L, C, W int, silu bool) error {
	const name = "conv1d.comp"
	if B < 0 || L < 0 || C < 1 || W < 1 || x.Len() < B*L*C || y.Len() < B*L*C || w.Len() < C*W ||
		(bias != nil && bias.Len() < C) {
		argPanic(name, "dispatch", "B=%d L=%d C=%d W=%d: x %d, w %d, bias %d, y %d floats", B, L, C, W, x.Len(), w.Len(), lenOf(bias), y.Len())
	}
	if B == 0 || L == 0 {
		return nil
	}
	var defs []string
	if bias != nil {
		defs = append(defs, "BIAS")
	} else {
		bias = w
	}
	if silu {
		defs = append(defs, "SILU")
	}
	p, err := d.program(name, conv1dSrc, defs...)
	if err != nil {
		return err
	}
	return d.run(p, rowGroups(B*L), []*Buffer{x, w, bias, y}, iarg("B", B), iarg("L", L), iarg("C", C), iarg("W", W))
}
