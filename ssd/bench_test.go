package ssd

import (
	"fmt"
	"testing"

	"github.com/furious-lab/furious/tensor"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Benchmarks at the paper's head size: B = 1, H = 4, d = 64, float32, fixed seeds.

func benchInputs(L int) (q, k, v, a *tensor.Tensor) {
	const B, H, d = 1, 4, 64
	q, k, v = tensor.NewRNG(1).Randn(B, H, L, d), tensor.NewRNG(2).Randn(B, H, L, d), tensor.NewRNG(3).Randn(B, H, L, d)
	a = LogDecaySoftplus(tensor.NewRNG(4).Randn(B, H, L))
	return
}

func BenchmarkChunkedOrder1(b *testing.B) {
	for _, L := range []int{2048, 8192} {
		b.Run(fmt.Sprintf("L=%d", L), func(b *testing.B) {
			q, k, v, a := benchInputs(L)
			o := Options{Order: 1, Norm: NormNone}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				Chunked(q, k, v, a, o, DefaultChunk, nil)
			}
		})
	}
}

// BenchmarkChunkedOrder2Workers1 is the same with one goroutine (for a threaded BLAS).
func BenchmarkChunkedOrder2Workers1(b *testing.B) {
	q, k, v, a := benchInputs(2048)
	defer SetWorkers(SetWorkers(1))
	for i := 0; i < b.N; i++ {
		Chunked(q, k, v, a, TwoMamba.Options(), DefaultChunk, nil)
	}
}

func BenchmarkChunkedOrder2Softmax(b *testing.B) {
	for _, L := range []int{2048, 8192} {
		b.Run(fmt.Sprintf("L=%d", L), func(b *testing.B) {
			q, k, v, a := benchInputs(L)
			o := TwoMamba.Options()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				Chunked(q, k, v, a, o, DefaultChunk, nil)
			}
		})
	}
}

// BenchmarkChunkedStrongDecay has a ≈ −3 per step: without flushing tiny
// float32 weights to zero the chunk's exp(cs) become subnormal (10-20x slower).
func BenchmarkChunkedStrongDecay(b *testing.B) {
	q, k, v, _ := benchInputs(2048)
	a := tensor.Full(-3, 1, 4, 2048)
	for i := 0; i < b.N; i++ {
		Chunked(q, k, v, a, TwoMamba.Options(), DefaultChunk, nil)
	}
}

func BenchmarkQuadraticOrder1(b *testing.B) {
	q, k, v, a := benchInputs(2048)
	o := Options{Order: 1}
	for i := 0; i < b.N; i++ {
		Quadratic(q, k, v, a, o)
	}
}

func BenchmarkQuadraticOrder2Softmax(b *testing.B) {
	q, k, v, a := benchInputs(2048)
	o := TwoMamba.Options()
	for i := 0; i < b.N; i++ {
		Quadratic(q, k, v, a, o)
	}
}

// BenchmarkStepOrder2 is one decoding step of 2Mamba's core (H = 4, d = 64,
// D = 2080, softmax norm, float32 state updated in float64): 1.2-1.6 ms on
// a shared 2-core machine, 0.5-0.65 ms before the float64 copy (doc.go's
// Accuracy section).
func BenchmarkStepOrder2(b *testing.B) {
	const H, d = 4, 64
	s := NewState(tensor.Float32, 1, H, d, d, TwoMamba.Options())
	q, k, v := tensor.NewRNG(1).Randn(1, H, d), tensor.NewRNG(2).Randn(1, H, d), tensor.NewRNG(3).Randn(1, H, d)
	a := tensor.Full(-0.01, 1, H)
	for i := 0; i < b.N; i++ {
		s.Step(q, k, v, a)
	}
}

// BenchmarkRecurrentOrder2 is the recurrent form of 2Mamba's core over
// L = 256 tokens (H = 4, d = 64, D = 2080, softmax norm, float32).
func BenchmarkRecurrentOrder2(b *testing.B) {
	q, k, v, a := benchInputs(256)
	o := TwoMamba.Options()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Recurrent(q, k, v, a, o, nil)
	}
}

// BenchmarkSGEMM is the machine's SGEMM rate through blas32 (1024³).
func BenchmarkSGEMM(b *testing.B) {
	const n = 1024
	x, y, z := tensor.NewRNG(1).Randn(n, n).Float32s(), tensor.NewRNG(2).Randn(n, n).Float32s(), make([]float32, n*n)
	g := func(d []float32) blas32.General { return blas32.General{Rows: n, Cols: n, Stride: n, Data: d} }
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, g(x), g(y), 0, g(z))
	}
	b.ReportMetric(2*n*n*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkAllFinite times the finiteness check of one 64×64 float32 chunk
// output (ssd.Chunked runs it on every chunk).
func BenchmarkAllFinite(b *testing.B) {
	x := make([]float32, 64*64)
	for i := range x {
		x[i] = float32(i)
	}
	for i := 0; i < b.N; i++ {
		if !allFinite(x) {
			b.Fatal("finite values reported not finite")
		}
	}
}
