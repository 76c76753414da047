package tensor_test

import (
	"fmt"

	"github.com/furious-lab/furious/tensor"
)

func ExampleMatMul() {
	a := tensor.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3) // (2, 3)
	b := tensor.FromFloat32([]float32{1, 0, 0, 1, 1, 1}, 3, 2) // (3, 2)
	fmt.Println(tensor.MatMul(a, b))
	// Output:
	// Tensor(2,2) float32 cpu
	// [[4 5]
	//  [10 11]]
}

func ExampleMatMulT() {
	q := tensor.Ones(1, 2, 4, 8) // (B, H, L, d)
	k := tensor.Ones(1, 2, 4, 8)
	s := tensor.MatMulT(q, k, false, true) // Q·Kᵀ: (B, H, L, L)
	fmt.Println(s.Shape(), s.At(0, 1, 3, 2))
	// Output: [1 2 4 4] 8
}

func ExampleMatMul_shapeError() {
	err := tensor.Catch(func() { tensor.MatMul(tensor.Zeros(2, 3), tensor.Zeros(4, 5)) })
	fmt.Println(err)
	// Output: tensor.MatMul: b has shape (4,5), want (3,?) (inner dimensions differ: a has shape (2,3), transA=false, transB=false)
}

func ExampleAdd_broadcast() {
	x := tensor.Zeros(2, 3)
	bias := tensor.FromFloat32([]float32{1, 2, 3}) // (3) broadcasts over the rows
	fmt.Println(tensor.Add(x, bias))
	// Output:
	// Tensor(2,3) float32 cpu
	// [[1 2 3]
	//  [1 2 3]]
}

func ExampleSum() {
	x := tensor.Ones(2, 3, 4)
	fmt.Println(tensor.Sum(x, 1, false).Shape(), tensor.Sum(x, -1, true).Shape(), tensor.SumAll(x))
	// Output: [2 4] [2 3 1] 24
}

func ExampleTensor_Slice() {
	x := tensor.FromFloat32([]float32{0, 1, 2, 3, 4, 5}, 1, 6, 1) // (B, L, d)
	fmt.Println(x.Slice(1, 2, 5).Reshape(-1))
	// Output:
	// Tensor(3) float32 cpu
	// [2 3 4]
}

func ExampleCumsum() {
	fmt.Println(tensor.Cumsum(tensor.FromFloat64([]float64{1, 2, 3, 4}), 0))
	// Output:
	// Tensor(4) float64 cpu
	// [1 3 6 10]
}

func ExampleMaxRelDiff() {
	ref := tensor.FromFloat64([]float64{10, -20, 5})
	got := tensor.FromFloat32([]float32{10, -20.5, 5})
	fmt.Println(tensor.MaxAbsDiff(got, ref), tensor.MaxRelDiff(got, ref), tensor.AllClose(got, ref, 0.05, 0))
	// Output: 0.5 0.025 true
}
