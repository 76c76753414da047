package main

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/furious-lab/furious/nn"
	"github.com/furious-lab/furious/nn/data"
	"github.com/furious-lab/furious/tensor"
)

// curveRow is one preset of `furious bench --train --curve N`: the same
// model (same seed, same batches, AdamW) trained N steps three times, in
// float32 on the chosen device, in float32 on the CPU and in float64 on
// the CPU (the oracle). noise is float32's own distance from the oracle,
// max over steps of |ℓ32cpu − ℓ64| / ℓ64; dev the device's, |ℓdev − ℓ64| / ℓ64.
type curveRow struct {
	preset            string
	dev, cpu32, cpu64 []float64 // the loss at every step
	devGap, noise     float64
}

// benchCurve trains each preset c.curve steps on c.device and on the CPU
// (float32, float64) and compares the loss curves.
func benchCurve(c trainConfig, w io.Writer) ([]curveRow, error) {
	corpus := data.Opticks()
	var rows []curveRow
	for _, name := range c.presets {
		run := func(device string, dt tensor.DType) (losses []float64, err error) {
			if err := tensor.SetDevice(device); err != nil {
				return nil, err
			}
			defer tensor.SetDevice("cpu")
			err = tensor.Catch(func() {
				m := c.model(name, dt)
				opt := nn.NewAdamW(m.Params(), 1e-3)
				bat := data.NewBatcher(corpus.Train, c.B, c.L, 1)
				for i := 0; i < c.curve; i++ {
					losses = append(losses, c.step(m, opt, bat))
				}
			})
			return losses, err
		}
		r := curveRow{preset: name}
		var err error
		if r.dev, err = run(c.device, tensor.Float32); err == nil {
			if r.cpu32, err = run("cpu", tensor.Float32); err == nil {
				r.cpu64, err = run("cpu", tensor.Float64)
			}
		}
		if err != nil {
			return rows, fmt.Errorf("bench --train --curve %s: %w", name, err)
		}
		for i, want := range r.cpu64 {
			r.devGap = max(r.devGap, math.Abs(r.dev[i]-want)/math.Abs(want))
			r.noise = max(r.noise, math.Abs(r.cpu32[i]-want)/math.Abs(want))
			if math.IsNaN(r.dev[i]) {
				r.devGap = math.NaN()
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// printCurve writes the curve comparison, one row per preset.
func printCurve(w io.Writer, c trainConfig, rows []curveRow) {
	fmt.Fprintf(w, "loss curves: %d steps of %d layers, d_model %d, %d heads, batch %d × L %d, AdamW lr 1e-3, same seed and batches; gap = max over steps of |loss − float64 CPU loss| / float64 CPU loss\n",
		c.curve, c.layers, c.dModel, c.heads, c.B, c.L)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "preset\tfirst loss\tlast: %s f32\tcpu f32\tcpu f64\tgap %s f32\tgap cpu f32\t\n", c.device, c.device)
	for _, r := range rows {
		n := len(r.cpu64) - 1
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.4f\t%.1e\t%.1e\t\n", r.preset, r.cpu64[0], r.dev[n], r.cpu32[n], r.cpu64[n], r.devGap, r.noise)
	}
	tw.Flush()
}
