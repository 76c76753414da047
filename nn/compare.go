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

// Model is what CompareMQAR, CompareChars and Recall train and score: a
// language model over token ids. *LM is one; a model with a method
// Decay(*Var) bool (as LM) chooses its weight-decayed parameters, any other
// decays those of rank ≥ 2.
type Model interface {
	Forward(ids []int, B, L int) *Var // ids (B·L) → logits (B, L, vocab)
	Params() []*Var
}

// Candidate is one entry of a comparison: a name and either a block
// configuration, built into the comparison's model (Layers × pre-norm block
// + SwiGLU), or a builder of a whole model.
type Candidate struct {
	Name string
	// Block is the attention block; DModel and Heads 0 take the
	// comparison's, Chunk 0 takes the comparison's Chunk (finite orders).
	Block BlockConfig
	// Model, when set, builds the model for the task's vocabulary instead.
	Model func(vocab int) Model
}

// CompareConfig sets up a comparison of attention blocks or models: the same
// small model (Layers × pre-norm block + SwiGLU) trained with each block on
// one task, or any model a Candidate builds.
type CompareConfig struct {
	// Presets are names for Preset, trained first; nil: all six when
	// Candidates is empty too, else none.
	Presets []string
	// Candidates are any other named blocks or models, trained after the presets.
	Candidates []Candidate
	DModel     int     // 64
	Heads      int     // 2
	Layers     int     // 2
	Steps      int     // 500
	LR         float64 // peak, 3e-3; warm-up 10% then linear decay to 0
	Chunk      int     // 0: quadratic form; > 0: chunked where the order allows
	Seed       uint64  // model seed
	// MQAR task (zero value: vocabulary 32, 4 pairs, 4 queries, L 32) and batch (32).
	MQAR      data.MQAR
	MQARBatch int
	// Character task: window length (128) and batch (8) on the Opticks corpus.
	CharsLen, CharsBatch int
	// OnProgress, when set, sees every step of every run.
	OnProgress func(name string, p Progress)
}

// CompareRow is one trained candidate.
type CompareRow struct {
	Preset       string // the preset's or candidate's name
	TestLoss     float64
	Accuracy     float64 // MQAR recall accuracy (NaN for the character task)
	TokensPerSec float64
	Elapsed      time.Duration
}

// CompareResult is a finished comparison: a table (Markdown) and test-loss
// curves (Plot, which renders as a figure).
type CompareResult struct {
	Task string
	Rows []CompareRow
	Plot LossPlot
}

func (c CompareConfig) withDefaults() CompareConfig {
	if c.Presets == nil && len(c.Candidates) == 0 {
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

// candidates are the presets as candidates, then c.Candidates.
func (c CompareConfig) candidates() []Candidate {
	var out []Candidate
	for _, p := range c.Presets {
		out = append(out, Candidate{Name: p, Block: Preset(p)})
	}
	for i, cd := range c.Candidates {
		if cd.Name == "" {
			tensor.Errorf("nn.CompareConfig", "Candidates", "entry %d has no Name", i)
		}
		out = append(out, cd)
	}
	return out
}

// model builds the candidate's model for a vocabulary.
func (c CompareConfig) model(cd Candidate, vocab int) Model {
	if cd.Model != nil {
		m := cd.Model(vocab)
		if m == nil {
			tensor.Errorf("nn.CompareConfig", "Candidates", "%s: Model returned nil", cd.Name)
		}
		return m
	}
	bc := cd.Block
	if bc.DModel == 0 {
		bc.DModel = c.DModel
	}
	if bc.Heads == 0 {
		bc.Heads = c.Heads
	}
	if bc.Chunk == 0 && !bc.Exp {
		bc.Chunk = c.Chunk
	}
	return NewLM(ModelConfig{Vocab: vocab, Layers: c.Layers, Block: bc, Seed: c.Seed, DType: tensor.Float32})
}

// decayRule is m's weight-decay rule: its Decay method, else rank ≥ 2.
func decayRule(m Model) func(*Var) bool {
	if d, ok := m.(interface{ Decay(*Var) bool }); ok {
		return d.Decay
	}
	return func(p *Var) bool { return p.Value.Rank() >= 2 }
}

// modelLoss is the mean next-token cross-entropy of m over targets ≠ ignore.
func modelLoss(m Model, ids, targets []int, B, L, ignore int) *Var {
	return CrossEntropy(m.Forward(ids, B, L), targets, ignore)
}

// run trains one model and returns its row and test-loss curve.
func (c CompareConfig) run(ctx context.Context, name string, m Model, step func(int) (*Var, int), eval func() float64) (CompareRow, Series, error) {
	tr := NewTrainer(m.Params(), Schedule{Peak: c.LR, Warmup: max(c.Steps/10, 1), Total: c.Steps}, step)
	tr.ClipNorm, tr.Opt.Decay = 1, decayRule(m)
	tr.EvalEvery, tr.Eval = max(c.Steps/10, 1), eval
	var last Progress
	tr.OnProgress = func(p Progress) {
		last = p
		if c.OnProgress != nil {
			c.OnProgress(name, p)
		}
	}
	err := tr.Run(ctx)
	cv := tr.Curves(name)[1]
	cv.Name = name
	return CompareRow{Preset: name, TestLoss: last.TestLoss, Accuracy: math.NaN(), TokensPerSec: last.TokensPerSec, Elapsed: last.Elapsed}, cv, err
}

// CompareMQAR trains every preset and candidate on MQAR (fresh batches from seeds
// 0, 1, ...) and reports test loss and recall accuracy on 128 held-out
// sequences. A cancelled ctx returns the rows finished so far and ctx.Err().
func CompareMQAR(ctx context.Context, cfg CompareConfig) (*CompareResult, error) {
	c := cfg.withDefaults()
	task, B := c.MQAR, c.MQARBatch
	evIDs, evTg := task.Batch(1<<50, 128)
	res := &CompareResult{Task: fmt.Sprintf("%v, %d layers, d_model %d, %d heads, batch %d, %d steps, AdamW %.0e", task, c.Layers, c.DModel, c.Heads, B, c.Steps, c.LR)}
	res.Plot.Title = "MQAR test loss"
	for _, cd := range c.candidates() {
		m := c.model(cd, task.Vocab)
		row, cv, err := c.run(ctx, cd.Name, m, func(i int) (*Var, int) {
			x, y := task.Batch(uint64(i), B)
			return modelLoss(m, x, y, B, task.SeqLen, task.IgnoreIndex), B * task.SeqLen
		}, func() float64 { return modelLoss(m, evIDs, evTg, 128, task.SeqLen, task.IgnoreIndex).Item() })
		if err != nil {
			return res, err
		}
		row.Accuracy = Recall(m, evIDs, evTg, 128, task.SeqLen, task.IgnoreIndex)
		res.Rows, res.Plot.Series = append(res.Rows, row), append(res.Plot.Series, cv)
	}
	return res, nil
}

// CompareChars trains every preset and candidate on random windows of the Opticks
// training split and reports the test loss (nats per character) on the
// first 128 windows of the test split.
func CompareChars(ctx context.Context, cfg CompareConfig) (*CompareResult, error) {
	c := cfg.withDefaults()
	corpus := data.Opticks()
	L, B := c.CharsLen, c.CharsBatch
	evIDs, evTg, n := data.Windows(corpus.Test, L, 128)
	res := &CompareResult{Task: fmt.Sprintf("Opticks characters (vocabulary %d), %d layers, d_model %d, %d heads, L %d, batch %d, %d steps, AdamW %.0e", corpus.VocabSize(), c.Layers, c.DModel, c.Heads, L, B, c.Steps, c.LR)}
	res.Plot.Title, res.Plot.YLabel = "Opticks test loss", "nats / char"
	for _, cd := range c.candidates() {
		m := c.model(cd, corpus.VocabSize())
		bat := data.NewBatcher(corpus.Train, B, L, c.Seed+6)
		row, cv, err := c.run(ctx, cd.Name, m, func(int) (*Var, int) {
			x, y := bat.Next()
			return modelLoss(m, x, y, B, L, -100), B * L
		}, func() float64 { return modelLoss(m, evIDs, evTg, n, L, -100).Item() })
		if err != nil {
			return res, err
		}
		res.Rows, res.Plot.Series = append(res.Rows, row), append(res.Plot.Series, cv)
	}
	return res, nil
}

// Recall is the fraction of positions with a target ≠ ignore whose arg-max
// logit is the target (MQAR recall accuracy) for any model; ids (B, L).
func Recall(m Model, ids, targets []int, B, L, ignore int) float64 {
	var out *tensor.Tensor
	NoGrad(func() { out = m.Forward(ids, B, L).Value })
	tensor.CheckShape("nn.Recall", "logits", out.Shape(), "(the model's output: (B, L, vocab))", B, L, -1)
	lg, V := out.Data(), out.Dim(2)
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
		b.WriteString("| model | test loss | recall accuracy | train tokens/s | time |\n|---|---|---|---|---|\n")
	} else {
		b.WriteString("| model | test loss | train tokens/s | time |\n|---|---|---|---|\n")
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
