package gpu

import _ "embed"

//go:embed cumsum.comp
var cumsumSrc string

func (d *Device) chunkSums(op string, out, a *Buffer, rows, L, chunk int) error {
	const name = "cumsum.comp"
	if rows < 0 || L < 0 || chunk < 1 || a.Len() < rows*L {
		argPanic(name, op, "a has %d floats for %d rows × L=%d, chunk %d", a.Len(), rows, L, chunk)
	}
	nch := ceilDiv(L, chunk)
	want := rows * L
	if op == "SEGSUM" {
		want = rows * nch * chunk * chunk
	}
	if out.Len() < want {
		argPanic(name, op, "out has %d floats, needs %d", out.Len(), want)
	}
	if rows == 0 || L == 0 {
		return nil
	}
	p, err := d.program(name, cumsumSrc, op)
	if err != nil {
		return err
	}
	return d.run(p, rowGroups(rows*nch), []*Buffer{a, out},
		iarg("rows", rows), iarg("L", L), iarg("chunk", chunk), iarg("nchunks", nch))
}

// ChunkCumsum sets out[r, t] = Σ_{u=start(t)}^{t} a[r, u], the cumulative
// sum restarted every chunk positions; a, out (rows, L). chunk ≥ L gives
// the plain cumulative sum (Acs_t of the spec, per chunk).
func (d *Device) ChunkCumsum(out, a *Buffer, rows, L, chunk int) error {
	return d.chunkSums("CUMSUM", out, a, rows, L, chunk)
}

// SegSum sets out[r, c, i, j] = Σ_{u=j+1}^{i} a[r, c·chunk+u] for j ≤ i
// and −∞ above the diagonal or past L, so exp(out) is the decay mask
// AM_ij = exp(Acs_i − Acs_j) of each chunk, accumulated without
// cancellation; a (rows, L), out (rows, ⌈L/chunk⌉, chunk, chunk).
func (d *Device) SegSum(out, a *Buffer, rows, L, chunk int) error {
	return d.chunkSums("SEGSUM", out, a, rows, L, chunk)
}
