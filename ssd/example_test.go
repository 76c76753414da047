package ssd_test

import (
	"fmt"

	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// The three forms of 2Mamba's core attention agree; the chunked form returns
// the state from which decoding continues.
func Example() {
	q, k, v := tensor.NewRNG(1).Randn64(1, 2, 50, 8), tensor.NewRNG(2).Randn64(1, 2, 50, 8), tensor.NewRNG(3).Randn64(1, 2, 50, 8)
	a := ssd.LogDecaySoftplus(tensor.NewRNG(4).Randn64(1, 2, 50))
	o := ssd.TwoMamba.Options()
	yq := ssd.Quadratic(q, k, v, a, o)
	yc, state := ssd.Chunked(q, k, v, a, o, 16, nil)
	diff := 0.0
	for i, x := range yq.Data() {
		diff = max(diff, x-yc.Data()[i], yc.Data()[i]-x)
	}
	fmt.Println(yc.Shape(), diff < 1e-12)
	fmt.Println(state)
	// Output:
	// [1 2 50 8] true
	// ssd.State{order 2 scale 1/√d norm softmax, B=1 H=2 d=8 d_v=8 D=36, 50 tokens, 5.1 KiB}
}

func ExampleVariant_Memory() {
	fmt.Println(ssd.TwoMamba)
	fmt.Println(ssd.TwoMamba.Memory(64, 4))
	// Output:
	// 2Mamba: order 2, scale 1/√d, mask softplus, norm softmax, conv 2, qk none, dt off, D off, Z off
	// 2Mamba: state 135392 elements/head (528.9 KiB), D = 2080, smaller than a softmax KV cache beyond N = 1057.75 tokens
}

func ExampleFeature() {
	phi := ssd.Feature(tensor.FromFloat64([]float64{1, 2}), 2) // [x0², √2·x0x1, x1²]
	fmt.Println(phi)
	// Output:
	// Tensor(3) float64 cpu
	// [1 2.828 4]
}

// The 2Mamba attention gradient with softmax normalisation has no
// query-side decay term (spec §f).
func ExampleQuadraticBackward() {
	q, k, v := tensor.NewRNG(1).Randn64(1, 1, 6, 4), tensor.NewRNG(2).Randn64(1, 1, 6, 4), tensor.NewRNG(3).Randn64(1, 1, 6, 4)
	a := tensor.NewRNG(4).Rand64(-1, 0, 1, 1, 6)
	g := ssd.QuadraticBackward(q, k, v, a, ssd.TwoMamba.Options(), tensor.NewRNG(5).Randn64(1, 1, 6, 4))
	maxAbs := 0.0
	for _, x := range g.DAN.Float64s() {
		maxAbs = max(maxAbs, x, -x)
	}
	fmt.Println(maxAbs < 1e-15)
	// Output: true
}
