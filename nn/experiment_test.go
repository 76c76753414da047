package nn

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/furious-lab/furious/nn/data"
	"github.com/furious-lab/furious/tensor"
)

// The experiment of issue 5: train the six presets on MQAR and on the
// Opticks characters and report test loss / recall accuracy. It runs only
// when FURIOUS_EXPERIMENT is set to an output directory (results.md,
// mqar.svg, chars.svg are written there); FURIOUS_EXPERIMENT_STEPS
// overrides the number of steps per run.
//
//	FURIOUS_EXPERIMENT=/tmp/exp go test -run Experiment -timeout 30m ./nn/
func TestExperiment(t *testing.T) {
	out := os.Getenv("FURIOUS_EXPERIMENT")
	if out == "" {
		t.Skip("set FURIOUS_EXPERIMENT=<dir> to run the preset comparison")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	steps := 400
	if s, err := strconv.Atoi(os.Getenv("FURIOUS_EXPERIMENT_STEPS")); err == nil {
		steps = s
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# Preset comparison (%d steps per run, GOMAXPROCS %d)\n\n", steps, runtimeProcs())
	total := time.Now()

	// MQAR.
	task := data.MQAR{Vocab: 32, NumKV: 4, NumQueries: 4, SeqLen: 32, IgnoreIndex: -100}
	const mB, dm = 32, 32
	evalIDs, evalTg := task.Batch(1<<50, 128)
	fmt.Fprintf(&md, "## %v, 2 layers, d_model %d, 2 heads, batch %d, AdamW 3e-3 (warm-up 10%%, linear decay)\n\n", task, dm, mB)
	md.WriteString("| preset | test loss | recall accuracy | train tokens/s | time |\n|---|---|---|---|---|\n")
	var mqCurves []Series
	for _, name := range Presets {
		m := expModel(name, task.Vocab, dm, 2, 0)
		tr := NewTrainer(m.Params(), Schedule{Peak: 3e-3, Warmup: steps / 10, Total: steps}, func(i int) (*Var, int) {
			x, y := task.Batch(uint64(i), mB)
			return m.Loss(x, y, mB, task.SeqLen, task.IgnoreIndex), mB * task.SeqLen
		})
		tr.ClipNorm, tr.Opt.Decay = 1, m.Decay
		tr.EvalEvery = max(steps/10, 1)
		tr.Eval = func() float64 { return m.Loss(evalIDs, evalTg, 128, task.SeqLen, task.IgnoreIndex).Item() }
		var last Progress
		tr.OnProgress = func(p Progress) { last = p }
		if err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		acc := recall(m, evalIDs, evalTg, 128, task.SeqLen, task.Vocab, task.IgnoreIndex)
		fmt.Fprintf(&md, "| %s | %.4f | %.3f | %.0f | %s |\n", name, last.TestLoss, acc, last.TokensPerSec, last.Elapsed.Round(time.Second))
		t.Logf("MQAR %-9s test %.4f acc %.3f  %s", name, last.TestLoss, acc, last)
		c := tr.Curves(name)
		mqCurves = append(mqCurves, Series{Name: name, X: c[1].X, Y: c[1].Y})
	}

	// Characters.
	c := data.Opticks()
	const cB, cL = 16, 64
	tIDs, tTg, tn := data.Windows(c.Test, cL, 128)
	fmt.Fprintf(&md, "\n## Opticks characters (vocabulary %d), 2 layers, d_model %d, 2 heads, L %d, batch %d, AdamW 3e-3; test = first %d windows of the test split\n\n", c.VocabSize(), dm, cL, cB, tn)
	md.WriteString("| preset | test loss (nats/char) | train tokens/s | time |\n|---|---|---|---|\n")
	var chCurves []Series
	for _, name := range Presets {
		m := expModel(name, c.VocabSize(), dm, 2, 0)
		bat := data.NewBatcher(c.Train, cB, cL, 7)
		tr := NewTrainer(m.Params(), Schedule{Peak: 3e-3, Warmup: steps / 10, Total: steps}, func(i int) (*Var, int) {
			x, y := bat.Next()
			return m.Loss(x, y, cB, cL, -100), cB * cL
		})
		tr.ClipNorm, tr.Opt.Decay = 1, m.Decay
		tr.EvalEvery = max(steps/10, 1)
		tr.Eval = func() float64 { return m.Loss(tIDs, tTg, tn, cL, -100).Item() }
		var last Progress
		tr.OnProgress = func(p Progress) { last = p }
		if err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&md, "| %s | %.4f | %.0f | %s |\n", name, last.TestLoss, last.TokensPerSec, last.Elapsed.Round(time.Second))
		t.Logf("chars %-9s test %.4f  %s", name, last.TestLoss, last)
		cv := tr.Curves(name)
		chCurves = append(chCurves, Series{Name: name, X: cv[1].X, Y: cv[1].Y})
	}
	fmt.Fprintf(&md, "\nTotal wall time: %s.\n", time.Since(total).Round(time.Second))
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(out, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("results.md", md.String())
	write("mqar.svg", LossPlot{Title: "MQAR test loss", Series: mqCurves}.SVG())
	write("chars.svg", LossPlot{Title: "Opticks test loss (nats/char)", Series: chCurves}.SVG())
	t.Log("\n" + md.String())
}

// expModel is the experiment's model: 2 layers, dModel, 2 heads, the
// preset's block; chunk > 0 uses the chunked form where the order allows
// (at L ≤ 128 the quadratic form is cheaper, so the experiment passes 0).
func expModel(name string, vocab, dModel, heads, chunk int) *LM {
	bc := Preset(name)
	bc.DModel, bc.Heads = dModel, heads
	if bc.Order != OrderExp && chunk > 0 {
		bc.Chunk = chunk
	}
	return NewLM(ModelConfig{Vocab: vocab, Layers: 2, Block: bc, Seed: 1, DType: tensor.Float32})
}

// recall is the fraction of query positions whose arg-max logit is the target.
func recall(m *LM, ids, tg []int, B, L, V, ignore int) float64 {
	var lg []float64
	NoGrad(func() { lg = m.Forward(ids, B, L).Value.Data() })
	hit, n := 0, 0
	for r, want := range tg {
		if want == ignore {
			continue
		}
		best, bv := 0, math.Inf(-1)
		for c := 0; c < V; c++ {
			if lg[r*V+c] > bv {
				best, bv = c, lg[r*V+c]
			}
		}
		if best == want {
			hit++
		}
		n++
	}
	return float64(hit) / float64(n)
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
