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

func TestBlockConfigErrors(t *testing.T) {
	in := NewInit(1, tensor.Float64)
	for name, c := range map[string]BlockConfig{
		"heads": {DModel: 10, Heads: 4, Order: 1},
		"order": {DModel: 8, Heads: 2},
		"mask":  {DModel: 8, Heads: 2, Order: 1, Mask: "cosine"},
		"norm":  {DModel: 8, Heads: 2, Order: 1, Norm: "layer"},
		"chunk": {DModel: 8, Heads: 2, Order: OrderExp, Chunk: 4},
	} {
		if err := tensor.Catch(func() { NewAttnBlock(in, "b", c) }); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// A user-built variant: squared, forget gate, ReLU features, no norm.
	b := NewAttnBlock(in, "b", BlockConfig{DModel: 8, Heads: 2, Order: OrderSquared, Mask: "forget", QKAct: "relu"})
	y := b.Forward(Const(tensor.Randn64(1, 2, 5, 8)))
	if s := y.Value.Shape(); len(s) != 3 || s[2] != 8 {
		t.Fatalf("block output %v", s)
	}
}
