package nn_test

import (
	"fmt"

	"github.com/furious-lab/furious/nn"
	"github.com/furious-lab/furious/tensor"
)

// Gradients of a small loss: L = Σ (x·W)², dL/dW = 2·xᵀ(x·W).
func Example() {
	x := nn.Const(tensor.FromFloat64([]float64{1, 2}, 1, 2))       // (1, 2)
	w := nn.Param(tensor.FromFloat64([]float64{1, 0, 0, 1}, 2, 2)) // (2, 2)
	loss := nn.Sum(nn.Square(nn.MatMul(x, w)))                     // ()
	loss.Backward()
	fmt.Println(loss.Item(), w.Grad.Float64s())
	// Output: 5 [2 4 4 8]
}

// The 2Mamba attention gradient with softmax normalisation has no
// query-side decay term.
func ExampleAttentionBackward() {
	q, k, v := tensor.Randn64(1, 1, 1, 6, 4), tensor.Randn64(2, 1, 1, 6, 4), tensor.Randn64(3, 1, 1, 6, 4)
	a := tensor.Rand64(4, -1, 0, 1, 1, 6)
	g := nn.AttentionBackward(q, k, v, a, nn.OrderSquared, true, tensor.Randn64(5, 1, 1, 6, 4))
	maxAbs := 0.0
	for _, x := range g.DAN.Float64s() {
		maxAbs = max(maxAbs, x, -x)
	}
	fmt.Println(maxAbs < 1e-15)
	// Output: true
}
