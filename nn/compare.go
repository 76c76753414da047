package nn

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/furious-lab/furious/nn/data"
	"github.com/furious-lab/furious/tensor"
)

// CompareConfig sets up a comparison of block presets: the same small model
// (Layers × pre-norm block + SwiGLU) trained with each preset on one task.
type CompareConfig struct {
	Presets []string // names for Preset; nil: all six
	DModel  int      // 64
	Heads   int      // 2
	Layers  int      // 2
	Steps   int      // 500
	LR      float64  // peak, 3e-3; warm-up 10% then linear decay to 0
	Chunk   int      // 0: quadratic form; > 0: chunked where the order allows
	Seed    uint64   // model seed
	// MQAR task (zero value: vocabulary 32, 4 pairs, 4 queries, L 32) and batch (32).
	MQAR      data.MQAR
	MQARBatch int
	// Character task: window length (128) and batch (8) on the Opticks corpus.
	CharsLen, CharsBatch int
	// OnProgress, when set, sees every step of every run.
	OnProgress func(preset string, p Progress)
}

// CompareRow is one trained preset.
type CompareRow struct {
	Preset       string
	TestLoss     float64
	Accuracy     float64 // MQAR recall accuracy (NaN for the character task)
	TokensPerSec float64
	Elapsed      time.Duration
}

// CompareResult is a finished comparison: a table (Markdown) and test-loss
// curves (Plot, which renders as SVG).
type CompareResult struct {
	Task string
	Rows []CompareRow
	Plot LossPlot
}

func (c CompareConfig) withDefaults() CompareConfig {
	if c.Presets == nil {
		c.Presets = Presets
	}
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.DModel, 64)
	def(&c.Heads, 2)
	def(&c.Layers, 2)
	def(&c.Steps, 500)
	def(&c.MQARBatch, 32)
	def(&c.CharsLen, 128)
	def(&c.CharsBatch, 8)
	if c.LR == 0 {
		c.LR = 3e-3
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.MQAR.Vocab == 0 {
		c.MQAR = data.MQAR{Vocab: 32, NumKV: 4, NumQueries: 4, SeqLen: 32, IgnoreIndex: -100}
	}
	return c
}

func (c CompareConfig) model(preset string, vocab int) *LM {
	bc := Preset(preset)
	bc.DModel, bc.Heads = c.DModel, c.Heads
	if bc.Order != OrderExp {
		bc.Chunk = c.Chunk
	}
	return NewLM(ModelConfig{Vocab: vocab, Layers: c.Layers, Block: bc, Seed: c.Seed, DType: tensor.Float32})
}

// run trains one model and returns its row and test-loss curve.
func (c CompareConfig) run(ctx context.Context, preset string, m *LM, step func(int) (*Var, int), eval func() float64) (CompareRow, Series, error) {
	tr := NewTrainer(m.Params(), Schedule{Peak: c.LR, Warmup: max(c.Steps/10, 1), Total: c.Steps}, step)
	tr.ClipNorm, tr.Opt.Decay = 1, m.Decay
	tr.EvalEvery, tr.Eval = max(c.Steps/10, 1), eval
	var last Progress
	tr.OnProgress = func(p Progress) {
		last = p
		if c.OnProgress != nil {
			c.OnProgress(preset, p)
		}
	}
	err := tr.Run(ctx)
	cv := tr.Curves(preset)[1]
	cv.Name = preset
	return CompareRow{Preset: preset, TestLoss: last.TestLoss, Accuracy: math.NaN(), TokensPerSec: last.TokensPerSec, Elapsed: last.Elapsed}, cv, err
}

// CompareMQAR trains every preset on MQAR (fresh batches from seeds
// 0, 1, ...) and reports test loss and recall accuracy on 128 held-out
// sequences. A cancelled ctx returns the rows finished so far and ctx.Err().
func CompareMQAR(ctx context.Context, cfg CompareConfig) (*CompareResult, error) {
	c := cfg.withDefaults()
	task, B := c.MQAR, c.MQARBatch
	evIDs, evTg := task.Batch(1<<50, 128)
	res := &CompareResult{Task: fmt.Sprintf("%v, %d layers, d_model %d, %d heads, batch %d, %d steps, AdamW %.0e", task, c.Layers, c.DModel, c.Heads, B, c.Steps, c.LR)}
	res.Plot.Title = "MQAR test loss"
	for _, p := range c.Presets {
		m := c.model(p, task.Vocab)
		row, cv, err := c.run(ctx, p, m, func(i int) (*Var, int) {
			x, y := task.Batch(uint64(i), B)
			return m.Loss(x, y, B, task.SeqLen, task.IgnoreIndex), B * task.SeqLen
		}, func() float64 { return m.Loss(evIDs, evTg, 128, task.SeqLen, task.IgnoreIndex).Item() })
		if err != nil {
			return res, err
		}
		row.Accuracy = Recall(m, evIDs, evTg, 128, task.SeqLen, task.IgnoreIndex)
		res.Rows, res.Plot.Series = append(res.Rows, row), append(res.Plot.Series, cv)
	}
	return res, nil
}

// CompareChars trains every preset on random windows of the Opticks
// training split and reports the test loss (nats per character) on the
// first 128 windows of the test split.
func CompareChars(ctx context.Context, cfg CompareConfig) (*CompareResult, error) {
	c := cfg.withDefaults()
	corpus := data.Opticks()
	L, B := c.CharsLen, c.CharsBatch
	evIDs, evTg, n := data.Windows(corpus.Test, L, 128)
	res := &CompareResult{Task: fmt.Sprintf("Opticks characters (vocabulary %d), %d layers, d_model %d, %d heads, L %d, batch %d, %d steps, AdamW %.0e", corpus.VocabSize(), c.Layers, c.DModel, c.Heads, L, B, c.Steps, c.LR)}
	res.Plot.Title, res.Plot.YLabel = "Opticks test loss", "nats / char"
	for _, p := range c.Presets {
		m := c.model(p, corpus.VocabSize())
		bat := data.NewBatcher(corpus.Train, B, L, c.Seed+6)
		row, cv, err := c.run(ctx, p, m, func(int) (*Var, int) {
			x, y := bat.Next()
			return m.Loss(x, y, B, L, -100), B * L
		}, func() float64 { return m.Loss(evIDs, evTg, n, L, -100).Item() })
		if err != nil {
			return res, err
		}
		res.Rows, res.Plot.Series = append(res.Rows, row), append(res.Plot.Series, cv)
	}
	return res, nil
}

// Recall is the fraction of positions with a target ≠ ignore whose arg-max
// logit is the target (MQAR recall accuracy); ids (B, L).
func Recall(m *LM, ids, targets []int, B, L, ignore int) float64 {
	var lg []float64
	NoGrad(func() { lg = m.Forward(ids, B, L).Value.Data() })
	V := m.Cfg.Vocab
	hit, n := 0, 0
	for r, want := range targets {
		if want == ignore {
			continue
		}
		best := 0
		for c := 1; c < V; c++ {
			if lg[r*V+c] > lg[r*V+best] {
				best = c
			}
		}
		if best == want {
			hit++
		}
		n++
	}
	return float64(hit) / float64(max(n, 1))
}

// Markdown renders the result as a table.
func (r *CompareResult) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**\n\n", r.Task)
	acc := len(r.Rows) > 0 && !math.IsNaN(r.Rows[0].Accuracy)
	if acc {
		b.WriteString("| preset | test loss | recall accuracy | train tokens/s | time |\n|---|---|---|---|---|\n")
	} else {
		b.WriteString("| preset | test loss | train tokens/s | time |\n|---|---|---|---|\n")
	}
	for _, row := range r.Rows {
		if acc {
			fmt.Fprintf(&b, "| %s | %.4f | %.3f | %.0f | %s |\n", row.Preset, row.TestLoss, row.Accuracy, row.TokensPerSec, row.Elapsed.Round(time.Second))
		} else {
			fmt.Fprintf(&b, "| %s | %.4f | %.0f | %s |\n", row.Preset, row.TestLoss, row.TokensPerSec, row.Elapsed.Round(time.Second))
		}
	}
	return b.String()
}
