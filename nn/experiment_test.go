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

	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// The experiment of issue 5: CompareMQAR and CompareChars over the six
// presets. It runs only when FURIOUS_EXPERIMENT is set to an output
// directory (results.md, mqar.svg, chars.svg are written there; a relative
// path is relative to nn/, where go test runs). FURIOUS_EXPERIMENT_STEPS
// overrides the 500 steps per run; FURIOUS_EXPERIMENT_SEED the model seed
// (1), and then the files are named results-seedN.md, mqar-seedN.svg, ...;
// FURIOUS_EXPERIMENT_TASKS=mqar or chars runs one task only.
//
//	FURIOUS_EXPERIMENT=testdata/experiment go test -tags openblas -run 'Experiment$' -timeout 30m ./nn/
func TestExperiment(t *testing.T) {
	out := os.Getenv("FURIOUS_EXPERIMENT")
	if out == "" {
		t.Skip("set FURIOUS_EXPERIMENT=<dir> to run the preset comparison")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := CompareConfig{}
	if s, err := strconv.Atoi(os.Getenv("FURIOUS_EXPERIMENT_STEPS")); err == nil {
		cfg.Steps = s
	}
	suffix := ""
	if s, err := strconv.Atoi(os.Getenv("FURIOUS_EXPERIMENT_SEED")); err == nil && s > 0 {
		cfg.Seed = uint64(s)
		suffix = fmt.Sprintf("-seed%d", s)
	}
	tasks := os.Getenv("FURIOUS_EXPERIMENT_TASKS")
	cfg.OnProgress = func(preset string, p Progress) {
		if p.Step == p.Steps {
			t.Logf("%-9s %s", preset, p)
		}
	}
	start := time.Now()
	md := fmt.Sprintf("# Preset comparison (GOMAXPROCS %d)\n\n", runtime.GOMAXPROCS(0))
	files := map[string]string{}
	for _, task := range []struct {
		name string
		run  func(context.Context, CompareConfig) (*CompareResult, error)
	}{{"mqar", CompareMQAR}, {"chars", CompareChars}} {
		if tasks != "" && tasks != task.name {
			continue
		}
		r, err := task.run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		md += r.Markdown() + "\n"
		files[task.name+suffix+".svg"] = r.Plot.SVG()
	}
	md += fmt.Sprintf("Total wall time: %s.\n", time.Since(start).Round(time.Second))
	files["results"+suffix+".md"] = md
	for name, s := range files {
		if err := os.WriteFile(filepath.Join(out, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Log("\n" + md)
}

// A short comparison runs end to end and fills every row.
func TestCompareSmall(t *testing.T) {
	cfg := CompareConfig{Presets: []string{"2mamba", "softmax"}, DModel: 16, Steps: 8}
	r, err := CompareMQAR(context.Background(), cfg)
	if err != nil || len(r.Rows) != 2 || len(r.Plot.Series) != 2 || r.Rows[1].Accuracy < 0 {
		t.Fatalf("CompareMQAR: %v %+v", err, r)
	}
	c, err := CompareChars(context.Background(), cfg)
	if err != nil || len(c.Rows) != 2 {
		t.Fatalf("CompareChars: %v", err)
	}
	t.Log("\n" + r.Markdown() + "\n" + c.Markdown())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CompareMQAR(ctx, cfg); err != context.Canceled {
		t.Fatalf("cancelled comparison returned %v", err)
	}
}

// wrapped is a Model that is not an *LM (no Decay method): Compare must
// train it through the interface.
type wrapped struct{ m *LM }

func (w wrapped) Forward(ids []int, B, L int) *Var { return w.m.Forward(ids, B, L) }
func (w wrapped) Params() []*Var                   { return w.m.Params() }

// CompareMQAR takes named blocks and models beside preset names: an order-3
// forget-gate block with output RMSNorm and a wrapped 2Mamba model train,
// are named in the table, and Recall scores any Model as it scores the LM
// inside it.
func TestCompareCandidates(t *testing.T) {
	o3 := BlockConfig{Variant: ssd.Variant{Order: 3, Mask: ssd.MaskForget, Norm: ssd.NormOutput, Eps: ssd.DefaultEps, ConvWidth: 2}, ConvBias: true}
	cfg := CompareConfig{Presets: []string{"2mamba"}, DModel: 16, Steps: 6, Candidates: []Candidate{
		{Name: "order-3 forget", Block: o3},
		{Name: "wrapped 2mamba", Model: func(vocab int) Model {
			b := Preset("2mamba")
			b.DModel, b.Heads = 16, 2
			return wrapped{NewLM(ModelConfig{Vocab: vocab, Layers: 2, Block: b, Seed: 1, DType: tensor.Float32})}
		}},
	}}
	r, err := CompareMQAR(context.Background(), cfg)
	if err != nil || len(r.Rows) != 3 {
		t.Fatalf("CompareMQAR: %v %+v", err, r)
	}
	for i, want := range []string{"2mamba", "order-3 forget", "wrapped 2mamba"} {
		if r.Rows[i].Preset != want || r.Plot.Series[i].Name != want || !strings.Contains(r.Markdown(), "| "+want+" |") {
			t.Errorf("row %d is %q, want %q", i, r.Rows[i].Preset, want)
		}
		if math.IsNaN(r.Rows[i].TestLoss) || r.Rows[i].Accuracy < 0 || r.Rows[i].Accuracy > 1 {
			t.Errorf("%s: loss %v accuracy %v", want, r.Rows[i].TestLoss, r.Rows[i].Accuracy)
		}
	}
	b := Preset("2mamba")
	b.DModel, b.Heads = 16, 2
	m := NewLM(ModelConfig{Vocab: 32, Layers: 1, Block: b, Seed: 1, DType: tensor.Float32})
	ids, tg := cfg.withDefaults().MQAR.Batch(3, 4)
	if a, w := Recall(m, ids, tg, 4, 32, -100), Recall(wrapped{m}, ids, tg, 4, 32, -100); a != w {
		t.Errorf("Recall of the model %v, of the wrapped model %v", a, w)
	}
	c, err := CompareChars(context.Background(), CompareConfig{DModel: 16, Steps: 3, CharsLen: 16, Candidates: cfg.Candidates[:1]})
	if err != nil || len(c.Rows) != 1 || c.Rows[0].Preset != "order-3 forget" {
		t.Fatalf("CompareChars with a candidate only: %v %+v", err, c)
	}
	if e := tensor.Catch(func() { CompareMQAR(context.Background(), CompareConfig{Candidates: []Candidate{{Block: o3}}}) }); e == nil {
		t.Error("a candidate without a name was accepted")
	}
}
