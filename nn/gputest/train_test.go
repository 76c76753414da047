package gputest

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/gpu"
	"github.com/furious-lab/furious/nn"
	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// device returns the default GPU device with the gpu backend usable by
// tensor.SetDevice (a software renderer included), or skips saying why no
// OpenGL 4.3 context could be made (and only then).
func device(t testing.TB) *gpu.Device {
	t.Helper()
	d, err := gpu.Default()
	if err != nil {
		if !errors.Is(err, backend.ErrUnavailable) {
			t.Fatalf("gpu.Default: %v does not wrap backend.ErrUnavailable", err)
		}
		t.Skipf("no OpenGL 4.3 context: %v", err)
	}
	t.Setenv("FURIOUS_GPU_SOFTWARE", "1")
	return d
}

// useDevice switches tensor's active backend, failing the test on error.
func useDevice(t testing.TB, name string) {
	t.Helper()
	if err := tensor.SetDevice(name); err != nil {
		t.Fatal(err)
	}
}

// blockConfig is the preset name's block, or "2mamba-chunk" for 2Mamba in
// the chunked form (chunks of 4).
func blockConfig(name string) nn.BlockConfig {
	if name == "2mamba-chunk" {
		c := nn.Preset("2mamba")
		c.Chunk = 4
		return c
	}
	return nn.Preset(name)
}

// stepGrads runs one training step's forward and backward (no optimiser
// step) of a fresh 2-layer model on the active backend and returns the
// loss and every parameter's gradient by name.
func stepGrads(t *testing.T, preset string, B, L int) (float64, map[string][]float32) {
	bc := blockConfig(preset)
	bc.DModel, bc.Heads = 24, 3 // head dim 8
	m := nn.NewLM(nn.ModelConfig{Vocab: 13, Layers: 2, Block: bc, Seed: 7, DType: tensor.Float32})
	ids, tg := make([]int, B*L), make([]int, B*L)
	for i := range ids {
		ids[i] = (i*7 + i/L) % 13
		tg[i] = (i*5 + 3) % 13
	}
	loss := m.Loss(ids, tg, B, L, -100)
	loss.Backward()
	grads := map[string][]float32{}
	for _, p := range m.Params() {
		if p.Grad == nil {
			t.Fatalf("%s: %s has no gradient", preset, p.Name)
		}
		grads[p.Name] = append([]float32(nil), p.Grad.Float32s()...)
	}
	return loss.Item(), grads
}

// TestTrainStepGPU checks that, with FURIOUS_DEVICE=gpu (tensor.SetDevice),
// one training step of a 2-layer LM gives every parameter the gradient the
// CPU gives it, for every preset and for 2Mamba in the chunked form
// (float32 both; B = 2, L = 37, not a multiple of any tile; every GEMM
// sent to the GPU too: nn.GPUGEMMMinWork = 0). It also checks that the
// attention ran on the GPU (its program was compiled).
//
// Bound: max |g_gpu − g_cpu| ≤ 1e-4·max |g_cpu| per parameter. Both sides
// are float32 with different summation orders (blocked GEMM shaders and
// work-group reductions against gonum's loops), so each op differs by a
// few ulps, and the differences compound through two layers, RMSNorms and
// the softmax loss, forward then backward. Measured on llvmpipe: ≤ 1.4e-6
// of the largest entry; the bound leaves room for another driver's
// rounding (fused multiply-adds, other reduction orders) and still fails
// any wrong term, which moves a gradient by O(1) of its scale (a 5% error
// in the squared order's dS factor 2 gives 3e-2 to 5e-2, checked).
func TestTrainStepGPU(t *testing.T) {
	dev := device(t)
	defer useDevice(t, "cpu")
	old := nn.GPUGEMMMinWork
	nn.GPUGEMMMinWork = 0
	defer func() { nn.GPUGEMMMinWork = old }()
	const B, L = 2, 37
	for _, preset := range append(append([]string{}, nn.Presets...), "2mamba-chunk") {
		t.Run(preset, func(t *testing.T) {
			useDevice(t, "cpu")
			lossC, gc := stepGrads(t, preset, B, L)
			useDevice(t, "gpu")
			lossG, gg := stepGrads(t, preset, B, L)
			useDevice(t, "cpu")
			if e := math.Abs(lossG-lossC) / math.Abs(lossC); !(e <= 1e-5) {
				t.Errorf("loss %v on the gpu, %v on the cpu (relative %.3g)", lossG, lossC, e)
			}
			worst, worstName := 0.0, ""
			for name, want := range gc {
				got := gg[name]
				scale, diff := 0.0, 0.0
				for i, w := range want {
					scale = math.Max(scale, math.Abs(float64(w)))
					e := math.Abs(float64(got[i]) - float64(w))
					if !(e <= diff) {
						diff = e
					}
				}
				e := diff / math.Max(scale, 1e-30)
				if !(e <= 1e-4) {
					t.Errorf("%s: gradient differs by %.3g of its largest entry %.3g", name, e, scale)
				}
				if !(e <= worst) {
					worst, worstName = e, name
				}
			}
			t.Logf("%d parameters, loss %.6f; largest gradient difference %.3g of the largest entry (%s)", len(gc), lossC, worst, worstName)
		})
	}
	var attn, mm bool
	for _, n := range dev.Stats().ProgramNames {
		attn = attn || strings.HasPrefix(n, "attnback.comp")
		mm = mm || strings.HasPrefix(n, "matmul.comp")
	}
	if !attn || !mm {
		t.Fatalf("programs compiled: %v; want attnback.comp and matmul.comp", dev.Stats().ProgramNames)
	}
}

// TestLongSequenceFallsBack checks that attention longer than the GPU
// takes (gpu.AttnMaxL) runs on the CPU with the gpu active: same output as
// the CPU, no error.
func TestLongSequenceFallsBack(t *testing.T) {
	device(t)
	defer useDevice(t, "cpu")
	L := gpu.AttnMaxL + 3
	q, k, v := tensor.Randn(1, 1, 1, L, 2), tensor.Randn(2, 1, 1, L, 2), tensor.Randn(3, 1, 1, L, 2)
	a := tensor.Rand(4, -0.5, -0.01, 1, 1, L)
	run := func() []float32 {
		return nn.Attention(nn.Const(q), nn.Const(k), nn.Const(v), nn.Const(a), ssd.TwoMamba.Options()).Value.Float32s()
	}
	useDevice(t, "cpu")
	want := run()
	useDevice(t, "gpu")
	got := run()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("y[%d] = %v on the gpu backend at L = %d, %v on the cpu: want the cpu's code", i, got[i], L, want[i])
		}
	}
}

// TestOverflowFallsBack checks that an exp-order attention without a norm
// whose scores overflow float32 reports the CPU's error on the gpu backend
// too (the GPU's infinite output is not returned: the CPU code runs and
// panics with tensor.ErrNotFinite).
func TestOverflowFallsBack(t *testing.T) {
	device(t)
	defer useDevice(t, "cpu")
	q := tensor.Full(30, 1, 1, 5, 4) // s_ij = 30·30·4/√4 = 1800: exp overflows
	run := func() error {
		return tensor.Catch(func() {
			nn.Attention(nn.Const(q), nn.Const(q), nn.Const(q), nil, ssd.Options{Exp: true})
		})
	}
	useDevice(t, "cpu")
	want := run()
	useDevice(t, "gpu")
	got := run()
	if want == nil || !errors.Is(want, tensor.ErrNotFinite) {
		t.Fatalf("cpu: %v, want an error wrapping tensor.ErrNotFinite", want)
	}
	if got == nil || got.Error() != want.Error() {
		t.Fatalf("gpu backend: %v, want the cpu's %v", got, want)
	}
}
