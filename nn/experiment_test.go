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
// directory (results.md, mqar.svg, chars.svg are written there);
// FURIOUS_EXPERIMENT_STEPS overrides the 400 steps per run.
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
	cfg := CompareConfig{}
	if s, err := strconv.Atoi(os.Getenv("FURIOUS_EXPERIMENT_STEPS")); err == nil {
		cfg.Steps = s
	}
	cfg.OnProgress = func(preset string, p Progress) {
		if p.Step == p.Steps {
			t.Logf("%-9s %s", preset, p)
		}
	}
	start := time.Now()
	mq, err := CompareMQAR(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := CompareChars(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	md := fmt.Sprintf("# Preset comparison (GOMAXPROCS %d)\n\n%s\n%s\nTotal wall time: %s.\n",
		runtime.GOMAXPROCS(0), mq.Markdown(), ch.Markdown(), time.Since(start).Round(time.Second))
	for name, s := range map[string]string{"results.md": md, "mqar.svg": mq.Plot.SVG(), "chars.svg": ch.Plot.SVG()} {
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
