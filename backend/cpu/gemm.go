package cpu

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C in float32, row-major, with
// the active BLAS (OpenBLAS when installed). op(A) is m×k (A is k×m when
// transA), op(B) is k×n, C is m×n; lda, ldb, ldc are row strides.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm(blasSgemm, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Dgemm is Sgemm in float64: C = alpha·op(A)·op(B) + beta·C.
func Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	gemm(blasDgemm, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// blasSgemm and blasDgemm call the active BLAS: functions, not method
// values of the interface blas32.Implementation() returns, which cost an
// allocation per call (TestSgemmAllocs).
func blasSgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	blas32.Implementation().Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func blasDgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	blas64.Implementation().Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmFunc is the signature shared by BLAS Sgemm and Dgemm.
type gemmFunc[T float32 | float64] func(tA, tB blas.Transpose, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)

// gemm handles the edge cases BLAS implementations disagree on and splits
// large products by rows (rowSplit) before calling f.
func gemm[T float32 | float64](f gemmFunc[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		// BLAS implementations differ on k == 0; the answer is C = beta·C.
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				if beta == 0 {
					row[j] = 0
				} else {
					row[j] *= beta
				}
			}
		}
		return
	}
	if rowSplit(m, n, k) {
		Parallel(m, splitRows, func(lo, hi int) {
			f(trans(transA), trans(transB), hi-lo, n, k, alpha, a[rowOffset(transA, lo, lda):], lda, b, ldb, beta, c[lo*ldc:], ldc)
		})
		return
	}
	f(trans(transA), trans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// splitRows is the smallest block of C's rows worth a goroutine of its own.
const splitRows = 64

// rowSplit reports whether a product is split over Threads() goroutines by
// blocks of C's rows. Only OpenBLAS products are split: OpenBLAS runs one
// thread per call (see doc.go), gonum's pure-Go GEMM splits by itself.
func rowSplit(m, n, k int) bool {
	return haveOpenBLAS && Threads() > 1 && m >= 2*splitRows && m*n*k >= 1<<21
}

// rowOffset is where row lo of op(A) starts in A: row lo of A, or column lo
// when A is stored transposed.
func rowOffset(transA bool, lo, lda int) int {
	if transA {
		return lo
	}
	return lo * lda
}

// MatMul32 implements backend.MatMuler with Sgemm: for i in [0, batch),
// C_i = op(A_i)·op(B_i), A_i at a[i·strideA], B_i at b[i·strideB], C_i at
// c[i·m·n]. Batches of small products are spread over Threads() goroutines.
func (CPU) MatMul32(transA, transB bool, batch, m, n, k int, a []float32, strideA int, b []float32, strideB int, c []float32) error {
	if batch < 0 || m < 0 || n < 0 || k < 0 || strideA < 0 || strideB < 0 {
		return fmt.Errorf("cpu.MatMul32: negative size (batch %d, m %d, n %d, k %d, strides %d, %d)", batch, m, n, k, strideA, strideB)
	}
	if batch == 0 || m*n == 0 {
		return nil
	}
	if need := (batch-1)*strideA + m*k; len(a) < need {
		return fmt.Errorf("cpu.MatMul32: a has %d values, the batch needs %d", len(a), need)
	}
	if need := (batch-1)*strideB + k*n; len(b) < need {
		return fmt.Errorf("cpu.MatMul32: b has %d values, the batch needs %d", len(b), need)
	}
	if need := batch * m * n; len(c) < need {
		return fmt.Errorf("cpu.MatMul32: c has %d values, the batch needs %d", len(c), need)
	}
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	g := batch // large products: BLAS threads itself; run the batch in order
	if work := m * n * k; work < SmallGEMM {
		g = max(1, SmallGEMM/(work+1))
	}
	Parallel(batch, g, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			Sgemm(transA, transB, m, n, k, 1, a[i*strideA:i*strideA+m*k], lda, b[i*strideB:i*strideB+k*n], ldb, 0, c[i*m*n:(i+1)*m*n], n)
		}
	})
	return nil
}

// SmallGEMM is the m·n·k below which one product is too small for BLAS's
// own threads, so batches of them are spread over goroutines instead.
const SmallGEMM = 64 * 64 * 64
