package nn

import (
	"strings"
	"testing"

	"github.com/furious-lab/furious/display"
	"github.com/furious-lab/furious/tensor"
)

// The issue: nn.Preset("2mamba") printed an unlabelled struct.
func TestBlockModelRender(t *testing.T) {
	b := Preset("2mamba")
	b.DModel, b.Heads = 64, 2
	s := b.String()
	want := "2Mamba block: d_model 64, heads 2, head dim 32, dt bias off, conv bias on, Z bias off, RoPE off; order 2, scale 1/√d, mask softplus"
	if !strings.HasPrefix(s, want) || strings.Contains(s, "\n") {
		t.Errorf("BlockConfig.String() = %q\nwant prefix %q", s, want)
	}
	d := display.Render(b)
	if h, _ := d.Data[display.MIMEHTML].(string); !strings.Contains(h, "nn.BlockConfig 2Mamba") || !strings.Contains(h, "head dim") {
		t.Errorf("BlockConfig renders %v", d.Data)
	}
	if d.Data[display.MIMEText] != s {
		t.Errorf("text/plain %v", d.Data[display.MIMEText])
	}
	b.Decay = FixedDecay(tensor.Zeros(2, 8))
	if !strings.Contains(b.String(), "decay custom") {
		t.Errorf("custom decay not shown: %s", b)
	}
	b.Decay = nil

	cfg := ModelConfig{Vocab: 32, Layers: 2, Block: b, Seed: 3}
	if s := cfg.String(); !strings.HasPrefix(s, "2Mamba LM: vocab 32, layers 2, d_model 64, heads 2, hidden 176, dtype float32, seed 3; head dim 32,") {
		t.Errorf("ModelConfig.String() = %q", s)
	}
	if h := cfg.HTML(); !strings.Contains(h, "nn.ModelConfig") || !strings.Contains(h, "softplus") {
		t.Errorf("ModelConfig.HTML() = %s", h)
	}
	lm := NewLM(cfg)
	n := 0
	for _, p := range lm.Params() {
		k := 1
		for _, d := range p.Shape() {
			k *= d
		}
		n += k
	}
	// embedding and head 2·32·64, per layer two norms and the MLP's three
	// 64×176 matrices at least
	if lm.NumParams() != n || n < 2*32*64+2*(2*64+3*64*176) {
		t.Errorf("NumParams() = %d, shapes give %d", lm.NumParams(), n)
	}
	if s := lm.String(); !strings.HasPrefix(s, "2Mamba LM: ") || !strings.Contains(s, " parameters on cpu; vocab 32") {
		t.Errorf("LM.String() = %q", s)
	}
	if h := lm.HTML(); !strings.Contains(h, "parameters") || !strings.Contains(h, "<table") {
		t.Errorf("LM.HTML() = %s", h)
	}
}
