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

// The loss plot had ticks 1.229, 77.5, 212.5.
func TestLossPlotRoundTicks(t *testing.T) {
	lp := LossPlot{Title: "loss", Series: []Series{{Name: "train", X: []float64{0, 10, 20}, Y: []float64{212.5, 77.5, 1.229}}}}
	p := lp.Figure().Plot()
	var labels []string
	for _, tk := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
		labels = append(labels, tk.Label)
	}
	if got := strings.Join(labels, " "); got != "0 50 100 150 200 250" {
		t.Errorf("y ticks %q", got)
	}
	if p.X.Label.Text != "step" || p.Y.Label.Text != "loss" {
		t.Errorf("labels %q, %q", p.X.Label.Text, p.Y.Label.Text)
	}
	b := display.Render(lp)
	if _, ok := b.Data[display.MIMEPNG].([]byte); !ok || b.Data[display.MIMEText] != `<lines "loss": train; x linear, y linear>` {
		t.Errorf("Render(LossPlot) = %v", b.Data[display.MIMEText])
	}
	lp.LogY = true
	if p := lp.Figure().Plot(); p.Y.Min != 1 || p.Y.Max != 1000 {
		t.Errorf("log loss axis [%g, %g]", p.Y.Min, p.Y.Max)
	}
}
