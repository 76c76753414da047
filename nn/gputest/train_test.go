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

// useDevice chooses where new tensors and parameters are placed, failing
// the test on error.
func useDevice(t testing.TB, name string) {
	t.Helper()
	if err := tensor.SetDevice(name); err != nil {
		t.Fatal(err)
	}
}

// blockConfig is the preset name's block, "2mamba-chunk" for 2Mamba in the
// chunked form (chunks of 4), or "order3-forget" for an order-3 forget-gate
// variant with output RMSNorm (the quadratic form).
func blockConfig(name string) nn.BlockConfig {
	switch name {
	case "2mamba-chunk":
		c := nn.Preset("2mamba")
		c.Chunk = 4
		return c
	case "order3-forget":
		c := nn.Preset("mamba2s")
		c.Order, c.Mask, c.Norm = 3, ssd.MaskForget, ssd.NormOutput
		return c
	}
	return nn.Preset(name)
}

// batch is a fixed batch of B windows of L tokens of a 13-token vocabulary.
func batch(B, L int) (ids, tg []int) {
	ids, tg = make([]int, B*L), make([]int, B*L)
	for i := range ids {
		ids[i] = (i*7 + i/L) % 13
		tg[i] = (i*5 + 3) % 13
	}
	return ids, tg
}

// model is a fresh 2-layer LM of preset's block (head dim 8), its
// parameters placed where tensor.SetDevice says.
func model(preset string) *nn.LM {
	bc := blockConfig(preset)
	bc.DModel, bc.Heads = 24, 3
	return nn.NewLM(nn.ModelConfig{Vocab: 13, Layers: 2, Block: bc, Seed: 7, DType: tensor.Float32})
}

// stepGrads runs one training step's forward and backward (no optimiser
// step) of a fresh model and returns the loss and every parameter's
// gradient by name (read back to the host).
func stepGrads(t *testing.T, preset string, B, L int) (float64, map[string][]float32) {
	m := model(preset)
	ids, tg := batch(B, L)
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

// TestTrainStepGPU checks that a model built under tensor.SetDevice("gpu")
// lives on the GPU and that one training step gives every parameter the
// gradient the CPU gives it, for every preset, 2Mamba in the chunked form
// and an order-3 forget-gate variant with output RMSNorm (float32 both;
// B = 2, L = 37, not a multiple of any tile). It also checks that the
// attention ran on the GPU (its program was compiled).
//
// Bound: max |g_gpu − g_cpu| ≤ 1e-4·max |g_cpu| per parameter. Both sides
// are float32 with different summation orders (tiled shaders and
// work-group reductions against gonum's loops), so each op differs by a
// few ulps, and the differences compound through two layers, RMSNorms and
// the softmax loss, forward then backward; a wrong term moves a gradient
// by O(1) of its scale.
func TestTrainStepGPU(t *testing.T) {
	dev := device(t)
	defer useDevice(t, "cpu")
	progs := dispatched(dev, func() {
		checkSteps(t, 2, 37, append(append([]string{}, nn.Presets...), "2mamba-chunk", "order3-forget"))
	})
	if !progs["attndev.comp"] || !progs["attnchunk.comp"] {
		t.Fatalf("shaders dispatched: %v; want attndev.comp and attnchunk.comp", progs)
	}
}

// TestTrainStepGPUGemmForm is TestTrainStepGPU at L = 520 (B = 1), where
// the quadratic attention runs through SGEMM (gpu/attngemm.go, from
// L = 512), for the presets that take the quadratic form with a norm, a
// decay or both: linear, mamba2, 2mamba-e, softmax. Same bound.
func TestTrainStepGPUGemmForm(t *testing.T) {
	dev := device(t)
	defer useDevice(t, "cpu")
	progs := dispatched(dev, func() { checkSteps(t, 1, 520, []string{"linear", "mamba2", "2mamba-e", "softmax"}) })
	if !progs["attngemm.comp"] {
		t.Fatalf("shaders dispatched: %v; want attngemm.comp", progs)
	}
}

// dispatched runs f under the device's profiler and returns the shaders
// (file names, without their defines) it dispatched.
func dispatched(dev *gpu.Device, f func()) map[string]bool {
	dev.StartProfile()
	f()
	progs := map[string]bool{}
	for _, r := range dev.StopProfile().Rows {
		name := r.Program // "file.comp[DEFINES] args"
		if i := strings.IndexAny(name, "[ "); i >= 0 {
			name = name[:i]
		}
		progs[name] = true
	}
	return progs
}

// checkSteps runs TestTrainStepGPU's comparison for each preset at B × L.
func checkSteps(t *testing.T, B, L int, presets []string) {
	for _, preset := range presets {
		t.Run(preset, func(t *testing.T) {
			useDevice(t, "cpu")
			lossC, gc := stepGrads(t, preset, B, L)
			useDevice(t, "gpu")
			if m := model(preset); m.Params()[0].Value.Device() != backend.GPU {
				t.Fatalf("a model built under SetDevice(gpu) has its parameters on %v", m.Params()[0].Value.Device())
			}
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
					if e := math.Abs(float64(got[i]) - float64(w)); !(e <= diff) {
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
}

// TestTrainStepStaysOnDevice checks issue 12's rule on a model moved with
// LM.To("gpu"): after a first step (which makes AdamW's moments on the
// device), whole training steps — forward, backward, AdamW — copy no
// tensor between host and device (tensor.Transfers: the token ids and
// targets go to the backend as index lists and the loss comes back as one
// value, neither a tensor), and no operation falls back to the CPU (no
// notice).
func TestTrainStepStaysOnDevice(t *testing.T) {
	device(t)
	var notices strings.Builder
	old := tensor.SetNoticeWriter(&notices)
	defer tensor.SetNoticeWriter(old)
	const B, L = 2, 37
	for _, preset := range []string{"2mamba", "mamba2", "softmax", "2mamba-chunk"} {
		m := model(preset).To("gpu")
		opt := nn.NewAdamW(m.Params(), 1e-3)
		ids, tg := batch(B, L)
		step := func() float64 {
			loss := m.Loss(ids, tg, B, L, -100)
			opt.ZeroGrad()
			loss.Backward()
			opt.Step()
			return loss.Item()
		}
		first := step()
		u0, d0 := tensor.Transfers()
		var last float64
		for i := 0; i < 3; i++ {
			last = step()
		}
		u1, d1 := tensor.Transfers()
		if u1 != u0 || d1 != d0 {
			t.Errorf("%s: three steps made %d uploads and %d downloads of tensors; want 0 and 0", preset, u1-u0, d1-d0)
		}
		if !(last < first) {
			t.Errorf("%s: loss %v after three more steps on one batch, %v first: not learning", preset, last, first)
		}
	}
	if notices.Len() > 0 {
		t.Errorf("fallbacks to the CPU during training:\n%s", notices.String())
	}
}

// TestTrainStepReusesBuffers checks that a training loop reaches a steady
// state in which its tensors come from the device's pool, not from new
// driver buffers (about 30 µs to 2 ms each on NVIDIA): the dropped
// intermediates of earlier steps must be collected and returned in time.
// Over steps 10 to 29 of a small model the driver may make fewer buffers
// than one cold step does (the collection runs in the background, so a few
// misses are allowed); collecting only after 64 MiB handed out made about
// as many as the steps allocate, most steps.
func TestTrainStepReusesBuffers(t *testing.T) {
	d := device(t)
	const B, L = 2, 64
	m := model("softmax").To("gpu")
	opt := nn.NewAdamW(m.Params(), 1e-3)
	ids, tg := batch(B, L)
	step := func() int64 {
		c0 := d.Stats().Created
		loss := m.Loss(ids, tg, B, L, -100)
		opt.ZeroGrad()
		loss.Backward()
		opt.Step()
		loss.Item()
		return d.Stats().Created - c0
	}
	cold := step()
	for i := 1; i < 10; i++ {
		step()
	}
	var warm int64
	for i := 10; i < 30; i++ {
		warm += step()
	}
	t.Logf("new driver buffers: %d in the first step, %d in steps 10 to 29", cold, warm)
	if warm >= cold {
		t.Errorf("steps 10 to 29 made %d new driver buffers, the first step %d: the pool is not reused", warm, cold)
	}
}

// TestLongSequenceOnDevice checks that attention longer than the old
// host-slice path took (2048) runs on the device, equal to the CPU's
// within float32 rounding, forward and backward.
func TestLongSequenceOnDevice(t *testing.T) {
	device(t)
	const L = 2100
	q, k, v := tensor.NewRNG(1).Randn(1, 1, L, 4), tensor.NewRNG(2).Randn(1, 1, L, 4), tensor.NewRNG(3).Randn(1, 1, L, 4)
	a := tensor.NewRNG(4).Rand(-0.5, -0.01, 1, 1, L)
	o := ssd.TwoMamba.Options()
	want, tape := ssd.Train(q, k, v, a, o, 0)
	dy := tensor.NewRNG(5).Randn(1, 1, L, 4)
	gw := tape.Backward(dy)
	r := func(x *tensor.Tensor) *tensor.Tensor { return x.To("gpu") }
	got, tg := ssd.Train(r(q), r(k), r(v), r(a), o, 0)
	gg := tg.Backward(r(dy))
	if got.Device() != backend.GPU || gg.DQ.Device() != backend.GPU {
		t.Fatalf("L = %d: output on %v, gradient on %v; want gpu", L, got.Device(), gg.DQ.Device())
	}
	for _, c := range [][2]*tensor.Tensor{{got, want}, {gg.DQ, gw.DQ}, {gg.DK, gw.DK}, {gg.DV, gw.DV}, {gg.DA, gw.DA}} {
		if e := tensor.MaxRelDiff(c[0], c[1]); !(e <= 1e-4) {
			t.Fatalf("L = %d: device differs from the CPU by %.3g", L, e)
		}
	}
}

// TestOverflowFallsBack checks that an exp-order attention without a norm
// whose scores overflow float32 reports the CPU's error for resident
// inputs too (the device's infinite output is not returned: the CPU code
// runs and panics with tensor.ErrNotFinite).
func TestOverflowFallsBack(t *testing.T) {
	device(t)
	q := tensor.Full(30, 1, 1, 5, 4) // s_ij = 30·30·4/√4 = 1800: exp overflows
	run := func(q *tensor.Tensor) error {
		return tensor.Catch(func() {
			nn.Attention(nn.Const(q), nn.Const(q), nn.Const(q), nil, ssd.Options{Exp: true})
		})
	}
	want := run(q)
	got := run(q.To("gpu"))
	if want == nil || !errors.Is(want, tensor.ErrNotFinite) {
		t.Fatalf("cpu: %v, want an error wrapping tensor.ErrNotFinite", want)
	}
	if got == nil || got.Error() != want.Error() {
		t.Fatalf("resident inputs: %v, want the cpu's %v", got, want)
	}
}

// TestLossCurveGPU trains the same model (same seed and batches, AdamW)
// 40 steps on the GPU and on the CPU in float32 and float64, and checks
// that the GPU's loss curve stays as close to the float64 curve as the
// CPU's float32 curve does: max over steps of |ℓ_gpu − ℓ_64|/ℓ_64 within
// 10× the CPU's float32 distance, or 1e-5 (the two float32 sides sum in
// different orders; a wrong step would move the curve by far more).
func TestLossCurveGPU(t *testing.T) {
	device(t)
	defer useDevice(t, "cpu")
	const B, L, steps = 2, 23, 40
	curve := func(preset, where string, dt tensor.DType) []float64 {
		useDevice(t, where)
		defer useDevice(t, "cpu")
		bc := blockConfig(preset)
		bc.DModel, bc.Heads = 24, 3
		m := nn.NewLM(nn.ModelConfig{Vocab: 13, Layers: 2, Block: bc, Seed: 7, DType: dt})
		opt := nn.NewAdamW(m.Params(), 3e-3)
		var out []float64
		for i := 0; i < steps; i++ {
			ids, tg := batch(B, L)
			for j := range ids { // a different batch each step
				ids[j], tg[j] = (ids[j]+i)%13, (tg[j]+i)%13
			}
			loss := m.Loss(ids, tg, B, L, -100)
			opt.ZeroGrad()
			loss.Backward()
			opt.Step()
			out = append(out, loss.Item())
		}
		return out
	}
	for _, preset := range []string{"linear", "mamba2", "2mamba", "2mamba-e", "order3-forget"} {
		gpu, c32, c64 := curve(preset, "gpu", tensor.Float32), curve(preset, "cpu", tensor.Float32), curve(preset, "cpu", tensor.Float64)
		gap, noise := 0.0, 0.0
		for i, want := range c64 {
			if e := math.Abs(gpu[i]-want) / want; !(e <= gap) {
				gap = e
			}
			noise = math.Max(noise, math.Abs(c32[i]-want)/want)
		}
		if !(gap <= math.Max(10*noise, 1e-5)) {
			t.Errorf("%s: the gpu's loss curve is %.3g from float64's, the cpu's float32 curve %.3g", preset, gap, noise)
		}
		t.Logf("%s: loss %.4f → %.4f (float64); gpu curve within %.2g, cpu float32 within %.2g", preset, c64[0], c64[steps-1], gap, noise)
	}
}
