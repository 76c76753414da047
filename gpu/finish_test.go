package gpu

import (
	"math"
	"testing"

	"github.com/furious-lab/furious/tensor"
)

// TestFinishWaitsForQueuedWork: tensor.Sync reaches the gpu backend's
// Finish, which waits for resident work queued and not yet read; the
// result read afterwards is the CPU's.
func TestFinishWaitsForQueuedWork(t *testing.T) {
	residentSetup(t)
	a, b := waves(4*96*96, 1), waves(4*96*96, 2)
	ga, gb := a.To("gpu"), b.To("gpu")
	c := tensor.MatMul(ga, gb) // queued
	for i := 0; i < 3; i++ {
		c = tensor.MatMul(c, gb)
	}
	if !defaultOpened.Load() {
		t.Fatal("the default device is in use but not marked opened")
	}
	tensor.Sync()
	if err := (Backend{}).Finish(); err != nil {
		t.Fatal(err)
	}
	want := tensor.MatMul(a, b)
	for i := 0; i < 3; i++ {
		want = tensor.MatMul(want, b)
	}
	if e := tensor.MaxRelDiff(c, want); e > 1e-4 {
		t.Errorf("after Sync the resident product differs from the CPU's by %.1e", e)
	}
}

// waves is a (4, 96, 96) tensor of n fixed values sin(f·i) in [−1, 1].
func waves(n int, f float64) *tensor.Tensor {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(math.Sin(f * float64(i)))
	}
	return tensor.FromFloat32(x, 4, 96, 96)
}
