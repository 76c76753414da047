package gpu

import (
	_ "embed"
	"fmt"
)

//go:embed matmul.comp
var matmulSrc string

// Gemm describes C = Alpha·op(A)·op(B) + Beta·C over Batch row-major
// matrices: op(A) is M×K (A stored K×M when TransA), op(B) is K×N (B stored
// N×K when TransB), C is M×N. Zero leading dimensions and strides mean
// packed storage; Batch 0 means 1. Beta = 0 ignores C's old contents.
type Gemm struct {
	TransA, TransB            bool
	M, N, K                   int
	Alpha, Beta               float32
	A, B, C                   *Buffer
	LDA, LDB, LDC             int // floats between rows as stored
	OffA, OffB, OffC          int // first element of entry 0
	Batch                     int
	StrideA, StrideB, StrideC int // floats between batch entries
	Causal                    Causal

	epi    *scoreEpi // the attention scores' epilogue (matmul.comp EPI), or nil
	ascale *rowScale // A's rows scaled per block of columns (matmul.comp ASCALE), or nil
	// rowSum, when not nil, receives each row's sum of the entries of
	// op(A) = A (not TransA; scaled by ascale) over the K range summed:
	// (chunk, batch entry, row) at (c·Batch + z)·M + m (matmul.comp RSUM).
	rowSum *Buffer
	// kChunk, with CausalA, splits each row tile's K range into chunks
	// of kChunk (a multiple of 128) summed apart: chunk c's partial
	// product goes to C at c·Batch·StrideC (C holds ⌈K/kChunk⌉ such
	// copies; those of chunks a row tile lacks are not written). The
	// caller sums them (attngemm.comp YSUM).
	kChunk int
	gate   *dispatchGate // when not nil, the dispatch is held there, for the device to run or not (gate.go)
	tile   *sgemmTile    // the tiling, when not nil, valid for the product's loads and within the device's shared memory (else sgemmTiling's or chooseTile's)
}

// scoreEpi is matmul.comp's EPI for the GEMM attention form's forward: C
// receives P̃ or P instead of the scores and, with exp, stats each row's
// largest x_ij and sum per column tile (matmul.comp says what). Gemm sets width
// to the column tile it used.
type scoreEpi struct {
	exp   bool
	order int
	cum   *Buffer // the log-decays' inclusive sums per head, in double; nil without a decay
	stats *Buffer // exp: 2 floats per (batch entry, row, column tile); nil for the orders or with bound
	bound *Buffer // exp: each row's bound b_i (batch entry z, row i at z·M + i): P̃ = exp(x − b) with no statistics (EXPB); nil: against the tiles' maxima
	h0    int     // the head of batch entry 0 (cum's index)
	width int     // set by Gemm: the column tile, BN
}

// rowScale is matmul.comp's ASCALE: A's entry (m, k) of batch entry z is
// multiplied by sc[(z·M + m)·lt + k/w] as it is loaded.
type rowScale struct {
	sc    *Buffer
	lt, w int
}

// Causal restricts a product to the causal (lower) triangle of one
// sequence×sequence operand, skipping the work on the other side of the
// diagonal: the quadratic form of attention through this SGEMM
// (attngemm.go), about half the FLOPs of the full product. Every tiling
// Gemm takes has BM dividing 128, so "the row tile's end" is at most the
// next multiple of 128.
type Causal int

const (
	CausalNone Causal = iota
	// CausalOut: C (M = N) is wanted on and below the diagonal only;
	// tiles of C past the diagonal's 128-block (starting at or after the
	// next multiple of 128 above their row tile's start) are neither
	// computed nor written: those a CausalA product over C reads are.
	CausalOut
	// CausalA: op(A) = A (M = K) is lower-triangular; row tile m0 sums
	// k < m0 + BM only, so A's entries above the diagonal up to the row
	// tile's end must be zero (those beyond it are not read).
	CausalA
	// CausalAT: op(A) = Aᵀ (M = K) with A lower-triangular (op(A)
	// upper-triangular); row tile m0 sums k ≥ m0 only, so A's entries above
	// the diagonal within the diagonal tile must be zero.
	CausalAT
)

// The SGEMM tiling: a 128×128 tile of C a work group, 8-deep slices of A
// and B in two shared buffers (16,640 bytes, within every device with
// compute shaders: llvmpipe has 32 KiB), 8×8 outputs a thread (256
// threads), each warp's threads a 4×8 block of the tile. It is version 24
// of the 28 in gpu/BENCH.md, the fastest on the H100 (26.8 TFLOP/s at
// 4096²; 32.8 with A's slices kept as stored, useAKM); the others, and the
// naive baseline matmul_naive.comp, are in git at commit d5ddbc5.
const (
	sgemmBM, sgemmBN, sgemmBK = 128, 128, 8
	sgemmTM, sgemmTN          = 8, 8
	sgemmWTX                  = 8
)

// sgemmTile is one tiling of matmul.comp: a BM×BN tile of C a work group,
// BK-deep slices, TM×TN outputs a thread, warps WTX threads wide. It must
// give each thread 1 to 4 loads of each slice (BM·BK/(4·NT) with 16-byte
// loads, BM·BK/NT without; the same for BN), NT = (BM/TM)·(BN/TN).
type sgemmTile struct{ BM, BN, BK, TM, TN, WTX int }

// sgemmLadder is the tilings Gemm chooses from, largest first: the
// 128×128 tile above for products with many tiles, then 128×64 (8×8
// outputs a thread, 128 threads) for those with many rows and few columns
// (attention's y = W·V at d_v 64: 0.90x the 64×64 tiling's time at L 2048,
// 0.79x at 8192, H100, 2026-12-06 session 9, BenchmarkAttnGemmShapes),
// then 64×64 (4×4
// outputs a thread, 256 threads) for products whose 128×128 tiles would
// leave most of a large GPU idle (the small training model's M 1024 ×
// N 128 is 8 groups of 128×128 on the H100's 132 SMs). On the H100
// (2026-12-06, BenchmarkGemmTiles, 20 products back to back) 64×64 took
// 0.58× the 128×128 tile's time at M 1024 × N 128 × K 344 and 0.36× at
// M 128 × N 344 × K 1024 (split-K batches); 32×32 tiles were slower than
// 64×64 at every shape measured (gpu/BENCH.md). Every BM divides 128 (the
// Causal modes rely on it).
var sgemmLadder = []sgemmTile{
	{sgemmBM, sgemmBN, sgemmBK, sgemmTM, sgemmTN, sgemmWTX},
	{128, 64, 16, 8, 8, 8},
	{64, 64, 16, 4, 4, 8},
}

// sgemmGroups is the work-group count a tiling must reach for Gemm to
// take it over a smaller one: about the SMs of a large GPU (132 on the
// H100).
const sgemmGroups = 128

// chooseTile picks the tiling of sgemmLadder for an M×N product of batch
// entries: the first that gives at least sgemmGroups work groups and
// wastes at most a quarter of its tiles' area past M and N (N = 64 in a
// 128-wide tile wastes half: attention's y = W·V at d_v = 64), else the
// smallest.
func chooseTile(m, n, batch int, vec4 bool) sgemmTile {
	for i, t := range sgemmLadder {
		gm, gn := ceilDiv(m, t.BM), ceilDiv(n, t.BN)
		if i == len(sgemmLadder)-1 || t.valid(vec4) && gm*gn*batch >= sgemmGroups && 4*m*n >= 3*gm*t.BM*gn*t.BN {
			return t
		}
	}
	panic("unreachable")
}

// sgemmTiling, when not nil, replaces chooseTile's tiling of every
// product: an experiment seam for BenchmarkGemmTiles and TestMatMulTiles.
var sgemmTiling *sgemmTile

// narrowestTileN is the narrowest column tile Gemm may take now (of
// sgemmLadder, or sgemmTiling's): what sizes per-tile scratch (the EPI
// statistics) for any product.
func narrowestTileN() int {
	n := sgemmLadder[0].BN
	for _, t := range sgemmLadder {
		n = min(n, t.BN)
	}
	if sgemmTiling != nil {
		n = min(n, sgemmTiling.BN)
	}
	return n
}

// valid reports whether matmul.comp computes correctly with tiling t, with
// or without 16-byte loads: every thread takes 1 to 4 whole loads of each
// slice, warps of 32 threads tile the thread grid.
func (t sgemmTile) valid(vec4 bool) bool {
	if t.TM%4 != 0 || t.TN%4 != 0 || t.BM%t.TM != 0 || t.BN%t.TN != 0 || t.WTX <= 0 || 32%t.WTX != 0 {
		return false
	}
	tx, ty := t.BN/t.TN, t.BM/t.TM
	nt, per := tx*ty, 1
	if vec4 {
		per = 4
	}
	la, lb := t.BM*t.BK, t.BN*t.BK
	return nt%32 == 0 && tx%t.WTX == 0 && ty%(32/t.WTX) == 0 &&
		la%(nt*per) == 0 && lb%(nt*per) == 0 && la/(nt*per) >= 1 && la/(nt*per) <= 4 && lb/(nt*per) >= 1 && lb/(nt*per) <= 4
}

// MatMul computes C = op(A)·op(B) for packed row-major batches:
// A (batch, m, k) or (batch, k, m) when transA, B (batch, k, n) or
// (batch, n, k) when transB, C (batch, m, n).
func (d *Device) MatMul(a, b, c *Buffer, batch, m, k, n int, transA, transB bool) error {
	return d.Gemm(Gemm{TransA: transA, TransB: transB, M: m, N: n, K: k, Alpha: 1,
		A: a, B: b, C: c, Batch: batch})
}

// Gemm runs the SGEMM shader: C = Alpha·op(A)·op(B) + Beta·C, batched.
// Sizes need not be multiples of any tile.
func (d *Device) Gemm(g Gemm) error {
	const op = "matmul.comp"
	if g.M < 0 || g.N < 0 || g.K < 0 || g.Batch < 0 {
		argPanic(op, "dispatch", "negative size M=%d N=%d K=%d batch=%d", g.M, g.N, g.K, g.Batch)
	}
	if g.Batch == 0 {
		g.Batch = 1
	}
	rowsA, colsA := g.M, g.K
	if g.TransA {
		rowsA, colsA = g.K, g.M
	}
	rowsB, colsB := g.K, g.N
	if g.TransB {
		rowsB, colsB = g.N, g.K
	}
	if g.LDA == 0 {
		g.LDA = colsA
	}
	if g.LDB == 0 {
		g.LDB = colsB
	}
	if g.LDC == 0 {
		g.LDC = g.N
	}
	if g.StrideA == 0 {
		g.StrideA = rowsA * g.LDA
	}
	if g.StrideB == 0 {
		g.StrideB = rowsB * g.LDB
	}
	if g.StrideC == 0 {
		g.StrideC = g.M * g.LDC
	}
	chunks := 1
	if g.kChunk > 0 {
		chunks = ceilDiv(g.K, g.kChunk)
	}
	checkExtent(op, "A", g.A, g.OffA, g.Batch, g.StrideA, rowsA, colsA, g.LDA)
	checkExtent(op, "B", g.B, g.OffB, g.Batch, g.StrideB, rowsB, colsB, g.LDB)
	checkExtent(op, "C", g.C, g.OffC, g.Batch*chunks, g.StrideC, g.M, g.N, g.LDC)
	switch {
	case g.Causal == CausalOut && g.M != g.N, (g.Causal == CausalA || g.Causal == CausalAT) && g.M != g.K,
		g.Causal == CausalA && g.TransA, g.Causal == CausalAT && !g.TransA, g.Causal < CausalNone || g.Causal > CausalAT:
		argPanic(op, "dispatch", "causal mode %d with M=%d N=%d K=%d transA=%v", g.Causal, g.M, g.N, g.K, g.TransA)
	}
	if g.epi != nil && (g.Beta != 0 || g.Causal != CausalOut) || g.ascale != nil && g.TransA ||
		g.kChunk != 0 && (g.Causal != CausalA || g.Beta != 0 || g.kChunk < 0 || g.kChunk%128 != 0) {
		argPanic(op, "dispatch", "epilogue %v, row scale %v or K chunk %d with beta %v, causal mode %d, transA %v",
			g.epi != nil, g.ascale != nil, g.kChunk, g.Beta, g.Causal, g.TransA)
	}
	if g.M == 0 || g.N == 0 {
		return nil
	}
	// 16-byte loads need every contiguous run and start aligned to 4 floats.
	vec4 := g.K%4 == 0 && g.LDA%4 == 0 && g.LDB%4 == 0 &&
		g.OffA%4 == 0 && g.OffB%4 == 0 && g.StrideA%4 == 0 && g.StrideB%4 == 0 &&
		(!g.TransA || g.M%4 == 0) && (g.TransB || g.N%4 == 0)
	tl := chooseTile(g.M, g.N, g.Batch, vec4)
	if g.tile != nil && g.tile.valid(vec4) && g.sharedBytes(*g.tile, vec4) <= d.info.MaxSharedBytes {
		tl = *g.tile
	} else if sgemmTiling != nil {
		tl = *sgemmTiling
		if !tl.valid(vec4) {
			argPanic(op, "dispatch", "tiling %+v gives a thread no whole loads of a slice (16-byte loads %v)", tl, vec4)
		}
	}
	defs := []string{
		fmt.Sprintf("BM %d", tl.BM), fmt.Sprintf("BN %d", tl.BN), fmt.Sprintf("BK %d", tl.BK),
		fmt.Sprintf("TM %d", tl.TM), fmt.Sprintf("TN %d", tl.TN),
		fmt.Sprintf("TX %d", tl.BN/tl.TN), fmt.Sprintf("TY %d", tl.BM/tl.TM),
		fmt.Sprintf("NT %d", tl.BN/tl.TN*tl.BM/tl.TM), fmt.Sprintf("WTX %d", tl.WTX),
	}
	if g.TransA {
		defs = append(defs, "TRANS_A")
	}
	if g.TransB {
		defs = append(defs, "TRANS_B")
	}
	if vec4 {
		defs = append(defs, "VEC4")
		if useAKM(tl, g) {
			defs = append(defs, "AKM")
		}
		if g.M%tl.BM == 0 && g.N%tl.BN == 0 && g.K%tl.BK == 0 {
			defs = append(defs, "EXACT")
		}
	}
	if g.N%4 == 0 && g.LDC%4 == 0 && g.OffC%4 == 0 && g.StrideC%4 == 0 {
		defs = append(defs, "VEC4C")
	}
	bufs := []*Buffer{g.A, g.B, g.C}
	args := []arg{iarg("M", g.M), iarg("N", g.N), iarg("K", g.K),
		iarg("lda", g.LDA), iarg("ldb", g.LDB), iarg("ldc", g.LDC),
		iarg("offA", g.OffA), iarg("offB", g.OffB), iarg("offC", g.OffC),
		iarg("strideA", g.StrideA), iarg("strideB", g.StrideB), iarg("strideC", g.StrideC),
		iarg("causal", int(g.Causal)), farg("alpha", g.Alpha), farg("beta", g.Beta),
		iarg("kchunk", g.kChunk), iarg("kcStride", g.Batch*g.StrideC)}
	if e := g.epi; e != nil {
		lt := ceilDiv(g.N, tl.BN)
		if need := g.Batch * g.M * lt * 2; e.exp && e.bound == nil && (e.stats == nil || e.stats.Len() < need) {
			argPanic(op, "dispatch", "epilogue statistics: %v for %d×%d rows of %d tiles need %d floats", e.stats, g.Batch, g.M, lt, need)
		}
		if e.cum != nil && e.cum.Len() < 2*(e.h0+g.Batch)*g.M { // doubles, two floats each
			argPanic(op, "dispatch", "epilogue decay sums: %d floats for heads to %d of %d rows", e.cum.Len(), e.h0+g.Batch, g.M)
		}
		e.width = tl.BN
		defs = append(defs, "EPI")
		stats := e.stats // binding 3: unread without exp
		if e.exp {
			defs = append(defs, "EXP")
			if e.bound != nil {
				if e.bound.Len() < g.Batch*g.M {
					argPanic(op, "dispatch", "epilogue bounds: %d floats for %d×%d rows", e.bound.Len(), g.Batch, g.M)
				}
				defs, stats = append(defs, "EXPB"), e.bound
			}
		} else {
			defs = append(defs, fmt.Sprintf("ORDER %d", e.order))
			stats = g.A
		}
		bufs = append(bufs, stats)
		if e.cum != nil {
			defs = append(defs, "MASKED")
			bufs = append(bufs, e.cum)
		}
		args = append(args, iarg("epiH0", e.h0), iarg("epiLT", lt))
	}
	if a := g.ascale; a != nil {
		// a block of w columns must hold whole slices (and whole vec4s)
		if a.w <= 0 || a.w%tl.BK != 0 || a.w%4 != 0 || a.lt < ceilDiv(g.K, a.w) || a.sc.Len() < g.Batch*g.M*a.lt {
			argPanic(op, "dispatch", "row scale: blocks of %d columns (slices of %d), %d a row for K=%d, %d floats for %d×%d rows",
				a.w, tl.BK, a.lt, g.K, a.sc.Len(), g.Batch, g.M)
		}
		defs = append(defs, "ASCALE")
		bufs = append(bufs, a.sc)
		args = append(args, iarg("ascLT", a.lt), iarg("ascW", a.w))
	}
	if z := g.rowSum; z != nil {
		if g.TransA || g.epi != nil || z.Len() < chunks*g.Batch*g.M {
			argPanic(op, "dispatch", "row sums: transA %v, epilogue %v, %d floats for %d chunks of %d×%d rows",
				g.TransA, g.epi != nil, z.Len(), chunks, g.Batch, g.M)
		}
		defs = append(defs, "RSUM")
		if g.ascale == nil {
			bufs = append(bufs, g.A) // binding 3, unread
		}
		bufs = append(bufs, z)
	}
	p, err := d.program(op, matmulSrc, defs...)
	if err != nil {
		return err
	}
	return d.runGated(g.gate, p, [3]int{ceilDiv(g.N, tl.BN), ceilDiv(g.M, tl.BM) * chunks, g.Batch}, bufs, args...)
}

// sharedBytes is the shared memory matmul.comp declares for g under
// tiling t (with or without 16-byte loads): two slices of A (as stored,
// AKM, or transposed with 4 rows of padding) and of B, and the arrays of
// EPI (exp's per-row reductions, the decay sums), and RSUM's row parts.
func (g Gemm) sharedBytes(t sgemmTile, vec4 bool) int {
	n := 2 * 4 * t.BK * t.BN // Bs
	if vec4 && useAKM(t, g) {
		n += 2 * 4 * t.BK * t.BM
	} else {
		n += 2 * 4 * t.BK * (t.BM + 4)
	}
	if e := g.epi; e != nil {
		if e.exp && e.bound != nil {
			n += 4 * t.BM // epiB
		} else if e.exp {
			n += 4 * t.BM * (t.BN/t.TN + 2) // epiRed, epiRow
		}
		if e.cum != nil {
			n += 8 * (t.BM + t.BN) // epiCum
		}
	}
	if g.rowSum != nil {
		alw := t.BK
		if vec4 {
			alw = t.BK / 4
		}
		n += 4 * t.BM * alw // rsPart
	}
	return n
}

// useAKM reports whether a product with 16-byte loads keeps A's slices in
// shared memory as stored (matmul.comp's AKM) rather than transposed: for
// A as stored (not TransA), with the 64×64 tiling, or with K ≥ 128. On the
// H100 (2026-12-06, session 8; gpu/BENCH.md) AKM took 0.76-0.86x the time
// of the transposing stores for the small model's products as Gemm tiles
// them (64×64; one of the same tiling's sweep rows read 1.08x, within the
// machine's ±10%), 0.68x for attention's y = W·V, 0.78x at 4096³ (32.8
// against 25.5 TFLOP/s) and 0.77-0.92x at K 128-344 with 128×128 tiles,
// but 1.3x for attention's S = Q·Kᵀ (K = 64, 2176 work groups of 128×128;
// 8×8 outputs a thread then hold 32 more registers for A). With B as
// stored too it was faster at K = 64 (2026-12-06 session 9,
// BenchmarkAttnGemmShapes, S = Q·Kᵀ with Kᵀ stored: 0.87x at L 2048, 0.86x
// at 8192), so only A·Bᵀ with 128-row tiles and K < 128 goes without.
func useAKM(tl sgemmTile, g Gemm) bool {
	if sgemmAKM != nil {
		return !g.TransA && *sgemmAKM
	}
	return !g.TransA && (tl.TM == 4 || g.K >= 128 || !g.TransB)
}

// sgemmAKM, when not nil, replaces useAKM's rule for A as stored: an
// experiment seam for BenchmarkAttnGemmShapes.
var sgemmAKM *bool

// checkExtent panics unless buf holds batch matrices of rows×cols with
// leading dimension ld, stride apart, starting at off.
func checkExtent(op, name string, buf *Buffer, off, batch, stride, rows, cols, ld int) {
	if buf == nil {
		argPanic(op, "dispatch", "%s is nil", name)
	}
	if rows == 0 || cols == 0 {
		return
	}
	if ld < cols || off < 0 || stride < 0 {
		argPanic(op, "dispatch", "%s: leading dimension %d < %d columns, or negative offset/stride", name, ld, cols)
	}
	last := off + (batch-1)*stride + (rows-1)*ld + cols
	if last > buf.Len() {
		argPanic(op, "dispatch", "%s: %d batch × (%d×%d, ld %d) from %d needs %d floats, buffer has %d",
			name, batch, rows, cols, ld, off, last, buf.Len())
	}
	if last >= 1<<31-1 {
		argPanic(op, "dispatch", "%s: %d floats exceed 32-bit shader indexing", name, last)
	}
}
