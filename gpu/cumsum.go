package gpu

import _ "embed"

//go:embed cumsum.comp
var cumsumSrc string

// ChunkCumsum sets out[r, t] = Σ_{u=start(t)}^{t} a[r, u], the cumulative
// sum restarted every chunk positions; a, out (rows, L). chunk ≥ L gives
// the plain cumulative sum (Acs_t of the spec, per chunk).
func (d *Device) ChunkCumsum(out, a *Buffer, rows, L, chunk int) error {
	const name = "cumsum.comp"
	if rows < 0 || L < 0 || chunk < 1 || a.Len() < rows*L {
		argPanic(name, "ChunkCumsum", "a has %d floats for %d rows × L=%d, chunk %d", a.Len(), rows, L, chunk)
	}
	if out.Len() < rows*L {
		argPanic(name, "ChunkCumsum", "out has %d floats, needs %d", out.Len(), rows*L)
	}
	if rows == 0 || L == 0 {
		return nil
	}
	p, err := d.program(name, cumsumSrc)
	if err != nil {
		return err
	}
	nch := ceilDiv(L, chunk)
	return d.run(p, rowGroups(rows*nch), []*Buffer{a, out},
		iarg("rows", rows), iarg("L", L), iarg("chunk", chunk), iarg("nchunks", nch))
}
