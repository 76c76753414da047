package nn

import (
	"sort"
	"testing"

	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// gcBlocks are the blocks the whole-model gradient check covers: every
// preset of the table, the chunked 2Mamba, a forget-gate variant with every
// block part, an order-3 forget-gate block with output RMSNorm (quadratic and
// chunked), and a block with a user's own log-decay (a function of h).
func gcBlocks() map[string]BlockConfig {
	out := map[string]BlockConfig{}
	for _, p := range ssd.PresetTable() {
		out[p.Key] = Preset(p.Key)
	}
	c := Preset("2mamba")
	c.Chunk = 4
	out["2mamba-chunked"] = c
	c = Preset("mamba2s")
	c.Mask, c.QKAct, c.DRes, c.ZGate, c.ZBias, c.ConvSiLU = ssd.MaskForget, ssd.ActSiLU, true, true, true, true
	out["forget"] = c
	o3 := BlockConfig{Variant: ssd.Variant{Order: 3, Mask: ssd.MaskForget, Norm: ssd.NormOutput, Eps: ssd.DefaultEps, ConvWidth: 2}, ConvBias: true}
	out["order3"] = o3
	o3.Chunk = 4
	out["order3-chunked"] = o3
	out["custom-mask"] = BlockConfig{Variant: ssd.Variant{Order: 2, Mask: ssd.MaskCustom, Norm: ssd.NormSoftmax, ConvWidth: 2},
		Decay: func(h *Var) *Var { // a = log σ(h_0 + h_1 − 1) per head: the first 2·H channels of h
			B, L := h.Value.Dim(0), h.Value.Dim(1)
			x := Reshape(Slice(h, 2, 0, 4), B, L, 2, 2)
			return Permute(LogSigmoid(AddScalar(SumAxis(x, 3), -1)), 0, 2, 1)
		}}
	return out
}

// Every preset block and the blocks of gcBlocks pass a float64 gradient
// check through the whole model (parameters of every layer), and float32
// gradients agree.
func TestGradCheckPresetModels(t *testing.T) {
	ids := []int{1, 4, 2, 0, 3, 5, 5, 1, 2, 3, 0, 4}
	tg := []int{4, 2, -100, 3, 5, 5, 1, 2, 3, -100, 4, 1}
	blocks := gcBlocks()
	names := make([]string, 0, len(blocks))
	for n := range blocks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		bc := blocks[name]
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
	v1 := ssd.Variant{Order: 1}
	for name, c := range map[string]BlockConfig{
		"heads":        {DModel: 10, Heads: 4, Variant: v1},
		"order":        {DModel: 8, Heads: 2},
		"mask":         {DModel: 8, Heads: 2, Variant: ssd.Variant{Order: 1, Mask: 9}},
		"norm":         {DModel: 8, Heads: 2, Variant: ssd.Variant{Order: 1, Norm: 7}},
		"custom":       {DModel: 8, Heads: 2, Variant: ssd.Variant{Order: 1, Mask: ssd.MaskCustom}},
		"decay":        {DModel: 8, Heads: 2, Variant: v1, Decay: func(h *Var) *Var { return h }},
		"rope odd d":   {DModel: 6, Heads: 2, Variant: v1, RoPE: true},
		"conv width 5": {DModel: 8, Heads: 2, Variant: ssd.Variant{Order: 1, ConvWidth: 5}},
	} {
		if err := tensor.Catch(func() { NewAttnBlock(in, "b", c) }); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// A Decay of the wrong shape is named.
	bad := BlockConfig{DModel: 8, Heads: 2, Variant: ssd.Variant{Order: 1, Mask: ssd.MaskCustom}, Decay: func(h *Var) *Var { return h }}
	err := tensor.Catch(func() { NewAttnBlock(in, "b", bad).Forward(Const(tensor.NewRNG(1).Randn64(2, 5, 8))) })
	if te, ok := err.(*tensor.Error); !ok || te.Arg != "Decay(h)" {
		t.Errorf("Decay of shape (B, L, DModel): %v", err)
	}
	// A user-built variant: squared, forget gate, ReLU features, no norm.
	b := NewAttnBlock(in, "b", BlockConfig{DModel: 8, Heads: 2, Variant: ssd.Variant{Order: 2, Mask: ssd.MaskForget, QKAct: ssd.ActReLU}})
	y := b.Forward(Const(tensor.NewRNG(1).Randn64(2, 5, 8)))
	if s := y.Value.Shape(); len(s) != 3 || s[2] != 8 {
		t.Fatalf("block output %v", s)
	}
}

// The exp order with a chunk length trains its quadratic form (it has no
// chunked one): same output as Chunk 0.
func TestExpBlockIgnoresChunk(t *testing.T) {
	c := Preset("2mamba-e")
	c.DModel, c.Heads = 8, 2
	h := Const(tensor.NewRNG(2).Randn64(1, 6, 8))
	y0 := NewAttnBlock(NewInit(1, tensor.Float64), "b", c).Forward(h)
	c.Chunk = 2
	y1 := NewAttnBlock(NewInit(1, tensor.Float64), "b", c).Forward(h)
	if e := RelErr(y1.Value, y0.Value); e != 0 {
		t.Errorf("chunk 2 changes the exp block by %v", e)
	}
}

// The block runs paper Alg. 3 exactly: with the Mamba-2 preset its output
// equals ssd.Variant.Core (QK activation → V⊙dt → attention → + V⊙D → ⊙ silu(z)
// → RMSNorm with eps 1e-5, scale 1) on the block's own conv (+ SiLU on q, k
// and v), dt, decay and z, with the learned D, norm weight and o_proj at their
// initial values (D = 1, weight 1) folded in by hand.
func TestMamba2BlockIsAlg3(t *testing.T) {
	c := Preset("mamba2")
	c.DModel, c.Heads = 8, 2
	H, d := 2, 4
	b := NewAttnBlock(NewInit(4, tensor.Float64), "b", c)
	hx := tensor.NewRNG(5).Randn64(2, 6, 8)
	y := b.Forward(Const(hx)).Value
	// By hand with ssd's primitives.
	B, L := 2, 6
	qkv := ssd.CausalConv1d(MatMul(Const(hx), b.QKV).Value, b.ConvW.Value, nil, true) // SiLU on q, k and v
	split := func(i int) *tensor.Tensor {
		return Reshape(Slice(Permute(Reshape(Const(qkv), B, L, 3, H, d), 2, 0, 3, 1, 4), 0, i, i+1), B, H, L, d).Value
	}
	xdt := Permute(MatMul(Const(hx), b.WDt), 0, 2, 1).Value
	a := ssd.LogDecay(ssd.MaskOriginal, xdt, b.ALog.Value, b.DtB.Value)
	dt := ssd.DT(xdt, b.DtB.Value)
	z := Permute(Reshape(MatMul(Const(hx), b.WZ), B, L, H, d), 0, 2, 1, 3).Value
	core := c.Variant.Core(ssd.FormQuadratic, split(0), split(1), split(2), a, dt, z) // (B, H, L, d)
	want := MatMul(Reshape(Permute(Const(core), 0, 2, 1, 3), B, L, H*d), b.O).Value
	if e := RelErr(y, want); !(e < 1e-12) {
		t.Errorf("Mamba-2 block vs Variant.Core: %v", e)
	}
}
