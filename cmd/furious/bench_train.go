package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/furious-lab/furious/gpu"
	"github.com/furious-lab/furious/nn"
	"github.com/furious-lab/furious/nn/data"
	"github.com/furious-lab/furious/tensor"
)

// trainConfig is what `furious bench --train` measures: one LM per preset
// (Layers layers of width DModel with Heads heads) trained on batches of B
// windows of L Opticks characters, float32, on the device.
type trainConfig struct {
	device                string
	presets               []string
	layers, dModel, heads int
	B, L, steps           int
	jsonOut               string // file for writeTrainJSON, or ""
	profile               int    // with the gpu: profile one step after the timing, printing this many rows (0: none)
	noCheck               bool   // skip the float64 CPU gradient check (slow for large models)
	curve                 int    // > 0: compare loss curves of this many steps instead (bench_curve.go)
}

// trainRow is one line of the training table.
type trainRow struct {
	preset   string
	msStep   float64 // median over the timed steps
	tokensPS float64 // B·L / msStep
	loss     float64 // the loss of the last timed step
	check    float64 // gradients of the first batch against the float64 CPU model
}

// trainWarmup is the untimed steps before a preset's timed ones, as many
// as bench/train_torch.py's peer takes: the first steps of a process fill
// the device's buffer pool and compile its shaders.
const trainWarmup = 5

// benchTrain times forward + backward + AdamW of each preset's model on the
// chosen device: its parameters are placed there, so every op of a step
// runs there (the CPU placement is restored afterwards). Before timing,
// it checks the float32 gradients of one batch on that device against a
// float64 copy of the model (same seed, same values) on the CPU: the check
// column is max over parameters of max|g32 − g64| / max|g64|.
func benchTrain(c trainConfig, w io.Writer) ([]trainRow, error) {
	if err := tensor.SetDevice(c.device); err != nil { // the models' parameters are placed there
		return nil, fmt.Errorf("bench --train: %w", err)
	}
	defer tensor.SetDevice("cpu")
	fmt.Fprintf(w, "device: %s\n", tensor.Device())
	checkLog = w
	defer func() { checkLog = nil }()
	corpus := data.Opticks()
	var rows []trainRow
	for _, name := range c.presets {
		model := func(dt tensor.DType) *nn.LM { return c.model(name, dt) }
		var row trainRow
		err := tensor.Catch(func() {
			m := model(tensor.Float32)
			bat := data.NewBatcher(corpus.Train, c.B, c.L, 1)
			ids, tg := bat.Next()
			row = trainRow{preset: name, check: math.NaN()}
			if !c.noCheck {
				row.check = gradCheck(m, model, ids, tg, c)
			}
			opt := nn.NewAdamW(m.Params(), 1e-3)
			step := func() { row.loss = c.step(m, opt, bat) }
			row.msStep = medianMS(trainWarmup, c.steps, step)
			row.tokensPS = float64(c.B*c.L) / (row.msStep / 1e3)
			if c.profile > 0 && tensor.ActiveBackend().Name() == "gpu" {
				profileStep(w, name, step, c.profile)
			}
		})
		if err != nil {
			return rows, fmt.Errorf("bench --train %s: %w", name, err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// profileStep runs one more step under the GPU device's profiler (a timer
// query around each dispatch) and prints its top rows: where a step's time
// goes, and the per-dispatch issue cost.
func profileStep(w io.Writer, preset string, step func(), top int) {
	dev, err := gpu.Default()
	if err != nil {
		fmt.Fprintf(w, "%s: no profile: %v\n", preset, err)
		return
	}
	dev.StartProfile()
	step()
	p := dev.StopProfile()
	fmt.Fprintf(w, "%s, one step: ", preset)
	p.Write(w, top)
}

// block is preset's block at the configured width and heads.
func (c trainConfig) block(preset string) nn.BlockConfig {
	bc := nn.Preset(preset)
	bc.DModel, bc.Heads = c.dModel, c.heads
	return bc
}

// model is the benchmark's LM of preset (seed 1) in dtype dt, its
// parameters placed where tensor.SetDevice says.
func (c trainConfig) model(preset string, dt tensor.DType) *nn.LM {
	return nn.NewLM(nn.ModelConfig{Vocab: data.Opticks().VocabSize(), Layers: c.layers, Block: c.block(preset), Seed: 1, DType: dt})
}

// step trains m one step (forward, backward, AdamW) on bat's next batch
// and returns the loss (read back: the one value a step reads).
func (c trainConfig) step(m *nn.LM, opt *nn.AdamW, bat *data.Batcher) float64 {
	ids, tg := bat.Next()
	loss := m.Loss(ids, tg, c.B, c.L, -100)
	opt.ZeroGrad()
	loss.Backward()
	opt.Step()
	return loss.Item()
}

// gradCheck returns the largest relative gradient difference between m (on
// the active device) and a float64 model of the same seed on the CPU, for
// one batch.
func gradCheck(m *nn.LM, model func(tensor.DType) *nn.LM, ids, tg []int, c trainConfig) float64 {
	m.Loss(ids, tg, c.B, c.L, -100).Backward()
	var ref *nn.LM
	dev := tensor.ActiveBackend().Name()
	tensor.SetDevice("cpu")
	func() {
		defer tensor.SetDevice(dev)
		ref = model(tensor.Float64)
		ref.Loss(ids, tg, c.B, c.L, -100).Backward()
	}()
	worst, at := 0.0, ""
	for i, p := range m.Params() {
		d := tensor.MaxRelDiff(p.Grad, ref.Params()[i].Grad)
		if math.IsNaN(d) {
			return d
		}
		if d > worst {
			worst, at = d, p.Name
		}
		p.ZeroGrad()
	}
	if checkLog != nil {
		fmt.Fprintf(checkLog, "check: largest gradient difference %.2g in %s\n", worst, at)
	}
	return worst
}

// checkLog, when set (benchTrain's writer), gets the parameter whose
// gradient differs most from the float64 model's.
var checkLog io.Writer

func printTrain(w io.Writer, c trainConfig, rows []trainRow) {
	fmt.Fprintf(w, "training: %d layers, d_model %d, %d heads, batch %d × L %d, float32, AdamW; median of %d steps after %d untimed; check = largest relative gradient difference against the float64 CPU model (one batch)\n",
		c.layers, c.dModel, c.heads, c.B, c.L, c.steps, trainWarmup)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "preset\tms/step\ttokens/s\tloss\tcheck\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%.1f\t%.0f\t%.3f\t%.1e\t\n", r.preset, r.msStep, r.tokensPS, r.loss, r.check)
	}
	tw.Flush()
}

// parsePresets splits a comma-separated list and checks every name.
func parsePresets(s string) ([]string, error) {
	if s == "all" {
		return append([]string(nil), nn.Presets...), nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		found := false
		for _, q := range nn.Presets {
			found = found || p == q
		}
		if !found {
			return nil, fmt.Errorf("bench: --presets: unknown preset %q (have %s)", p, strings.Join(nn.Presets, ", "))
		}
		out = append(out, p)
	}
	return out, nil
}

// trainModelJSON is one model of `bench --train --json`: its sizes and every
// axis of its block, for the PyTorch peer (bench/train_torch.py), which
// builds the same model from it instead of keeping a preset table of its own.
type trainModelJSON struct {
	Preset   string         `json:"preset"`
	Vocab    int            `json:"vocab"`
	Layers   int            `json:"layers"`
	DModel   int            `json:"d_model"`
	Heads    int            `json:"heads"`
	Hidden   int            `json:"hidden"`
	Batch    int            `json:"batch"`
	L        int            `json:"L"`
	Block    map[string]any `json:"block"`
	MsStep   float64        `json:"ms_step"`
	TokensPS float64        `json:"tokens_per_s"`
	Check    *float64       `json:"check,omitempty"` // absent with --no-check
}

// writeTrainJSON writes c's models (the ones benchTrain built) and rows to
// c.jsonOut; it refuses to overwrite an existing file.
func writeTrainJSON(c trainConfig, rows []trainRow) error {
	vocab := data.Opticks().VocabSize()
	out := struct {
		Device string           `json:"device"`
		Models []trainModelJSON `json:"models"`
	}{Device: c.device}
	for i, name := range c.presets {
		bc := c.block(name)
		m := trainModelJSON{Preset: name, Vocab: vocab, Layers: c.layers, DModel: c.dModel, Heads: c.heads,
			Hidden: nn.ModelConfig{Block: bc}.HiddenSize(), Batch: c.B, L: c.L,
			Block: map[string]any{"order": bc.Order, "exp": bc.Exp, "scale": bc.Scale, "mask": bc.Mask.String(),
				"norm": bc.Norm.String(), "eps": bc.Eps, "conv": bc.ConvWidth, "conv_silu": bc.ConvSiLU,
				"conv_bias": bc.ConvBias, "qk_act": bc.QKAct.String(), "dt_v": bc.ValueDT, "dt_bias": bc.DtBias,
				"d_res": bc.DRes, "z_gate": bc.ZGate, "z_bias": bc.ZBias, "rope": bc.RoPE, "chunk": bc.Chunk}}
		if i < len(rows) {
			m.MsStep, m.TokensPS = rows[i].msStep, rows[i].tokensPS
			if c := rows[i].check; !math.IsNaN(c) {
				m.Check = &c
			}
		}
		out.Models = append(out.Models, m)
	}
	f, err := os.OpenFile(c.jsonOut, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("bench --train --json: %w (not overwritten)", err)
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
