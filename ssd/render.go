package ssd

import (
	"fmt"

	"github.com/furious-lab/furious/display"
)

// Fields lists the variant's settings, labelled as String prints them:
// the score (order p or exp, unlabelled), scale, mask, norm, conv, qk
// activation, V⊙dt, D residual, Z gate, and the chunk when set.
func (v Variant) Fields() []display.Field {
	f := fmt.Sprintf("order %d", v.Order)
	if v.Exp {
		f = "exp"
	}
	sc := "1/√d"
	if v.Scale != 0 {
		sc = fmt.Sprintf("%g", v.Scale)
	}
	norm := v.Norm.String()
	if v.Norm == NormOutput {
		norm += fmt.Sprintf("(eps %.3g)", v.Eps)
	}
	conv := "none"
	if v.ConvWidth > 0 {
		conv = fmt.Sprint(v.ConvWidth)
		if v.ConvSiLU {
			conv += "+silu"
		}
	}
	out := []display.Field{fld("", f), fld("scale", sc), fld("mask", v.Mask.String()), fld("norm", norm), fld("conv", conv),
		fld("qk", v.QKAct.String()), fld("dt", display.OnOff(v.ValueDT)), fld("D", display.OnOff(v.DRes)), fld("Z", display.OnOff(v.ZGate))}
	if v.Chunk != 0 {
		out = append(out, display.Field{Label: "chunk", Value: fmt.Sprint(v.Chunk)})
	}
	return out
}

// name is the variant's name, "variant" when it has none.
func (v Variant) name() string {
	if v.Name == "" {
		return "variant"
	}
	return v.Name
}

// String prints the variant on one line: "2Mamba: order 2, scale 1/√d,
// mask softplus, norm softmax, conv 2, qk none, dt off, D off, Z off".
func (v Variant) String() string { return display.FieldLine(v.name(), v.Fields()) }

// HTML renders the variant as a small table (the notebook's view).
func (v Variant) HTML() string {
	fs := v.Fields()
	fs[0].Label = "score"
	return display.FieldTable("ssd.Variant "+v.name(), fs)
}

// Fields lists the preset: its key, the block parts beyond the variant (dt
// bias, conv bias, Z bias, RoPE), whether it is one of the paper's six
// curves, the 2Mamba config it reproduces.
func (p Preset) Fields() []display.Field {
	fig := "no"
	if p.Figure {
		fig = "yes"
	}
	return []display.Field{fld("dt bias", display.OnOff(p.DTBias)), fld("conv bias", display.OnOff(p.ConvBias)), fld("Z bias", display.OnOff(p.ZBias)),
		fld("RoPE", display.OnOff(p.RoPE)), fld("in the paper's figures", fig), fld("config", p.Config)}
}

// String prints the preset on one line: its key, the variant, then the
// block parts and the config.
func (p Preset) String() string {
	return fmt.Sprintf("preset %q = %s; %s", p.Key, p.Variant, display.FieldLine("", p.Fields()))
}

// HTML renders the preset as a small table: the variant's settings, then
// the preset's own.
func (p Preset) HTML() string {
	fs := p.Variant.Fields()
	fs[0].Label = "score"
	return display.FieldTable(fmt.Sprintf("ssd.Preset %q (%s)", p.Key, p.Variant.name()), append(fs, p.Fields()...))
}

// fld is a display.Field.
func fld(label, value string) display.Field { return display.Field{Label: label, Value: value} }
