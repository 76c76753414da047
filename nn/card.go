package nn

import (
	"context"
	"fmt"
	"html"
	"math"
	"strings"
	"time"

	"github.com/furious-lab/furious/nn/data"
	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// The variant card's sizes and pass marks (the card states them).
const (
	cardFormsL, cardFormsD        = 100, 16 // forms check: B = 1, H = 2, float64
	cardGradDModel, cardGradL     = 16, 12  // gradient check: block of 2 heads, float64
	cardMemD                      = 64      // decoding memory: head dimension, float32
	cardSpeedL, cardSpeedD        = 1024, 32
	cardMQARSteps, cardMQARDModel = 120, 32
	cardMQARLR                    = 1e-2
	cardFormsTol, cardGradTol     = 1e-10, 1e-6
	cardFloat32Tol                = 1e-6 // ssd's recurrentTol: float32 Recurrent vs the float64 oracle
	cardAgainst                   = "2mamba"
)

// CardOptions sizes a variant card. The zero value is the notebook's size,
// a few seconds on two cores.
type CardOptions struct {
	// Scale multiplies the speed length (1024·Scale tokens), the speed
	// repetitions (2 + Scale) and the MQAR steps (120·Scale); 0 means 1.
	Scale int
	// Against is the preset trained beside the variant on MQAR ("2mamba").
	Against string
	// NoMQAR skips the training run (the card's other checks take < 1 s).
	NoMQAR bool
}

// FormCheck is one form of the variant's core against its quadratic form in
// float64 (B = 1, H = 2, L = 100, d = 16): the relative error
// max|y − y_quad| / max|y_quad|, NaN when the form does not apply (exp has
// no finite state).
type FormCheck struct {
	Form   ssd.Form
	RelErr float64
}

// FormSpeed is one form's best time over the repetitions (float32,
// B = 1, H = 2, L = Card.SpeedL, d = 32) and its throughput in tokens/s
// (B·H·L / time); NaN for a form that does not apply.
type FormSpeed struct {
	Form         ssd.Form
	Seconds      float64
	TokensPerSec float64
}

// VariantCard answers what a researcher asks of a new variant before
// training it at scale: do its forms agree, are the block's gradients
// right, how large is its decoding state and from which context length
// does it beat a KV cache, how fast is each form, and how does it learn
// MQAR next to 2Mamba. NewVariantCard computes it; it prints as text
// (String) and renders as a card in a notebook (HTML).
type VariantCard struct {
	Block BlockConfig
	Forms []FormCheck // recurrent, chunked, blockwise vs quadratic (float64)
	// Float32 is the float32 recurrent form (what State.Step decodes with)
	// against the float64 quadratic form on the same rounded inputs; NaN
	// for exp.
	Float32 float64
	// GradParams parameter tensors of an nn block of the variant (d_model
	// 16, 2 heads, float64) were checked by central differences; GradWorst
	// is the largest relative error, on GradWorstName.
	GradParams    int
	GradWorst     float64
	GradWorstName string
	// Memory is the variant's per-head decoding memory (d = 64, float32);
	// Baseline 2Mamba's, for comparison.
	Memory, Baseline ssd.Memory
	SpeedL           int
	Speed            []FormSpeed
	// MQAR is the short training run (Against first, then the variant),
	// nil with CardOptions.NoMQAR.
	MQAR *CompareResult
}

// NewVariantCard runs the card's checks for the block bc (a variant alone:
// BlockConfig{Variant: v}). The card's own sizes replace bc.DModel and
// bc.Heads. A cancelled ctx stops the MQAR run and returns the card so far
// with ctx.Err().
func NewVariantCard(ctx context.Context, bc BlockConfig, o CardOptions) (*VariantCard, error) {
	v := bc.Variant
	v.Validate()
	sc := max(o.Scale, 1)
	c := &VariantCard{Block: bc, Float32: math.NaN(), SpeedL: cardSpeedL * sc}
	c.checkForms()
	c.checkGradients()
	c.Memory, c.Baseline = v.Memory(cardMemD, 4), ssd.TwoMamba.Memory(cardMemD, 4)
	c.measureSpeed(2 + sc)
	if o.NoMQAR {
		return c, nil
	}
	against := o.Against
	if against == "" {
		against = cardAgainst
	}
	name := v.Name
	if name == "" || name == against {
		name = "this variant"
	}
	run := bc
	run.DModel, run.Heads = 0, 0 // the comparison's sizes
	res, err := CompareMQAR(ctx, CompareConfig{
		Presets:    []string{against},
		Candidates: []Candidate{{Name: name, Block: run}},
		DModel:     cardMQARDModel, Heads: 2, Layers: 2, Steps: cardMQARSteps * sc, LR: cardMQARLR,
		MQAR:      data.MQAR{Vocab: 16, NumKV: 2, NumQueries: 2, SeqLen: 16, IgnoreIndex: -100},
		MQARBatch: 16,
	})
	c.MQAR = res
	return c, err
}

// cardDecay is the log-decay (B, H, L) of v's mask from the pre-activation x
// (the custom mask takes −softplus(x), a valid a ≤ 0), and dt, z when the
// variant uses them.
func cardInputs(v ssd.Variant, x, z *tensor.Tensor) (a, dt, zz *tensor.Tensor) {
	switch v.Mask {
	case ssd.MaskNone:
	case ssd.MaskOriginal:
		a = ssd.LogDecay(v.Mask, x, ssd.InitALog(0, x.Dim(1)).As(x.DType()), nil)
	case ssd.MaskCustom:
		a = ssd.LogDecaySoftplus(x)
	default:
		a = ssd.LogDecay(v.Mask, x, nil, nil)
	}
	if v.ValueDT {
		dt = ssd.DT(x, nil)
	}
	if v.ZGate {
		zz = z
	}
	return a, dt, zz
}

// finiteOnly reports whether form needs a finite state (not for exp).
func finiteOnly(f ssd.Form) bool { return f == ssd.FormRecurrent || f == ssd.FormChunked }

// checkForms fills Forms and Float32.
func (c *VariantCard) checkForms() {
	v := c.Block.Variant
	const B, H, L, d = 1, 2, cardFormsL, cardFormsD
	rng := func(seed uint64, dims ...int) *tensor.Tensor { return tensor.NewRNG(seed).Randn64(dims...) }
	// float32-representable inputs, so that the float32 check sees the same numbers
	r := func(t *tensor.Tensor) *tensor.Tensor { return t.As(tensor.Float32).As(tensor.Float64) }
	x, q, k, val, z := r(rng(1, B, H, L)), r(rng(2, B, H, L, d)), r(rng(3, B, H, L, d)), r(rng(4, B, H, L, d)), r(rng(5, B, H, L, d))
	a, dt, zz := cardInputs(v, x, z)
	if a != nil {
		a = r(a)
	}
	if dt != nil {
		dt = r(dt)
	}
	ref := v.Core(ssd.FormQuadratic, q, k, val, a, dt, zz)
	for _, f := range []ssd.Form{ssd.FormRecurrent, ssd.FormChunked, ssd.FormBlockwise} {
		e := math.NaN()
		if !v.Exp || !finiteOnly(f) {
			e = tensor.MaxRelDiff(v.Core(f, q, k, val, a, dt, zz), ref)
		}
		c.Forms = append(c.Forms, FormCheck{Form: f, RelErr: e})
	}
	if !v.Exp {
		f32 := func(t *tensor.Tensor) *tensor.Tensor {
			if t == nil {
				return nil
			}
			return t.As(tensor.Float32)
		}
		got := v.Core(ssd.FormRecurrent, f32(q), f32(k), f32(val), f32(a), f32(dt), f32(zz))
		c.Float32 = tensor.MaxRelDiff(got.As(tensor.Float64), ref)
	}
}

// checkGradients fills the gradient check of a float64 block of the variant.
func (c *VariantCard) checkGradients() {
	bc := c.Block
	bc.DModel, bc.Heads = cardGradDModel, 2
	blk := NewAttnBlock(NewInit(7, tensor.Float64), "blk", bc)
	h := Const(tensor.NewRNG(8).Randn64(1, cardGradL, cardGradDModel)) // (B, L, d_model)
	loss := func() *Var { return Mean(Square(blk.Forward(h))) }
	errs := GradCheckParams(loss, blk.Params(), 1e-4)
	c.GradParams = len(errs)
	for i, e := range errs {
		if e > c.GradWorst || i == 0 {
			c.GradWorst, c.GradWorstName = e, blk.Params()[i].Name
		}
	}
}

// measureSpeed times every form of the core in float32, best of reps.
func (c *VariantCard) measureSpeed(reps int) {
	v := c.Block.Variant
	const B, H, d = 1, 2, cardSpeedD
	n := c.SpeedL
	q, k, val := tensor.NewRNG(9).Randn(B, H, n, d), tensor.NewRNG(10).Randn(B, H, n, d), tensor.NewRNG(11).Randn(B, H, n, d)
	a, dt, zz := cardInputs(v, tensor.NewRNG(12).Randn(B, H, n), tensor.NewRNG(13).Randn(B, H, n, d))
	for _, f := range []ssd.Form{ssd.FormQuadratic, ssd.FormRecurrent, ssd.FormChunked, ssd.FormBlockwise} {
		s := FormSpeed{Form: f, Seconds: math.NaN(), TokensPerSec: math.NaN()}
		if !v.Exp || !finiteOnly(f) {
			best := math.Inf(1)
			for range reps {
				t0 := time.Now()
				v.Core(f, q, k, val, a, dt, zz)
				best = math.Min(best, time.Since(t0).Seconds())
			}
			s.Seconds, s.TokensPerSec = best, float64(B*H*n)/best
		}
		c.Speed = append(c.Speed, s)
	}
}

// FormsPass reports whether every applicable form is within 1e-10 of the
// quadratic form in float64 and the float32 recurrent form within 1e-6.
func (c *VariantCard) FormsPass() bool {
	for _, f := range c.Forms {
		if f.RelErr > cardFormsTol { // NaN (not applicable) compares false
			return false
		}
	}
	return !(c.Float32 > cardFloat32Tol)
}

// GradPass reports whether the block's worst gradient error is ≤ 1e-6.
func (c *VariantCard) GradPass() bool { return c.GradWorst <= cardGradTol }

// Pass reports whether the forms and gradient checks pass.
func (c *VariantCard) Pass() bool { return c.FormsPass() && c.GradPass() }

// verdict is "pass" or "FAIL".
func verdict(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}

// sci formats a relative error, "–" for NaN (not applicable).
func sci(e float64) string {
	if math.IsNaN(e) {
		return "–"
	}
	return fmt.Sprintf("%.1e", e)
}

// lines are the card's facts as (label, text) pairs, shared by String and HTML.
func (c *VariantCard) lines() [][2]string {
	var forms []string
	for _, f := range c.Forms {
		forms = append(forms, fmt.Sprintf("%s %s", f.Form, sci(f.RelErr)))
	}
	out := [][2]string{
		{"forms vs quadratic", fmt.Sprintf("%s (float64, B=1 H=2 L=%d d=%d; ≤ %.0e) → %s",
			strings.Join(forms, ", "), cardFormsL, cardFormsD, cardFormsTol, verdict(c.FormsPass()))},
		{"float32 decoding", fmt.Sprintf("recurrent/Step vs float64 oracle %s (≤ %.0e)", sci(c.Float32), cardFloat32Tol)},
		{"gradient check", fmt.Sprintf("%d parameter tensors of an nn block (d_model %d, 2 heads, float64): worst %s (%s) → %s",
			c.GradParams, cardGradDModel, sci(c.GradWorst), c.GradWorstName, verdict(c.GradPass()))},
	}
	m, b := c.Memory, c.Baseline
	mem := fmt.Sprintf("%d elements per head = %s (2Mamba %s); beats a softmax KV cache beyond N = %.2f tokens (2Mamba %.2f)",
		m.StateElems, tensor.FormatBytes(m.StateBytes()), tensor.FormatBytes(b.StateBytes()), m.Crossover, b.Crossover)
	if m.KVPerToken > 0 {
		mem = fmt.Sprintf("a KV cache of %s per token per head, %s at 8192 tokens (exp attention has no finite state; 2Mamba %s)",
			tensor.FormatBytes(int64(m.KVPerToken)*int64(m.Bytes)), tensor.FormatBytes(m.KVCacheBytes(8192)), tensor.FormatBytes(b.StateBytes()))
	}
	out = append(out, [2]string{"decoding memory", "d = 64, float32: " + mem})
	return out
}

// String is the card as plain text.
func (c *VariantCard) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "Variant card: %s\n  %s\n", c.Block.Variant.Name, c.Block.Variant)
	for _, l := range c.lines() {
		fmt.Fprintf(&sb, "  %-19s %s\n", l[0]+":", l[1])
	}
	fmt.Fprintf(&sb, "  speed (float32, B=1 H=2 L=%d d=%d):", c.SpeedL, cardSpeedD)
	for _, s := range c.Speed {
		if !math.IsNaN(s.Seconds) {
			fmt.Fprintf(&sb, " %s %.1f ms (%.0f tok/s);", s.Form, s.Seconds*1e3, s.TokensPerSec)
		}
	}
	sb.WriteString("\n")
	if c.MQAR != nil {
		fmt.Fprintf(&sb, "  MQAR (%s):\n", c.MQAR.Task)
		for _, r := range c.MQAR.Rows {
			fmt.Fprintf(&sb, "    %-14s test loss %.4f, recall accuracy %.3f\n", r.Preset, r.TestLoss, r.Accuracy)
		}
	}
	return sb.String()
}

// HTML renders the card: a titled box with the checks, a speed table and
// the MQAR table with its test-loss curves (nn's LossPlot as inline SVG).
func (c *VariantCard) HTML() string {
	e := html.EscapeString
	var sb strings.Builder
	border := "#2ca02c"
	if !c.Pass() {
		border = "#d62728"
	}
	fmt.Fprintf(&sb, `<div style="border:2px solid %s;border-radius:6px;padding:8px 12px;max-width:900px;font-family:sans-serif">`, border)
	fmt.Fprintf(&sb, `<div style="font-size:1.2em;font-weight:bold">Variant card: %s</div><code>%s</code>`, e(c.Block.Variant.Name), e(c.Block.Variant.String()))
	sb.WriteString(`<table style="margin-top:6px">`)
	for _, l := range c.lines() {
		fmt.Fprintf(&sb, `<tr><th style="text-align:left;padding-right:12px;white-space:nowrap">%s</th><td style="text-align:left">%s</td></tr>`, e(l[0]), e(l[1]))
	}
	sb.WriteString(`</table>`)
	fmt.Fprintf(&sb, `<div style="margin-top:6px"><b>Speed</b> (float32, B=1 H=2 L=%d d=%d, best time)</div>`, c.SpeedL, cardSpeedD)
	sb.WriteString(`<table style="text-align:right"><tr><th>form</th><th>ms</th><th>tokens/s</th></tr>`)
	for _, s := range c.Speed {
		if math.IsNaN(s.Seconds) {
			fmt.Fprintf(&sb, `<tr><td>%s</td><td>–</td><td>–</td></tr>`, s.Form)
			continue
		}
		fmt.Fprintf(&sb, `<tr><td>%s</td><td>%.1f</td><td>%.0f</td></tr>`, s.Form, s.Seconds*1e3, s.TokensPerSec)
	}
	sb.WriteString(`</table>`)
	if c.MQAR != nil {
		fmt.Fprintf(&sb, `<div style="margin-top:6px"><b>MQAR</b> (%s)</div>`, e(c.MQAR.Task))
		sb.WriteString(`<table style="text-align:right"><tr><th>model</th><th>test loss</th><th>recall accuracy</th><th>train tokens/s</th></tr>`)
		for _, r := range c.MQAR.Rows {
			fmt.Fprintf(&sb, `<tr><td>%s</td><td>%.4f</td><td>%.3f</td><td>%.0f</td></tr>`, e(r.Preset), r.TestLoss, r.Accuracy, r.TokensPerSec)
		}
		sb.WriteString(`</table>`)
		sb.WriteString(c.MQAR.Plot.SVG())
	}
	sb.WriteString(`</div>`)
	return sb.String()
}
