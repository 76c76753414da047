package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/furious-lab/furious/backend/cpu"
	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// benchConfig is what `furious bench` measures: B = 1, H heads of dimension
// d, every L in Ls, each form timed reps times after a warm-up.
type benchConfig struct {
	device string
	H, d   int
	Ls     []int
	chunk  int
	reps   int
	maxQ   int // the quadratic form is skipped above this length
}

// benchRow is one line of the table.
type benchRow struct {
	device, form string
	order        string // "1", "2", "exp"
	norm         string
	L            int
	ms           float64 // median
	flops        float64 // model FLOPs of one call
	check        float64 // largest relative difference against the float64 oracle (printBench's footer says where)
}

// bench runs `furious bench [--device cpu|gpu] [--L 2048,8192] [--H 4] [--d 64] [--reps 5]`, or with
// --train the training throughput of each preset's small LM (`[--presets all] [--layers 2]
// [--d-model 128] [--batch 4] [--seq 256]`).
func bench(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: furious bench [--device cpu|gpu] [--L 2048,8192] [--H 4] [--d 64] [--reps 5]\n"+
			"       furious bench --train [--presets all] [--layers 2] [--d-model 128] [--batch 4] [--seq 256]\n\n"+
			"Times the SSD forms, each row checked against the float64 oracle, or the training throughput per preset.\n\n")
		fs.PrintDefaults()
	}
	c := benchConfig{}
	fs.StringVar(&c.device, "device", "cpu", "cpu or gpu")
	fs.IntVar(&c.H, "H", 4, "heads (B = 1)")
	fs.IntVar(&c.d, "d", 64, "head dimension (d = d_v)")
	Ls := fs.String("L", "2048,8192", "sequence lengths, comma separated")
	fs.IntVar(&c.chunk, "chunk", ssd.DefaultChunk, "chunk size of the chunked form")
	fs.IntVar(&c.reps, "reps", 5, "timed runs per row (the median is shown)")
	fs.IntVar(&c.maxQ, "max-quadratic", 8192, "longest L timed in the quadratic form")
	train := fs.Bool("train", false, "measure training throughput per preset instead of the SSD forms")
	presets := fs.String("presets", "all", "with --train: presets, comma separated, or all")
	tc := trainConfig{}
	fs.IntVar(&tc.layers, "layers", 2, "with --train: layers of the model")
	fs.IntVar(&tc.dModel, "d-model", 128, "with --train: model width (heads from --H)")
	fs.IntVar(&tc.B, "batch", 4, "with --train: windows per batch")
	fs.IntVar(&tc.L, "seq", 256, "with --train: window length")
	fs.IntVar(&tc.curve, "curve", 0, "with --train: train N steps on the device and on the CPU (float32, float64) and compare the loss curves")
	fs.BoolVar(&tc.noCheck, "no-check", false, "with --train: skip the float64 CPU gradient check (check column NaN)")
	fs.IntVar(&tc.profile, "profile", 0, "with --train --device gpu: profile one step and print this many programs (by GPU time)")
	fs.StringVar(&tc.jsonOut, "json", "", "with --train: also write the models and results as JSON to this file (bench/train_torch.py reads it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *train {
		var err error
		if tc.presets, err = parsePresets(*presets); err != nil {
			return err
		}
		tc.device, tc.heads, tc.steps = c.device, c.H, c.reps
		if tc.layers < 1 || tc.dModel < 1 || tc.B < 1 || tc.L < 1 || c.reps < 1 || c.H < 1 || tc.dModel%c.H != 0 {
			return fmt.Errorf("bench --train: --layers, --d-model, --batch, --seq, --reps and --H must be positive, and --H must divide --d-model")
		}
		if tc.curve > 0 {
			rows, err := benchCurve(tc, w)
			printCurve(w, tc, rows)
			return err
		}
		rows, err := benchTrain(tc, w)
		printTrain(w, tc, rows)
		if err == nil && tc.jsonOut != "" {
			err = writeTrainJSON(tc, rows)
		}
		return err
	}
	for _, s := range strings.Split(*Ls, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("bench: --L %q: want positive integers separated by commas", *Ls)
		}
		c.Ls = append(c.Ls, n)
	}
	if c.reps < 1 || c.H < 1 || c.d < 1 || c.chunk < 1 {
		return fmt.Errorf("bench: --reps, --H, --d and --chunk must be positive")
	}
	var rows []benchRow
	var err error
	switch c.device {
	case "cpu":
		fmt.Fprintf(w, "device: %s\n", cpu.New().Describe())
		rows = benchCPU(c)
	case "gpu":
		rows, err = benchGPU(c, w)
	default:
		return fmt.Errorf("bench: --device %q: want cpu or gpu", c.device)
	}
	if err != nil {
		return err
	}
	where := fmt.Sprintf("L=%d", checkL)
	if c.device == "gpu" {
		where = fmt.Sprintf("head 0 at the row's L where L ≤ %d, else every head at L=%d", ownCheckMaxL, checkL)
	}
	fmt.Fprintf(w, "B=1 H=%d d=%d float32 in and out, chunk %d, median of %d; check = largest relative difference against the float64 quadratic form (%s)\n",
		c.H, c.d, c.chunk, c.reps, where)
	printBench(w, rows)
	return nil
}

// checkL is the length at which every row is checked against the oracle.
const checkL = 300

// benchCase is one (form, order, norm) of the table.
type benchCase struct {
	form  string // "chunked", "quadratic", "blockwise", "auto"
	opts  ssd.Options
	label string
	norm  string
}

func benchCases() []benchCase {
	return []benchCase{
		{"chunked", ssd.Options{Order: 1}, "1", "none"},
		{"chunked", ssd.Options{Order: 2, Norm: ssd.NormSoftmax}, "2", "softmax"},
		{"quadratic", ssd.Options{Order: 1}, "1", "none"},
		{"quadratic", ssd.Options{Order: 2, Norm: ssd.NormSoftmax}, "2", "softmax"},
		{"blockwise", ssd.Options{Exp: true, Norm: ssd.NormSoftmax}, "exp", "softmax"},
		{"auto", ssd.Options{Order: 1}, "1", "none"},
		{"auto", ssd.Options{Order: 2, Norm: ssd.NormSoftmax}, "2", "softmax"},
	}
}

// benchInputs returns q, k, v (1, H, L, d) and softplus log-decays (1, H, L)
// drawn from fixed seeds.
func benchInputs(dtype tensor.DType, H, L, d int) (q, k, v, a *tensor.Tensor) {
	q = tensor.NewRNG(1).Randn(1, H, L, d).As(dtype)
	k = tensor.NewRNG(2).Randn(1, H, L, d).As(dtype)
	v = tensor.NewRNG(3).Randn(1, H, L, d).As(dtype)
	a = ssd.LogDecaySoftplus(tensor.NewRNG(4).Randn(1, H, L).As(dtype))
	return
}

// runCPU computes one case on the CPU; "auto" is the chunked form there
// (ssd.FormAuto's choice for finite orders).
func runCPU(bc benchCase, q, k, v, a *tensor.Tensor, chunk int) *tensor.Tensor {
	switch bc.form {
	case "chunked", "auto":
		y, _ := ssd.Chunked(q, k, v, a, bc.opts, chunk, nil)
		return y
	case "blockwise":
		return ssd.Blockwise(q, k, v, a, bc.opts, chunk)
	}
	return ssd.Quadratic(q, k, v, a, bc.opts)
}

// oracle is the float64 quadratic form of H heads at length L.
func oracle(bc benchCase, H, L, d int) *tensor.Tensor {
	q, k, v, a := benchInputs(tensor.Float64, H, L, d)
	return ssd.Quadratic(q, k, v, a, bc.opts)
}

func benchCPU(c benchConfig) []benchRow {
	var rows []benchRow
	for _, bc := range benchCases() {
		q, k, v, a := benchInputs(tensor.Float32, c.H, checkL, c.d)
		check := tensor.MaxRelDiff(runCPU(bc, q, k, v, a, c.chunk), oracle(bc, c.H, checkL, c.d))
		for _, L := range c.Ls {
			if (bc.form == "quadratic" || bc.form == "blockwise") && L > c.maxQ {
				continue
			}
			q, k, v, a := benchInputs(tensor.Float32, c.H, L, c.d)
			ms := medianMS(1, c.reps, func() { runCPU(bc, q, k, v, a, c.chunk) })
			rows = append(rows, benchRow{"cpu", bc.form, bc.label, bc.norm, L, ms, modelFlops(bc, c.H, L, c.d, c.chunk), check})
		}
	}
	return rows
}

// modelFlops counts 2 FLOPs per multiply-add of the algorithm's products:
// quadratic and blockwise L²/2 causal pairs × (d + d_v) per head; chunked
// per token chunk/2 pairs × (d + d_v) inside the chunk plus 4·D·d_v for the
// state (D = d, or d(d+1)/2 for order 2).
func modelFlops(bc benchCase, H, L, d, chunk int) float64 {
	pairs := float64(L) * float64(L+1) / 2
	if bc.form == "quadratic" || bc.form == "blockwise" {
		return float64(H) * pairs * 2 * float64(2*d)
	}
	D := d
	if bc.opts.Order == 2 {
		D = d * (d + 1) / 2
	}
	perToken := float64(min(chunk, L)+1)/2*2*float64(2*d) + 4*float64(D*d)
	return float64(H) * float64(L) * perToken
}

// medianMS times fn reps times after warm untimed runs and returns the
// median in ms.
func medianMS(warm, reps int, fn func()) float64 {
	for range warm {
		fn()
	}
	ts := make([]float64, reps)
	for i := range ts {
		t0 := time.Now()
		fn()
		ts[i] = float64(time.Since(t0).Nanoseconds()) / 1e6
	}
	sort.Float64s(ts)
	return ts[reps/2]
}

func printBench(w io.Writer, rows []benchRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "device\tform\torder\tnorm\tL\tms\tGFLOP/s\tcheck\t")
	for _, r := range rows {
		gf := r.flops / (r.ms * 1e-3) / 1e9
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%.3f\t%.1f\t%.1e\t\n", r.device, r.form, r.order, r.norm, r.L, r.ms, gf, r.check)
	}
	tw.Flush()
	if bad := worstCheck(rows); bad > 1e-3 {
		fmt.Fprintf(w, "WARNING: a fast path differs from the float64 oracle by %.1e (relative)\n", bad)
	}
}

func worstCheck(rows []benchRow) float64 {
	worst := 0.0
	for _, r := range rows {
		if math.IsNaN(r.check) {
			return math.Inf(1)
		}
		worst = max(worst, r.check)
	}
	return worst
}

// benchCmd is the CLI entry point.
func benchCmd(args []string) error { return bench(args, os.Stdout) }
