package gpu

import (
	_ "embed"
	"fmt"
)

//go:embed rmsnorm.comp
var rmsnormSrc string

//go:embed conv1d.comp
var conv1dSrc string

// RMSNorm sets y = u·r ⊙ w for each row, r = 1/√(mean(u²) + eps), with
// u = x, or u = x ⊙ silu(z) when z is given (Mamba-2's gated norm); w may
// be nil (no weight), and r, when not nil, receives r per row (what
// RMSNormBackward takes). x, z, y (rows, n), w (n), r (rows). One work
// group per row, float32 sums.
func (d *Device) RMSNorm(y, r, x, z, w *Buffer, rows, n int, eps float32) error {
	const name = "rmsnorm.comp"
	if rows < 0 || n < 1 || x.Len() < rows*n || y.Len() < rows*n ||
		(z != nil && z.Len() < rows*n) || (w != nil && w.Len() < n) || (r != nil && r.Len() < rows) {
		argPanic(name, "dispatch", "rows=%d n=%d: x %d, z %d, w %d, y %d, r %d floats", rows, n, x.Len(), lenOf(z), lenOf(w), y.Len(), lenOf(r))
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
	if r != nil {
		defs = append(defs, "RSTORE")
	} else {
		r = x
	}
	p, err := d.program(name, rmsnormSrc, defs...)
	if err != nil {
		return err
	}
	return d.run(p, rowGroups(rows), []*Buffer{x, z, w, y, r}, iarg("rows", rows), iarg("n", n), farg("eps", eps))
}

// rmsBlock is the rows summed by one invocation of RMSNormBackward's dw
// partials (rmsnorm.comp's DW, RB).
const rmsBlock = 64

// RMSNormBackward sets, for the output gradient g of RMSNorm (without gate)
// at x, w (or nil) and its r: with x̂ = x·r and ĝ = g ⊙ w,
//
//	dx = r·(ĝ − x̂·mean(ĝ ⊙ x̂))  per row,   dw = Σ_rows g ⊙ x̂
//
// g, x, dx (rows, n), w, dw (n), r (rows); dw is not computed when nil.
// dx takes one work group per row (float32 sums); dw sums blocks of 64 rows
// per column in float32 and the blocks in double (ReduceAxis).
func (d *Device) RMSNormBackward(dx, dw, g, x, w, r *Buffer, rows, n int) error {
	const name = "rmsnorm.comp"
	if rows < 0 || n < 1 || x.Len() < rows*n || g.Len() < rows*n || dx.Len() < rows*n || r.Len() < rows ||
		(w != nil && w.Len() < n) || (dw != nil && dw.Len() < n) {
		argPanic(name, "backward", "rows=%d n=%d: g %d, x %d, w %d, r %d, dx %d, dw %d floats", rows, n, g.Len(), x.Len(), lenOf(w), r.Len(), dx.Len(), lenOf(dw))
	}
	if rows == 0 {
		if dw != nil {
			return d.Fill(dw, n, 0)
		}
		return nil
	}
	defs := []string{"BACKWARD"}
	wb := x
	if w != nil {
		defs, wb = append(defs, "WEIGHT"), w
	}
	p, err := d.program(name, rmsnormSrc, defs...)
	if err != nil {
		return err
	}
	if err := d.run(p, rowGroups(rows), []*Buffer{x, g, wb, dx, r}, iarg("rows", rows), iarg("n", n)); err != nil {
		return err
	}
	if dw == nil {
		return nil
	}
	blocks := ceilDiv(rows, rmsBlock)
	P, free, err := d.takeScratch("model.partial", blocks*n)
	if err != nil {
		return err
	}
	defer free()
	if p, err = d.program(name, rmsnormSrc, "DW", fmt.Sprintf("RB %d", rmsBlock)); err != nil {
		return err
	}
	if err := d.run(p, [3]int{min(ceilDiv(blocks*n, 256), 65535), 1, 1}, []*Buffer{x, g, x, P, r}, iarg("rows", rows), iarg("n", n)); err != nil {
		return err
	}
	return d.ReduceAxis("sum", dw, P, 1, blocks, n)
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

// convBlock is the rows (b, t) summed by one invocation of Conv1DBackward's
// weight partials (conv1d.comp's DW, RB).
const convBlock = 64

// Conv1DBackward sets the gradients of Conv1D without activation for the
// output gradient g (B, L, C) at x (B, L, C) and w (C, W):
//
//	dx[b, s, c] = Σ_i w[c, i]·g[b, s+W−1−i, c],
//	dw[c, i] = Σ_{b,t} g[b, t, c]·x[b, t−W+1+i, c],  db[c] = Σ_{b,t} g[b, t, c]
//
// (db not computed when nil). dx takes one work group per row; dw and db
// sum blocks of 64 rows per entry in float32 and the blocks in double
// (ReduceAxis), then a strided copy puts them in place.
func (d *Device) Conv1DBackward(dx, dw, db, g, x, w *Buffer, B, L, C, W int) error {
	const name = "conv1d.comp"
	if B < 0 || L < 0 || C < 1 || W < 1 || x.Len() < B*L*C || g.Len() < B*L*C || dx.Len() < B*L*C ||
		w.Len() < C*W || dw.Len() < C*W || (db != nil && db.Len() < C) {
		argPanic(name, "backward", "B=%d L=%d C=%d W=%d: g %d, x %d, w %d, dx %d, dw %d, db %d floats", B, L, C, W, g.Len(), x.Len(), w.Len(), dx.Len(), dw.Len(), lenOf(db))
	}
	rows := B * L
	if rows == 0 {
		if db != nil {
			if err := d.Fill(db, C, 0); err != nil {
				return err
			}
		}
		return d.Fill(dw, C*W, 0)
	}
	args := []arg{iarg("B", B), iarg("L", L), iarg("C", C), iarg("W", W)}
	p, err := d.program(name, conv1dSrc, "BACKX")
	if err != nil {
		return err
	}
	if err := d.run(p, rowGroups(rows), []*Buffer{g, w, w, dx}, args...); err != nil {
		return err
	}
	blocks, per := ceilDiv(rows, convBlock), (W+1)*C
	P, free, err := d.takeScratch("model.partial", blocks*per)
	if err != nil {
		return err
	}
	defer free()
	R, freeR, err := d.takeScratch("model.reduced", per)
	if err != nil {
		return err
	}
	defer freeR()
	if p, err = d.program(name, conv1dSrc, "DW", fmt.Sprintf("RB %d", convBlock)); err != nil {
		return err
	}
	if err := d.run(p, [3]int{min(ceilDiv(blocks*per, 64), 65535), 1, 1}, []*Buffer{x, w, g, P}, args...); err != nil {
		return err
	}
	if err := d.ReduceAxis("sum", R, P, 1, blocks, per); err != nil { // R (W+1, C)
		return err
	}
	if err := d.Gather(dw, 0, nil, R, 0, []int{1, C}, []int{C, W}); err != nil { // dw[c, i] = R[i, c]
		return err
	}
	if db != nil {
		return db.CopyFrom(R, W*C, 0, C)
	}
	return nil
}
