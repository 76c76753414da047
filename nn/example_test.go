package nn_test

import (
	"fmt"

	"github.com/furious-lab/furious/nn"
	"github.com/furious-lab/furious/ssd"
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

// An order-3 forget-gate attention (any ssd.Options) is a graph node like any other.
func ExampleAttention() {
	q := nn.Param(tensor.NewRNG(1).Randn64(1, 1, 6, 4))
	a := nn.LogSigmoid(nn.Const(tensor.NewRNG(2).Randn64(1, 1, 6)))
	y := nn.Attention(q, q, q, a, ssd.Options{Order: 3, Norm: ssd.NormOutput, Eps: ssd.DefaultEps})
	nn.Sum(nn.Square(y)).Backward()
	fmt.Println(y.Value.Shape(), q.Grad.Shape())
	// Output: [1 1 6 4] [1 1 6 4]
}
