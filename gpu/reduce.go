package gpu

import _ "embed"

//go:embed reduce.comp
var reduceSrc string

// rowGroups spreads n work groups over x and y (each at most 65535).
func rowGroups(n int) [3]int {
	if n <= 65535 {
		return [3]int{max(n, 1), 1, 1}
	}
	return [3]int{65535, ceilDiv(n, 65535), 1}
}

// SumRows sets out[r] = Σ_c a[r, c] for a (rows, cols); out (rows).
func (d *Device) SumRows(out, a *Buffer, rows, cols int) error {
	const name = "reduce.comp"
	if rows < 0 || cols < 1 || a.Len() < rows*cols || out.Len() < rows {
		argPanic(name, "SumRows", "%d rows × %d cols from %d floats into %d", rows, cols, a.Len(), out.Len())
	}
	if rows == 0 {
		return nil
	}
	p, err := d.program(name, reduceSrc)
	if err != nil {
		return err
	}
	return d.run(p, rowGroups(rows), []*Buffer{a, out}, iarg("rows", rows), iarg("cols", cols))
}
