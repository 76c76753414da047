package nn

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/furious-lab/furious/tensor"
)

// Progress is what a training run reports after every step.
type Progress struct {
	Step, Steps  int     // steps done, total
	Loss         float64 // training loss of this step
	TestLoss     float64 // latest evaluation, NaN before the first
	LR           float64
	GradNorm     float64 // before clipping
	TokensPerSec float64 // training tokens per second of training time (evaluations and checkpoints excluded)
	Elapsed      time.Duration
}

// String renders a one-line progress bar, e.g.
//
//	step  120/1000 [##........] loss 2.3104 test 2.4011 lr 9.0e-04 15.2k tok/s 12s
func (p Progress) String() string {
	const width = 20
	filled := 0
	if p.Steps > 0 {
		filled = p.Step * width / p.Steps
	}
	test := "  –   "
	if !math.IsNaN(p.TestLoss) {
		test = fmt.Sprintf("%.4f", p.TestLoss)
	}
	return fmt.Sprintf("step %*d/%d [%s%s] loss %.4f test %s lr %.1e %s tok/s %s",
		len(fmt.Sprint(p.Steps)), p.Step, p.Steps, strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		p.Loss, test, p.LR, si(p.TokensPerSec), p.Elapsed.Round(time.Second))
}

func si(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.1fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

// Record is one step of a run's history; TestLoss is NaN on steps without
// an evaluation.
type Record struct {
	Step     int
	Loss     float64
	TestLoss float64
	LR       float64
}

// Trainer runs the training loop of a notebook cell: forward, backward,
// optional clipping, an AdamW step with the schedule's learning rate,
// periodic evaluation and checkpoints, a progress callback after every
// step. Run stops between two steps when its context is cancelled, so the
// parameters are always those of a whole number of steps; calling Run again
// resumes.
type Trainer struct {
	Params   []*Var
	Opt      *AdamW
	Schedule Schedule // Total is the number of steps Run does
	ClipNorm float64  // global gradient-norm clip (0: none)
	// Step builds the loss of training step i (a fresh batch) and returns
	// it with the number of tokens it covers.
	Step func(i int) (loss *Var, tokens int)
	// Eval returns the test loss; Run calls it without recording a graph
	// every EvalEvery steps (0: only at the end) and after the last step.
	Eval       func() float64
	EvalEvery  int
	OnProgress func(Progress) // nil: silent
	// Checkpoint, when set, is a path written every CheckpointEvery steps
	// and at the end with SaveCheckpoint (parameters and AdamW state);
	// Resume reads it back.
	Checkpoint      string
	CheckpointEvery int

	History []Record
	next    int
}

// NewTrainer returns a Trainer over params with AdamW and sched. For an LM,
// set t.Opt.Decay = m.Decay so that norms, biases, A_log and D are not decayed.
func NewTrainer(params []*Var, sched Schedule, step func(i int) (*Var, int)) *Trainer {
	return &Trainer{Params: params, Opt: NewAdamW(params, sched.Peak), Schedule: sched, Step: step}
}

// Done is the number of steps taken so far.
func (t *Trainer) Done() int { return t.next }

// Run trains until Schedule.Total steps are done or ctx is cancelled (then
// it returns ctx.Err() with the model intact after a whole step). A NaN or
// infinite loss (or a non-finite output of an ssd forward, which panics)
// stops it before the update with an *tensor.Error matching
// tensor.ErrNotFinite.
func (t *Trainer) Run(ctx context.Context) error {
	start := time.Now()
	var side time.Duration // time spent evaluating and checkpointing
	tokens := 0
	test := math.NaN()
	if n := len(t.History); n > 0 {
		for i := n - 1; i >= 0; i-- {
			if !math.IsNaN(t.History[i].TestLoss) {
				test = t.History[i].TestLoss
				break
			}
		}
	}
	for t.next < t.Schedule.Total {
		if err := ctx.Err(); err != nil {
			return err
		}
		i := t.next
		lr := t.Schedule.LR(i)
		var loss *Var
		var n int
		// The forward's ssd primitives panic with ErrNotFinite on a NaN/Inf
		// output: that too stops the run before the update.
		if err := tensor.Catch(func() { loss, n = t.Step(i) }); err != nil {
			return err
		}
		if l := loss.Item(); math.IsNaN(l) || math.IsInf(l, 0) {
			return &tensor.Error{Op: "nn.Trainer.Run", Kind: tensor.ErrNotFinite,
				Msg: fmt.Sprintf("loss is %v at step %d (lr %.2g); parameters are those after step %d", l, i+1, lr, i)}
		}
		t.Opt.ZeroGrad()
		loss.Backward()
		gn := ClipGradNorm(t.Params, t.ClipNorm)
		t.Opt.StepLR(lr)
		t.next++
		tokens += n
		rec := Record{Step: t.next, Loss: loss.Item(), TestLoss: math.NaN(), LR: lr}
		last := t.next == t.Schedule.Total
		t0 := time.Now()
		if t.Eval != nil && (last || (t.EvalEvery > 0 && t.next%t.EvalEvery == 0)) {
			NoGrad(func() { test = t.Eval() })
			rec.TestLoss = test
		}
		if t.Checkpoint != "" && (last || (t.CheckpointEvery > 0 && t.next%t.CheckpointEvery == 0)) {
			if err := SaveCheckpoint(t.Checkpoint, t.Params, t.Opt, nil); err != nil {
				return err
			}
		}
		side += time.Since(t0)
		t.History = append(t.History, rec)
		if t.OnProgress != nil {
			el := time.Since(start)
			t.OnProgress(Progress{Step: t.next, Steps: t.Schedule.Total, Loss: rec.Loss, TestLoss: test, LR: lr,
				GradNorm: gn, TokensPerSec: float64(tokens) / (el - side).Seconds(), Elapsed: el})
		}
	}
	return nil
}

// Resume loads a checkpoint written by Run (parameters, AdamW moments and
// step) so that the next Run continues from that step. History is not
// restored.
func (t *Trainer) Resume(path string) error {
	_, err := LoadCheckpoint(path, t.Params, t.Opt)
	if err == nil {
		t.next = t.Opt.T
	}
	return err
}

// Curves returns the run's training and test losses as plot series.
func (t *Trainer) Curves(name string) []Series {
	tr, te := Series{Name: name + " train"}, Series{Name: name + " test"}
	for _, r := range t.History {
		tr.X, tr.Y = append(tr.X, float64(r.Step)), append(tr.Y, r.Loss)
		if !math.IsNaN(r.TestLoss) {
			te.X, te.Y = append(te.X, float64(r.Step)), append(te.Y, r.TestLoss)
		}
	}
	return []Series{tr, te}
}
