package ssd

import (
	"testing"

	"github.com/furious-lab/furious/tensor"
)

// mixedDecay is a log-decay (1, H, 300) in six runs of 50 steps, −0.2, −3,
// −8, −15, −40, −0.2, so that with chunk 32 one head's sweep takes the fused
// order-1 path on whole chunks, on a chunk's prefix (cs leaves ±fusedRange
// after 20 steps: float32 at −3, float64 at −15) and the general path (the
// prefix is shorter than half a chunk), and hands the state between them.
func mixedDecay(H int) *tensor.Tensor {
	runs := []float64{-0.2, -3, -8, -15, -40, -0.2}
	a := make([]float64, 0, H*300)
	for h := 0; h < H; h++ {
		for _, r := range runs {
			for i := 0; i < 50; i++ {
				a = append(a, r*(1+0.01*float64(h)))
			}
		}
	}
	return tensor.FromFloat64(a, 1, H, 300)
}

// TestChunkedOrder1Paths checks order 1 through every path of chunkHead
// against the quadratic float64 oracle: 1e-10 in float64 and 1e-5 in float32
// (same float32-rounded inputs), with no norm and the softmax norm, and the
// sequence split in two with the state handed over (s0).
func TestChunkedOrder1Paths(t *testing.T) {
	const H, L, d, dv = 2, 300, 8, 5
	for _, norm := range []Norm{NormNone, NormSoftmax} {
		in := makeInputs(7, 1, H, L, d, dv, MaskNone, norm == NormSoftmax, false).round()
		in.a = mixedDecay(H)
		o := Options{Order: 1, Norm: norm}
		want := Quadratic(in.q, in.k, in.v, in.a, o)
		for _, dt := range []tensor.DType{tensor.Float64, tensor.Float32} {
			x := in.as(dt)
			tol := 1e-10
			if dt == tensor.Float32 {
				tol = 1e-5
			}
			y, _ := Chunked(x.q, x.k, x.v, x.a, o, 32, nil)
			if e := relErr(y.As(tensor.Float64), want); e > tol {
				t.Errorf("norm %v %s: rel err %.3g > %g", norm, dt, e, tol)
			}
			// Split at 137 (mid-chunk, inside the −3 run): prefix, then the
			// rest from its state.
			y1, s := Chunked(sliceT(x.q, 0, 137), sliceT(x.k, 0, 137), sliceT(x.v, 0, 137), sliceT(x.a, 0, 137), o, 32, nil)
			y2, _ := Chunked(sliceT(x.q, 137, L), sliceT(x.k, 137, L), sliceT(x.v, 137, L), sliceT(x.a, 137, L), o, 32, s)
			for _, part := range []struct {
				got    *tensor.Tensor
				t0, t1 int
			}{{y1, 0, 137}, {y2, 137, L}} {
				if e := relErr(part.got.As(tensor.Float64), sliceT(want, part.t0, part.t1)); e > tol {
					t.Errorf("norm %v %s split [%d, %d): rel err %.3g > %g", norm, dt, part.t0, part.t1, e, tol)
				}
			}
		}
	}
}
