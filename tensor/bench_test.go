package tensor

import (
	"fmt"
	"testing"
)

func gflops(b *testing.B, flops float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSGEMM times MatMul of two n×n float32 matrices (2n³ flops),
// through blas32: OpenBLAS with the openblas tag, pure-Go gonum without.
func BenchmarkSGEMM(b *testing.B) {
	for _, n := range []int{256, 1024, 2048} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			x, y := NewRNG(1).Randn(n, n), NewRNG(2).Randn(n, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				MatMul(x, y)
			}
			gflops(b, 2*float64(n)*float64(n)*float64(n))
		})
	}
}

// BenchmarkDGEMM is BenchmarkSGEMM in float64 (blas64).
func BenchmarkDGEMM(b *testing.B) {
	for _, n := range []int{256, 1024} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			x, y := NewRNG(1).Randn64(n, n), NewRNG(2).Randn64(n, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				MatMul(x, y)
			}
			gflops(b, 2*float64(n)*float64(n)*float64(n))
		})
	}
}

// BenchmarkBatchedScores times Q·Kᵀ for (B, H, L, d) = (1, 8, 256, 64), the
// shape of a quadratic-form score matrix.
func BenchmarkBatchedScores(b *testing.B) {
	q, k := NewRNG(1).Randn(1, 8, 256, 64), NewRNG(2).Randn(1, 8, 256, 64)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		MatMulT(q, k, false, true)
	}
	gflops(b, 2*8*256*256*64)
}

// BenchmarkElementwise times a few 2²⁰-element float32 ops.
func BenchmarkElementwise(b *testing.B) {
	x, y, bias := NewRNG(1).Randn(1024, 1024), NewRNG(2).Randn(1024, 1024), NewRNG(3).Randn(1024)
	b.Run("Add", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			Add(x, y)
		}
	})
	b.Run("AddBias", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			Add(x, bias)
		}
	})
	b.Run("Exp", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			Exp(x)
		}
	})
	b.Run("SiLU", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			SiLU(x)
		}
	})
	b.Run("SumAxis0", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			Sum(x, 0, false)
		}
	})
	b.Run("Transpose", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			x.Transpose(0, 1)
		}
	})
}

// BenchmarkSmallBatch times 256 products of 32×32 matrices, the many small
// GEMMs of a chunked scan; the batch is spread over goroutines.
func BenchmarkSmallBatch(b *testing.B) {
	q, k := NewRNG(1).Randn(256, 32, 32), NewRNG(2).Randn(256, 32, 32)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		MatMul(q, k)
	}
	gflops(b, 2*256*32*32*32)
}
