package nn

import (
	"testing"

	"github.com/furious-lab/furious/tensor"
)

// Every preset block passes a float64 gradient check through the whole
// model (parameters of every layer), and float32 gradients agree.
func TestGradCheckPresetModels(t *testing.T) {
	ids := []int{1, 4, 2, 0, 3, 5, 5, 1, 2, 3, 0, 4}
	tg := []int{4, 2, -100, 3, 5, 5, 1, 2, 3, -100, 4, 1}
	for _, name := range append(append([]string{}, Presets...), "2mamba-chunked", "forget") {
		bc := BlockConfig{}
		switch name {
		case "2mamba-chunked":
			bc = Preset("2mamba")
			bc.Chunk = 4
		case "forget":
			bc = Preset("mamba2s")
			bc.Mask, bc.QKAct, bc.DRes, bc.ZGate = "forget", "silu", true, true
		default:
			bc = Preset(name)
		}
		bc.DModel, bc.Heads = 8, 2
		cfg := ModelConfig{Vocab: 6, Layers: 2, Block: bc, Hidden: 12, Seed: 3, DType: tensor.Float64}
		m := NewLM(cfg)
		ps := m.Params()
		errs := GradCheckParams(func() *Var { return m.Loss(ids, tg, 2, 6, -100) }, ps, 1e-4)
		worstGC, at := 0.0, ""
		for i, e := range errs {
			if e > worstGC {
				worstGC, at = e, ps[i].Name
			}
		}
		t.Logf("%-22s model gradient check max rel err %.2e (%s)", name, worstGC, at)
		if !(worstGC < 1e-6) {
			t.Errorf("%s: gradient check rel err %v at %s", name, worstGC, at)
		}
		f32 := NewLM(ModelConfig{Vocab: 6, Layers: 2, Block: bc, Hidden: 12, Seed: 3, DType: tensor.Float32})
		m64 := NewLM(cfg)
		f32.Loss(ids, tg, 2, 6, -100).Backward()
		m64.Loss(ids, tg, 2, 6, -100).Backward()
		worst := 0.0
		for i, p := range m64.Params() {
			if e := RelErr(f32.Params()[i].Grad, p.Grad); e > worst {
				worst = e
			}
		}
		t.Logf("%-22s float32 vs float64 gradients: %.2e (%d parameters, %d tensors)", name, worst, CountParams(ps), len(ps))
		if !(worst < 1e-3) {
			t.Errorf("%s: float32 gradients differ by %v", name, worst)
		}
	}
}
