package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/furious-lab/furious/nn"
	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// exportCmd runs `furious export [flags] DIR`: it builds the model that the
// flags describe (a preset, then any axis overridden), optionally reads its
// weights from a furious checkpoint, and writes it with nn.ExportTorch.
func exportCmd(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: furious export [--preset 2mamba] [--vocab 64 --layers 2 --d-model 64 --heads 2] [axis flags] [--weights FILE] [--force] DIR\n\n"+
			"Writes the model as PyTorch into DIR: model.py (the architecture, every block axis, furious's parameter\n"+
			"names), model.safetensors (its weights) and train.py (torchrun DDP training; its checkpoints load back\n"+
			"with nn.LoadTorch). The block is a preset with the axis flags applied on top. DIR must be missing or\n"+
			"empty unless --force; nothing is left behind on error.\n\n")
		fs.PrintDefaults()
	}
	preset := fs.String("preset", "2mamba", "block preset: "+strings.Join(presetKeys(), ", "))
	vocab := fs.Int("vocab", 64, "vocabulary size")
	layers := fs.Int("layers", 2, "layers")
	dModel := fs.Int("d-model", 64, "model width")
	heads := fs.Int("heads", 2, "attention heads (head dim = d-model / heads)")
	hidden := fs.Int("hidden", 0, "SwiGLU hidden size (0: 8/3·d-model rounded up to a multiple of 8)")
	seed := fs.Uint64("seed", 1, "seed of the initial weights")
	dtype := fs.String("dtype", "float32", "float32 or float64")
	weights := fs.String("weights", "", "read the weights from this furious checkpoint (nn.SaveParams / SaveCheckpoint) instead")
	force := fs.Bool("force", false, "replace DIR if it is not empty")
	// The axes of the block, applied over the preset when given.
	order := fs.Int("order", 0, "axis: hidden-state order p ≥ 1")
	exp := fs.Bool("exp", false, "axis: exp scores (softmax-style attention)")
	scale := fs.Float64("scale", 0, "axis: score scale (0: 1/√d)")
	mask := fs.String("mask", "", "axis: none, original, softplus or forget")
	norm := fs.String("norm", "", "axis: none, output or softmax")
	eps := fs.Float64("eps", 0, "axis: output RMSNorm epsilon")
	conv := fs.Int("conv", 0, "axis: causal conv width 0…4")
	convSiLU := fs.Bool("conv-silu", false, "axis: SiLU after the conv")
	qkAct := fs.String("qk-act", "", "axis: activation of q and k: none, relu or silu")
	dt := fs.Bool("dt", false, "axis: V ⊙ dt")
	dRes := fs.Bool("d-res", false, "axis: D residual")
	zGate := fs.Bool("z-gate", false, "axis: Z gate")
	rope := fs.Bool("rope", false, "axis: rotary position embeddings")
	dtBias := fs.Bool("dt-bias", false, "axis: Mamba-2's dt bias")
	convBias := fs.Bool("conv-bias", false, "axis: conv bias")
	zBias := fs.Bool("z-bias", false, "axis: Z gate bias")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("export: give one directory")
	}
	dir := fs.Arg(0)
	var bc nn.BlockConfig
	if err := tensor.Catch(func() { bc = nn.Preset(*preset) }); err != nil {
		return fmt.Errorf("export: %v", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var bad error
	fs.Visit(func(f *flag.Flag) {
		var err error
		switch f.Name {
		case "order":
			bc.Order = *order
		case "exp":
			bc.Exp = *exp
		case "scale":
			bc.Scale = *scale
		case "mask":
			bc.Mask, err = parseMask(*mask)
		case "norm":
			bc.Norm, err = parseNorm(*norm)
		case "eps":
			bc.Eps = *eps
		case "conv":
			bc.ConvWidth = *conv
		case "conv-silu":
			bc.ConvSiLU = *convSiLU
		case "qk-act":
			bc.QKAct, err = parseAct(*qkAct)
		case "dt":
			bc.ValueDT = *dt
		case "d-res":
			bc.DRes = *dRes
		case "z-gate":
			bc.ZGate = *zGate
		case "rope":
			bc.RoPE = *rope
		case "dt-bias":
			bc.DtBias = *dtBias
		case "conv-bias":
			bc.ConvBias = *convBias
		case "z-bias":
			bc.ZBias = *zBias
		}
		if err != nil && bad == nil {
			bad = err
		}
	})
	if bad != nil {
		return bad
	}
	if set["norm"] && bc.Norm == ssd.NormOutput && !set["eps"] && bc.Eps == 0 {
		bc.Eps = ssd.DefaultEps
	}
	var changed []string
	for _, a := range []string{"order", "exp", "scale", "mask", "norm", "eps", "conv", "conv-silu", "qk-act", "dt", "d-res", "z-gate", "rope", "dt-bias", "conv-bias", "z-bias"} {
		if set[a] {
			changed = append(changed, a)
		}
	}
	if len(changed) > 0 {
		bc.Name += " with " + strings.Join(changed, ", ")
	}
	bc.DModel, bc.Heads = *dModel, *heads
	cfg := nn.ModelConfig{Vocab: *vocab, Layers: *layers, Block: bc, Hidden: *hidden, Seed: *seed}
	switch *dtype {
	case "float32":
		cfg.DType = tensor.Float32
	case "float64":
		cfg.DType = tensor.Float64
	default:
		return fmt.Errorf("export: --dtype %q, want float32 or float64", *dtype)
	}
	var m *nn.LM
	if err := tensor.Catch(func() { m = nn.NewLM(cfg) }); err != nil {
		return fmt.Errorf("export: %v", err)
	}
	if *weights != "" {
		if _, err := nn.LoadParams(*weights, m.Params()); err != nil {
			return fmt.Errorf("export: %v", err)
		}
	}
	ex, err := nn.ExportTorch(m, dir, nn.ExportOptions{Force: *force})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "exported %s (%d parameters)\n  %s\n  %s\n  %s\ntrain with, e.g.:\n  cd %s && %s\n", m.Cfg.Block.Variant,
		nn.CountParams(m.Params()), ex.Model, ex.Weights, ex.Script, ex.Dir,
		ex.Command(2, fmt.Sprintf("--mqar %d,8,8,64 --steps 1000 --batch 32 --out checkpoints", min(*vocab, 64))))
	return nil
}

func presetKeys() []string {
	var out []string
	for _, p := range ssd.PresetTable() {
		out = append(out, p.Key)
	}
	return out
}

func parseMask(s string) (ssd.MaskKind, error) {
	return parseNamed("--mask", s, "(a custom log-decay is exported from Go: nn.ExportTorch with nn.FixedDecay or nn.TorchDecay)",
		ssd.MaskNone, ssd.MaskOriginal, ssd.MaskSoftplus, ssd.MaskForget)
}

func parseNorm(s string) (ssd.Norm, error) {
	return parseNamed("--norm", s, "", ssd.NormNone, ssd.NormOutput, ssd.NormSoftmax)
}

func parseAct(s string) (ssd.Act, error) {
	return parseNamed("--qk-act", s, "", ssd.ActNone, ssd.ActReLU, ssd.ActSiLU)
}

// parseNamed returns the value among vals whose String is s, or an error
// naming the flag and the names it takes (and hint).
func parseNamed[T fmt.Stringer](flag, s, hint string, vals ...T) (T, error) {
	names := make([]string, len(vals))
	for i, v := range vals {
		if v.String() == s {
			return v, nil
		}
		names[i] = v.String()
	}
	var zero T
	msg := fmt.Sprintf("export: %s %q, want %s", flag, s, strings.Join(names, ", "))
	if hint != "" {
		msg += " " + hint
	}
	return zero, errors.New(msg)
}
