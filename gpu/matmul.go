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
}

// The SGEMM tiling: a 128×128 tile of C a work group, 8-deep slices of A
// and B in two shared buffers (16,640 bytes, within every device with
// compute shaders: llvmpipe has 32 KiB), 8×8 outputs a thread (256
// threads), each warp's threads a 4×8 block of the tile. It is version 24
// of the 28 in gpu/BENCH.md, the fastest on the H100 (26.8 TFLOP/s at
// 4096²); the others, and the naive baseline matmul_naive.comp, are in
// git at commit d5ddbc5.
const (
	sgemmBM, sgemmBN, sgemmBK = 128, 128, 8
	sgemmTM, sgemmTN          = 8, 8
	sgemmWTX                  = 8
)

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
	checkExtent(op, "A", g.A, g.OffA, g.Batch, g.StrideA, rowsA, colsA, g.LDA)
	checkExtent(op, "B", g.B, g.OffB, g.Batch, g.StrideB, rowsB, colsB, g.LDB)
	checkExtent(op, "C", g.C, g.OffC, g.Batch, g.StrideC, g.M, g.N, g.LDC)
	if g.M == 0 || g.N == 0 {
		return nil
	}
	// 16-byte loads need every contiguous run and start aligned to 4 floats.
	vec4 := g.K%4 == 0 && g.LDA%4 == 0 && g.LDB%4 == 0 &&
		g.OffA%4 == 0 && g.OffB%4 == 0 && g.StrideA%4 == 0 && g.StrideB%4 == 0 &&
		(!g.TransA || g.M%4 == 0) && (g.TransB || g.N%4 == 0)
	defs := []string{
		fmt.Sprintf("BM %d", sgemmBM), fmt.Sprintf("BN %d", sgemmBN), fmt.Sprintf("BK %d", sgemmBK),
		fmt.Sprintf("TM %d", sgemmTM), fmt.Sprintf("TN %d", sgemmTN),
		fmt.Sprintf("TX %d", sgemmBN/sgemmTN), fmt.Sprintf("TY %d", sgemmBM/sgemmTM),
		fmt.Sprintf("NT %d", sgemmBN/sgemmTN*sgemmBM/sgemmTM), fmt.Sprintf("WTX %d", sgemmWTX),
	}
	if g.TransA {
		defs = append(defs, "TRANS_A")
	}
	if g.TransB {
		defs = append(defs, "TRANS_B")
	}
	if vec4 {
		defs = append(defs, "VEC4")
		if g.M%sgemmBM == 0 && g.N%sgemmBN == 0 && g.K%sgemmBK == 0 {
			defs = append(defs, "EXACT")
		}
	}
	if g.N%4 == 0 && g.LDC%4 == 0 && g.OffC%4 == 0 && g.StrideC%4 == 0 {
		defs = append(defs, "VEC4C")
	}
	p, err := d.program(op, matmulSrc, defs...)
	if err != nil {
		return err
	}
	return d.run(p, [3]int{ceilDiv(g.N, sgemmBN), ceilDiv(g.M, sgemmBM), g.Batch},
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
