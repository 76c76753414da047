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
	GradNorm     float64       // before clipping
	TokensPerSec float64       // training tokens per second of training time (evaluations and checkpoints excluded)
	Elapsed      time.Duration // training, evaluation and checkpoint time over every Run (pauses between Runs excluded)
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
// step. Run stops between two steps when its context is cancelled or the
// notebook's interrupt reaches it (tensor.Interrupt: the interrupt button),
// so the parameters are always those of a whole number of steps; calling
// Run again resumes with the same callbacks, evaluation schedule and
// progress (an evaluation the interrupt cut short is done first).
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

	// pending is the step taken but not yet finished (evaluated,
	// checkpointed, recorded, reported): set between the update and the
	// end of finish, so that an interrupted evaluation is redone by the
	// next Run rather than skipped.
	pending   *Record
	pendingGN float64
	evaluated bool    // pending's evaluation is done (its checkpoint failed)
	lastTest  float64 // the latest evaluation, reported until the next
	tested    bool
	// Totals over every Run: training time, evaluation and checkpoint
	// time, tokens. Progress reports them, so a resumed run's speed and
	// elapsed time continue instead of restarting.
	train, side time.Duration
	tokens      int
}

// NewTrainer returns a Trainer over params with AdamW and sched. For an LM,
// set t.Opt.Decay = m.Decay so that norms, biases, A_log and D are not decayed.
func NewTrainer(params []*Var, sched Schedule, step func(i int) (*Var, int)) *Trainer {
	return &Trainer{Params: params, Opt: NewAdamW(params, sched.Peak), Schedule: sched, Step: step}
}

// Done is the number of steps taken so far.
func (t *Trainer) Done() int { return t.next }

// Run trains until Schedule.Total steps are done, ctx is cancelled (then it
// returns ctx.Err()) or tensor.Interrupt is called (then an *tensor.Error
// matching tensor.ErrInterrupted), with the model intact after a whole
// step; Run again resumes. A NaN or infinite loss (or a non-finite output
// of an ssd forward, which panics) stops it before the update with an
// *tensor.Error matching tensor.ErrNotFinite.
func (t *Trainer) Run(ctx context.Context) error {
	if t.pending != nil {
		if err := t.finish(); err != nil {
			return err
		}
	}
	for t.next < t.Schedule.Total {
		if err := ctx.Err(); err != nil {
			return err
		}
		if tensor.Interrupted() {
			return &tensor.Error{Op: "nn.Trainer.Run", Kind: tensor.ErrInterrupted,
				Msg: fmt.Sprintf("interrupted after step %d of %d; Run again to resume", t.next, t.Schedule.Total)}
		}
		i := t.next
		lr := t.Schedule.LR(i)
		t0 := time.Now()
		var loss *Var
		var n int
		// The forward's ssd primitives panic with ErrNotFinite on a NaN/Inf
		// output, and nn's ops with ErrInterrupted on an interrupt: both
		// stop the run before the update.
		if err := tensor.Catch(func() { loss, n = t.Step(i) }); err != nil {
			return err
		}
		if loss == nil {
			return &tensor.Error{Op: "nn.Trainer.Run", Arg: "Step", Msg: fmt.Sprintf("returned a nil loss at step %d", i+1)}
		}
		// The backward and the gradient norm come before the loss is read:
		// on a device the norm's read waits for the backward, and the
		// loss's then waits for nothing, one wait a step instead of a
		// second one between the forward and the backward (with the GPU
		// idle while the backward's commands are issued). A non-finite
		// loss still stops the run before the update.
		var gn float64
		if err := tensor.Catch(func() {
			t.Opt.ZeroGrad()
			loss.Backward()
			gn = ClipGradNorm(t.Params, t.ClipNorm)
		}); err != nil {
			return err // interrupted backward: no update, step i again next time
		}
		l := loss.Item()
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return &tensor.Error{Op: "nn.Trainer.Run", Kind: tensor.ErrNotFinite,
				Msg: fmt.Sprintf("loss is %v at step %d (lr %.2g); parameters are those after step %d", l, i+1, lr, i)}
		}
		t.Opt.StepLR(lr)
		t.next++
		t.tokens += n
		t.train += time.Since(t0)
		t.pending, t.pendingGN, t.evaluated = &Record{Step: t.next, Loss: l, TestLoss: math.NaN(), LR: lr}, gn, false
		if err := t.finish(); err != nil {
			return err
		}
	}
	return nil
}

// finish completes the step just taken (t.pending): the evaluation and
// checkpoint when due, the history record, the progress callback. An
// error (an interrupted evaluation, a failed checkpoint) leaves the step
// pending for the next Run.
func (t *Trainer) finish() error {
	rec := t.pending
	last := rec.Step == t.Schedule.Total
	t0 := time.Now()
	defer func() { t.side += time.Since(t0) }()
	if t.Eval != nil && !t.evaluated && (last || (t.EvalEvery > 0 && rec.Step%t.EvalEvery == 0)) {
		var test float64
		if err := tensor.Catch(func() { NoGrad(func() { test = t.Eval() }) }); err != nil {
			return err
		}
		rec.TestLoss, t.evaluated = test, true
		t.lastTest, t.tested = test, true
	}
	if t.Checkpoint != "" && (last || (t.CheckpointEvery > 0 && rec.Step%t.CheckpointEvery == 0)) {
		if err := SaveCheckpoint(t.Checkpoint, t.Params, t.Opt, nil); err != nil {
			return err
		}
	}
	t.History = append(t.History, *rec)
	t.pending = nil
	if t.OnProgress != nil {
		test := math.NaN()
		if t.tested {
			test = t.lastTest
		}
		t.OnProgress(Progress{Step: rec.Step, Steps: t.Schedule.Total, Loss: rec.Loss, TestLoss: test, LR: rec.LR,
			GradNorm: t.pendingGN, TokensPerSec: float64(t.tokens) / t.train.Seconds(), Elapsed: t.train + t.side + time.Since(t0)})
	}
	return nil
}

// Resume loads a checkpoint written by Run (parameters, AdamW moments and
// step) so that the next Run continues from that step. History is not
// restored.
func (t *Trainer) Resume(path string) error {
	_, err := LoadCheckpoint(path, t.Params, t.Opt)
	if err == nil {
		t.next, t.pending = t.Opt.T, nil
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
