package display

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/furious-lab/furious/tensor"
)

// Timing is what Timeit measured: the duration of each timed run of a
// function, after its warm-up runs. It prints as one line and renders as
// a small table.
type Timing struct {
	Label  string          // shown first; empty: "timeit"
	Runs   []time.Duration // each timed run, in order
	Warmup int             // untimed runs before them
}

// TimeitBudget is the time Timeit aims to spend on timed runs.
var TimeitBudget = time.Second

// Timeit times f like IPython's %timeit: one warm-up run, then as many
// timed runs as fit in TimeitBudget by the warm-up's duration (at least 3,
// at most 1000; TimeitN sets them for slow functions). After each run it waits for the devices (tensor.Sync), so
// work queued on a GPU is timed, not just queued. Interrupting the cell
// stops it between runs.
func Timeit(f func()) Timing {
	warm := timeRun(f)
	n := int(min(1000, max(3, float64(TimeitBudget)/float64(warm)))) // warm = 0: 1000
	t := TimeitN(n, 0, f)
	t.Warmup = 1
	return t
}

// TimeitN times f over runs timed runs after warmup untimed ones, each
// followed by tensor.Sync (see Timeit).
func TimeitN(runs, warmup int, f func()) Timing {
	if runs < 1 || warmup < 0 {
		tensor.Errorf("display.TimeitN", "runs, warmup", "are %d, %d; want runs ≥ 1 and warmup ≥ 0", runs, warmup)
	}
	for i := 0; i < warmup; i++ {
		timeRun(f)
	}
	t := Timing{Warmup: warmup, Runs: make([]time.Duration, runs)}
	for i := range t.Runs {
		t.Runs[i] = timeRun(f)
	}
	return t
}

// timeRun is the wall time of f and the device work it queued.
func timeRun(f func()) time.Duration {
	tensor.CheckInterrupt("display.Timeit")
	t0 := time.Now()
	f()
	tensor.Sync()
	return time.Since(t0)
}

// quantile is the q-quantile of the runs (linear interpolation between
// order statistics); 0 without runs.
func (t Timing) quantile(q float64) time.Duration {
	if len(t.Runs) == 0 {
		return 0
	}
	s := slices.Clone(t.Runs)
	slices.Sort(s)
	x := q * float64(len(s)-1)
	i := int(math.Floor(x))
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + time.Duration((x-float64(i))*float64(s[i+1]-s[i]))
}

// Median is the median run time.
func (t Timing) Median() time.Duration { return t.quantile(0.5) }

// Min is the fastest run.
func (t Timing) Min() time.Duration { return t.quantile(0) }

// Max is the slowest run.
func (t Timing) Max() time.Duration { return t.quantile(1) }

// Spread is half the interquartile range, (q75 − q25)/2: the typical
// distance of a run from the median, robust to a few slow runs.
func (t Timing) Spread() time.Duration { return (t.quantile(0.75) - t.quantile(0.25)) / 2 }

// Seconds is the median in seconds.
func (t Timing) Seconds() float64 { return t.Median().Seconds() }

// fields are the timing's labelled values.
func (t Timing) fields() []Field {
	return []Field{
		{Label: "median", Value: formatDuration(t.Median())},
		{Label: "± (IQR/2)", Value: formatDuration(t.Spread())},
		{Label: "min", Value: formatDuration(t.Min())},
		{Label: "max", Value: formatDuration(t.Max())},
		{Label: "runs", Value: fmt.Sprintf("%d after %d warm-up", len(t.Runs), t.Warmup)},
	}
}

// label is the timing's label, "timeit" when empty.
func (t Timing) label() string {
	if t.Label == "" {
		return "timeit"
	}
	return t.Label
}

// String prints the timing on one line: "matmul: 12.3 ms ± 0.2 ms (median
// ± IQR/2), min 12.0 ms, max 13.1 ms, 40 runs after 1 warm-up".
func (t Timing) String() string {
	return fmt.Sprintf("%s: %s ± %s (median ± IQR/2), min %s, max %s, %d runs after %d warm-up", t.label(),
		formatDuration(t.Median()), formatDuration(t.Spread()), formatDuration(t.Min()), formatDuration(t.Max()),
		len(t.Runs), t.Warmup)
}

// HTML renders the timing as a small table.
func (t Timing) HTML() string { return FieldTable(t.label(), t.fields()) }

// formatDuration prints d with 3 significant digits in ns, µs, ms or s.
func formatDuration(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s == 0:
		return "0 s"
	case s < 1e-6:
		return fmt.Sprintf("%.3g ns", s*1e9)
	case s < 1e-3:
		return fmt.Sprintf("%.3g µs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.3g ms", s*1e3)
	}
	return fmt.Sprintf("%.3g s", s)
}
