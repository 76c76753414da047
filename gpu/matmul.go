package gpu

import (
	_ "embed"
	"fmt"
)

//go:embed matmul.comp
var matmulSrc string

//go:embed matmul_naive.comp
var matmulNaiveSrc string

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
}

// sgemmVersion is one numbered SGEMM kernel configuration (see BENCH.md).
type sgemmVersion struct {
	bm, bn, bk, tm, tn int
	double, vec4       bool
	unroll             bool // #pragma optionNV(unroll all), for NVIDIA's compiler
	localReg           bool // prefetch registers local to main (LOCALREG)
	regs               bool // prefetch registers named, not an array (REGS)
	exact              bool // no bounds checks in the loads where M, N, K are tile multiples (EXACT)
	wtx                int  // threads of a warp along a tile row (WTX); 0: rows of TX threads
	vec4c              bool // C written as vec4s where aligned (VEC4C)
}

// shared is the shared memory the version needs, in bytes.
func (v sgemmVersion) shared() int {
	n := 1
	if v.double {
		n = 2
	}
	return 4 * n * v.bk * (v.bm + 4 + v.bn)
}

// sgemmVersions are the kernels in the order they were written; each is
// checked by the tests and timed by BenchmarkSGEMM.
var sgemmVersions = []sgemmVersion{
	0:  {bm: 16, bn: 16, bk: 16},                                           // baseline: matmul_naive.comp, one output per thread
	1:  {bm: 64, bn: 64, bk: 16, tm: 4, tn: 4},                             // 4×4 per thread
	2:  {bm: 128, bn: 128, bk: 8, tm: 8, tn: 8},                            // 8×8 per thread
	3:  {bm: 128, bn: 128, bk: 8, tm: 8, tn: 8, double: true},              // + double-buffered slices
	4:  {bm: 128, bn: 128, bk: 8, tm: 8, tn: 8, double: true, vec4: true},  // + 16-byte global loads
	5:  {bm: 128, bn: 128, bk: 16, tm: 8, tn: 8, double: true, vec4: true}, // deeper slices
	6:  {bm: 128, bn: 64, bk: 16, tm: 8, tn: 4, double: true, vec4: true},  // smaller tiles, more groups
	7:  {bm: 128, bn: 128, bk: 8, tm: 8, tn: 8, double: true, vec4: true, unroll: true},
	8:  {bm: 128, bn: 128, bk: 16, tm: 8, tn: 8, double: true, vec4: true, unroll: true},
	9:  {bm: 64, bn: 64, bk: 16, tm: 4, tn: 4, double: true, vec4: true, unroll: true},
	10: {bm: 64, bn: 128, bk: 8, tm: 8, tn: 8, double: true, vec4: true},                                                 // 8×8 per thread, 128 threads: more groups per SM
	11: {bm: 128, bn: 64, bk: 16, tm: 8, tn: 8, double: true, vec4: true},                                                // the same, deeper slices
	12: {bm: 128, bn: 128, bk: 8, tm: 8, tn: 8, double: true, vec4: true, localReg: true, vec4c: true},                   // v4 + local prefetch registers, vec4 stores
	13: {bm: 128, bn: 128, bk: 8, tm: 8, tn: 8, double: true, vec4: true, localReg: true, vec4c: true, wtx: 4},           // + warps as 8×4 thread blocks
	14: {bm: 128, bn: 128, bk: 16, tm: 8, tn: 8, double: true, vec4: true, localReg: true, vec4c: true, wtx: 4},          // + 16-deep slices (33,280 B shared)
	15: {bm: 128, bn: 128, bk: 16, tm: 8, tn: 8, double: true, vec4: true, localReg: true, vec4c: true},                  // v12 with 16-deep slices
	16: {bm: 128, bn: 128, bk: 8, tm: 8, tn: 8, double: true, vec4: true, localReg: true, vec4c: true, wtx: 8},           // warps as 4×8 thread blocks
	17: {bm: 128, bn: 64, bk: 16, tm: 8, tn: 8, double: true, vec4: true, localReg: true, vec4c: true, wtx: 4},           // v11 with local registers, warps 8×4
	18: {bm: 128, bn: 128, bk: 16, tm: 8, tn: 8, double: true, vec4: true, localReg: true, vec4c: true, wtx: 8},          // v14 with warps 4×8
	19: {bm: 64, bn: 128, bk: 16, tm: 8, tn: 8, double: true, vec4: true, localReg: true, vec4c: true, wtx: 8},           // v10 deeper, local registers, warps 4×8
	20: {bm: 128, bn: 128, bk: 16, tm: 8, tn: 8, double: true, vec4: true, regs: true, vec4c: true, wtx: 8},              // v18 with named prefetch registers
	21: {bm: 128, bn: 128, bk: 16, tm: 8, tn: 8, double: true, vec4: true, regs: true, vec4c: true, wtx: 4},              // v14 with named prefetch registers
	22: {bm: 64, bn: 128, bk: 16, tm: 8, tn: 8, double: true, vec4: true, regs: true, vec4c: true, wtx: 8},               // v19 with named prefetch registers
	23: {bm: 128, bn: 64, bk: 16, tm: 8, tn: 8, double: true, vec4: true, regs: true, vec4c: true, wtx: 4},               // v17 with named prefetch registers
	24: {bm: 128, bn: 128, bk: 8, tm: 8, tn: 8, double: true, vec4: true, regs: true, vec4c: true, wtx: 8, exact: true},  // v16, no bounds checks where tiles fit
	25: {bm: 128, bn: 128, bk: 16, tm: 8, tn: 8, double: true, vec4: true, regs: true, vec4c: true, wtx: 8, exact: true}, // v20, no bounds checks where tiles fit
	26: {bm: 64, bn: 128, bk: 16, tm: 8, tn: 8, double: true, vec4: true, regs: true, vec4c: true, wtx: 8, exact: true},  // v22, no bounds checks where tiles fit
	27: {bm: 128, bn: 128, bk: 8, tm: 8, tn: 8, double: true, vec4: true, regs: true, vec4c: true, wtx: 4, exact: true},  // v24 with warps 8×4
}

// sgemmDefault is the version Gemm uses: 24, the fastest on the H100
// (26.8 TFLOP/s at 4096², gpu/BENCH.md); its 16,640 bytes of shared
// memory fit every device with compute shaders (llvmpipe has 32 KiB).
var sgemmDefault = 24

// MatMul computes C = op(A)·op(B) for packed row-major batches:
// A (batch, m, k) or (batch, k, m) when transA, B (batch, k, n) or
// (batch, n, k) when transB, C (batch, m, n).
func (d *Device) MatMul(a, b, c *Buffer, batch, m, k, n int, transA, transB bool) error {
	return d.Gemm(Gemm{TransA: transA, TransB: transB, M: m, N: n, K: k, Alpha: 1,
		A: a, B: b, C: c, Batch: batch})
}

// Gemm runs the SGEMM shader: C = Alpha·op(A)·op(B) + Beta·C, batched.
// Sizes need not be multiples of any tile.
func (d *Device) Gemm(g Gemm) error { return d.gemm(g, sgemmDefault) }

func (d *Device) gemm(g Gemm, version int) error {
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
	checkExtent(op, "A", g.A, g.OffA, g.Batch, g.StrideA, rowsA, colsA, g.LDA)
	checkExtent(op, "B", g.B, g.OffB, g.Batch, g.StrideB, rowsB, colsB, g.LDB)
	checkExtent(op, "C", g.C, g.OffC, g.Batch, g.StrideC, g.M, g.N, g.LDC)
	if g.M == 0 || g.N == 0 {
		return nil
	}
	v := sgemmVersions[version]
	if version == 0 {
		if g.TransA || g.TransB || g.Batch != 1 || g.Alpha != 1 || g.Beta != 0 || g.OffA != 0 || g.OffB != 0 || g.OffC != 0 ||
			g.LDA != g.K || g.LDB != g.N || g.LDC != g.N {
			argPanic("matmul_naive.comp", "dispatch", "the baseline kernel does only packed C = A·B")
		}
		p, err := d.program("matmul_naive.comp", matmulNaiveSrc)
		if err != nil {
			return err
		}
		return d.run(p, [3]int{ceilDiv(g.N, 16), ceilDiv(g.M, 16), 1}, []*Buffer{g.A, g.B, g.C},
			iarg("M", g.M), iarg("N", g.N), iarg("K", g.K))
	}
	if d.info.MaxSharedBytes > 0 && v.shared() > d.info.MaxSharedBytes && version > 0 {
		return &Error{Shader: op, Op: "dispatch", Err: fmt.Errorf("version %d needs %d bytes of shared memory, the device has %d", version, v.shared(), d.info.MaxSharedBytes)}
	}
	// 16-byte loads need every contiguous run and start aligned to 4 floats.
	vec4 := v.vec4 && g.K%4 == 0 && g.LDA%4 == 0 && g.LDB%4 == 0 &&
		g.OffA%4 == 0 && g.OffB%4 == 0 && g.StrideA%4 == 0 && g.StrideB%4 == 0 &&
		(!g.TransA || g.M%4 == 0) && (g.TransB || g.N%4 == 0)
	defs := []string{
		fmt.Sprintf("BM %d", v.bm), fmt.Sprintf("BN %d", v.bn), fmt.Sprintf("BK %d", v.bk),
		fmt.Sprintf("TM %d", v.tm), fmt.Sprintf("TN %d", v.tn),
		fmt.Sprintf("TX %d", v.bn/v.tn), fmt.Sprintf("TY %d", v.bm/v.tm),
		fmt.Sprintf("NT %d", v.bn/v.tn*v.bm/v.tm),
	}
	if g.TransA {
		defs = append(defs, "TRANS_A")
	}
	if g.TransB {
		defs = append(defs, "TRANS_B")
	}
	if v.double {
		defs = append(defs, "DOUBLE")
	}
	if vec4 {
		defs = append(defs, "VEC4")
	}
	if v.unroll {
		defs = append(defs, "UNROLL")
	}
	if v.localReg {
		defs = append(defs, "LOCALREG")
	}
	if v.regs {
		defs = append(defs, "REGS")
	}
	if v.exact && vec4 && g.M%v.bm == 0 && g.N%v.bn == 0 && g.K%v.bk == 0 {
		defs = append(defs, "EXACT")
	}
	if v.wtx > 0 {
		defs = append(defs, fmt.Sprintf("WTX %d", v.wtx))
	}
	if v.vec4c && g.N%4 == 0 && g.LDC%4 == 0 && g.OffC%4 == 0 && g.StrideC%4 == 0 {
		defs = append(defs, "VEC4C")
	}
	p, err := d.program(op, matmulSrc, defs...)
	if err != nil {
		return err
	}
	return d.run(p, [3]int{ceilDiv(g.N, v.bn), ceilDiv(g.M, v.bm), g.Batch},
		[]*Buffer{g.A, g.B, g.C},
		iarg("M", g.M), iarg("N", g.N), iarg("K", g.K),
		iarg("lda", g.LDA), iarg("ldb", g.LDB), iarg("ldc", g.LDC),
		iarg("offA", g.OffA), iarg("offB", g.OffB), iarg("offC", g.OffC),
		iarg("strideA", g.StrideA), iarg("strideB", g.StrideB), iarg("strideC", g.StrideC),
		farg("alpha", g.Alpha), farg("beta", g.Beta))
}

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
