package display

import (
	"strings"
	"testing"
	"time"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/tensor"
)

func TestTimingStatistics(t *testing.T) {
	ms := time.Millisecond
	tm := Timing{Label: "x", Runs: []time.Duration{5 * ms, 1 * ms, 3 * ms, 2 * ms, 100 * ms}, Warmup: 2}
	// sorted 1 2 3 5 100: median 3, q25 2, q75 5, spread 1.5
	if tm.Median() != 3*ms || tm.Min() != ms || tm.Max() != 100*ms || tm.Spread() != 1500*time.Microsecond {
		t.Errorf("median %v min %v max %v spread %v", tm.Median(), tm.Min(), tm.Max(), tm.Spread())
	}
	if got := tm.String(); got != "x: 3 ms ± 1.5 ms (median ± IQR/2), min 1 ms, max 100 ms, 5 runs after 2 warm-up" {
		t.Errorf("String() = %q", got)
	}
	if h := tm.HTML(); !strings.Contains(h, "<table") || !strings.Contains(h, "1.5 ms") {
		t.Errorf("HTML() = %s", h)
	}
	even := Timing{Runs: []time.Duration{4 * ms, 2 * ms}}
	if even.Median() != 3*ms || !strings.HasPrefix(even.String(), "timeit: 3 ms") {
		t.Errorf("even median %v, %s", even.Median(), even)
	}
	for d, want := range map[time.Duration]string{0: "0 s", 12: "12 ns", 1234: "1.23 µs", 2 * time.Second: "2 s"} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// queue is a backend whose Finish counts calls: Timeit must wait for the
// devices after every run (and warm-up).
type queue struct{ finished int }

func (q *queue) Name() string                       { return "display-test-queue" }
func (q *queue) Kind() backend.Kind                 { return backend.GPU }
func (q *queue) Describe() string                   { return "test queue" }
func (q *queue) Capabilities() backend.Capabilities { return backend.Capabilities{} }
func (q *queue) Finish() error                      { q.finished++; return nil }

func TestTimeit(t *testing.T) {
	q := &queue{}
	tensor.Register(q)
	calls := 0
	tm := TimeitN(4, 2, func() { calls++; time.Sleep(time.Millisecond) })
	if calls != 6 || len(tm.Runs) != 4 || tm.Warmup != 2 || q.finished != 6 {
		t.Errorf("%d calls, %d runs, %d warm-up, %d syncs; want 6, 4, 2, 6", calls, len(tm.Runs), tm.Warmup, q.finished)
	}
	if tm.Min() < time.Millisecond {
		t.Errorf("a 1 ms run timed %v", tm.Min())
	}
	old := TimeitBudget
	TimeitBudget = 50 * time.Millisecond
	defer func() { TimeitBudget = old }()
	calls = 0
	tm = Timeit(func() { calls++; time.Sleep(5 * time.Millisecond) })
	if n := len(tm.Runs); n < 3 || n > 11 || calls != n+1 || tm.Warmup != 1 {
		t.Errorf("Timeit of 5 ms in a 50 ms budget: %d runs, %d calls", n, calls)
	}
	tm = Timeit(func() {})
	if len(tm.Runs) < 3 || len(tm.Runs) > 1000 {
		t.Errorf("Timeit of nothing: %d runs", len(tm.Runs))
	}
	if err := tensor.Catch(func() { TimeitN(0, 0, func() {}) }); err == nil {
		t.Error("TimeitN(0, …) accepted")
	}
	d := Render(tm)
	if _, ok := d.Data[MIMEHTML]; !ok || !strings.HasPrefix(d.Data[MIMEText].(string), "timeit: ") {
		t.Errorf("Render(Timing) = %v", d.Data)
	}
}
