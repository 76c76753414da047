package cpu

import (
	"fmt"
	"testing"
)

// BenchmarkSGEMM times C = A·B for square float32 matrices and reports
// GFLOP/s (2n³ floating-point operations per product).
func BenchmarkSGEMM(b *testing.B) {
	for _, n := range []int{256, 1024, 2048} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			x, y, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
			for i := range x {
				x[i], y[i] = float32(i%7)-3, float32(i%5)-2
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				Sgemm(false, false, n, n, n, 1, x, n, y, n, 0, c, n)
			}
			b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkDGEMM is BenchmarkSGEMM in float64.
func BenchmarkDGEMM(b *testing.B) {
	for _, n := range []int{256, 1024} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			x, y, c := make([]float64, n*n), make([]float64, n*n), make([]float64, n*n)
			for i := range x {
				x[i], y[i] = float64(i%7)-3, float64(i%5)-2
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				Dgemm(false, false, n, n, n, 1, x, n, y, n, 0, c, n)
			}
			b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
