package nn_test

import (
	"fmt"
	"os"
	"path/filepath"

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

// A model exported to PyTorch: the module, its weights and the torchrun
// script; the command to train it on 8 GPUs of one machine.
func ExampleExportTorch() {
	dir, _ := os.MkdirTemp("", "export-example-")
	defer os.RemoveAll(dir)
	block := nn.Preset("2mamba")
	block.DModel, block.Heads = 16, 2
	lm := nn.NewLM(nn.ModelConfig{Vocab: 16, Layers: 1, Block: block, Seed: 1})
	ex, err := nn.ExportTorch(lm, filepath.Join(dir, "2mamba"), nn.ExportOptions{})
	if err != nil {
		panic(err)
	}
	for _, f := range []string{ex.Model, ex.Weights, ex.Script} {
		fmt.Println(filepath.Base(f))
	}
	fmt.Println(ex.Command(8, "--mqar 16,4,4,32 --steps 1000"))
	// Output:
	// model.py
	// model.safetensors
	// train.py
	// torchrun --standalone --nproc_per_node=8 train.py --mqar 16,4,4,32 --steps 1000
}
