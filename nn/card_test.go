package nn

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// TestVariantCard builds the card of notebook 04's new variant (2Mamba with
// the forget-gate mask and conv 3) and checks every number on it against
// its definition: forms within their tolerances, the gradient check over
// every parameter of the block, the memory accounting of ssd, throughput =
// B·H·L / time, and a two-row MQAR run whose curves and table render.
func TestVariantCard(t *testing.T) {
	v := ssd.TwoMamba
	v.Name, v.Mask, v.ConvWidth = "2Mamba-F3", ssd.MaskForget, 3
	bc := Preset("2mamba")
	bc.Variant = v
	c, err := NewVariantCard(context.Background(), bc, CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Forms) != 3 {
		t.Fatalf("%d form checks, want recurrent, chunked, blockwise", len(c.Forms))
	}
	for _, f := range c.Forms {
		if !(f.RelErr <= cardFormsTol) {
			t.Errorf("%s vs quadratic: %.3g", f.Form, f.RelErr)
		}
	}
	if !(c.Float32 > 0 && c.Float32 <= cardFloat32Tol) {
		t.Errorf("float32 recurrent vs float64: %.3g, want in (0, %g]", c.Float32, cardFloat32Tol)
	}
	probe := bc
	probe.DModel, probe.Heads = cardGradDModel, 2
	params := NewAttnBlock(NewInit(7, tensor.Float64), "blk", probe).Params()
	if c.GradParams != len(params) || !(c.GradWorst <= cardGradTol) {
		t.Errorf("gradient check: %d params (want %d), worst %.3g", c.GradParams, len(params), c.GradWorst)
	}
	found := false
	for _, p := range params {
		found = found || p.Name == c.GradWorstName
	}
	if !found {
		t.Errorf("worst gradient on %q, not a parameter of the block", c.GradWorstName)
	}
	if c.Memory != v.Memory(64, 4) || c.Baseline != ssd.TwoMamba.Memory(64, 4) {
		t.Errorf("memory %+v / %+v", c.Memory, c.Baseline)
	}
	if len(c.Speed) != 4 {
		t.Fatalf("%d speeds, want 4 forms", len(c.Speed))
	}
	for _, s := range c.Speed {
		if !(s.Seconds > 0) || math.Abs(s.TokensPerSec*s.Seconds-float64(2*c.SpeedL)) > 1e-6*float64(c.SpeedL) {
			t.Errorf("%s: %g s, %g tokens/s for L = %d", s.Form, s.Seconds, s.TokensPerSec, c.SpeedL)
		}
	}
	if c.MQAR == nil || len(c.MQAR.Rows) != 2 || c.MQAR.Rows[0].Preset != cardAgainst || c.MQAR.Rows[1].Preset != v.Name {
		t.Fatalf("MQAR rows %+v", c.MQAR)
	}
	if len(c.MQAR.Plot.Series) != 2 {
		t.Errorf("%d MQAR curves, want 2", len(c.MQAR.Plot.Series))
	}
	for _, s := range c.MQAR.Plot.Series {
		if len(s.X) < 5 || len(s.X) != len(s.Y) {
			t.Errorf("curve %s has %d points", s.Name, len(s.X))
		}
	}
	text, page := c.String(), c.HTML()
	for _, r := range c.MQAR.Rows {
		if !(r.Accuracy >= 0 && r.Accuracy <= 1) || !(r.TestLoss > 0) {
			t.Errorf("MQAR row %+v", r)
		}
		for _, want := range []string{fmt.Sprintf("%.4f", r.TestLoss), fmt.Sprintf("%.3f", r.Accuracy)} {
			if !strings.Contains(text, want) || !strings.Contains(page, want) {
				t.Errorf("card lacks %s's %s", r.Preset, want)
			}
		}
	}
	for _, want := range []string{v.Name, fmt.Sprintf("N = %.2f", c.Memory.Crossover), sci(c.GradWorst), "pass"} {
		if !strings.Contains(text, want) || !strings.Contains(page, want) {
			t.Errorf("card lacks %q:\n%s", want, text)
		}
	}
	if !c.Pass() || !strings.Contains(page, "<svg") || strings.Contains(text, "FAIL") {
		t.Errorf("a passing card: Pass %v, svg %v", c.Pass(), strings.Contains(page, "<svg"))
	}
	// A failed check turns the verdict and the frame.
	bad := *c
	bad.GradWorst = 10 * cardGradTol
	if bad.Pass() || !strings.Contains(bad.String(), "FAIL") || !strings.Contains(bad.HTML(), "#d62728") {
		t.Errorf("a gradient error of %g passes", bad.GradWorst)
	}
}

// TestVariantCardExp: exp attention has no finite state, so the card marks
// the recurrent and chunked forms and the float32 decoding check as not
// applicable, and its memory is a KV cache.
func TestVariantCardExp(t *testing.T) {
	c, err := NewVariantCard(context.Background(), Preset("softmax"), CardOptions{NoMQAR: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range c.Forms {
		finite := f.Form == ssd.FormRecurrent || f.Form == ssd.FormChunked
		if finite != math.IsNaN(f.RelErr) || !finite && !(f.RelErr <= cardFormsTol) {
			t.Errorf("%s: %g", f.Form, f.RelErr)
		}
	}
	if !math.IsNaN(c.Float32) || c.MQAR != nil || !c.Pass() {
		t.Errorf("float32 %g, MQAR %v, pass %v", c.Float32, c.MQAR, c.Pass())
	}
	if !strings.Contains(c.String(), "KV cache of "+tensor.FormatBytes(int64(c.Memory.KVPerToken)*4)) {
		t.Errorf("exp memory line:\n%s", c)
	}
}
