package nn

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
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
