package nn

import (
	"fmt"

	"github.com/furious-lab/furious/display"
)

// Fields lists the block's own settings after its variant's: d_model,
// heads and head dimension, dt bias, conv bias, Z bias, RoPE, and a
// custom decay when set.
func (c BlockConfig) Fields() []display.Field {
	head := "?"
	if c.Heads > 0 && c.DModel%c.Heads == 0 {
		head = fmt.Sprint(c.DModel / c.Heads)
	}
	fs := []display.Field{fld("d_model", fmt.Sprint(c.DModel)), fld("heads", fmt.Sprint(c.Heads)), fld("head dim", head),
		fld("dt bias", display.OnOff(c.DtBias)), fld("conv bias", display.OnOff(c.ConvBias)), fld("Z bias", display.OnOff(c.ZBias)), fld("RoPE", display.OnOff(c.RoPE))}
	if c.Decay != nil {
		fs = append(fs, display.Field{Label: "decay", Value: "custom"})
	}
	return fs
}

// String prints the block on one line: "2Mamba block: d_model 64, heads 2,
// head dim 32, …; order 2, scale 1/√d, …" (the variant's settings after
// the block's own; d_model 0 until set).
func (c BlockConfig) String() string {
	return fmt.Sprintf("%s block: %s; %s", c.Variant.Name, display.FieldLine("", c.Fields()),
		display.FieldLine("", c.Variant.Fields()))
}

// HTML renders the block as a small table: the block's settings, then
// its variant's.
func (c BlockConfig) HTML() string {
	vs := c.Variant.Fields()
	vs[0].Label = "score"
	return display.FieldTable("nn.BlockConfig "+c.Variant.Name, append(c.Fields(), vs...))
}

// Fields lists the model's settings: vocabulary, layers, d_model, heads,
// the SwiGLU hidden size, dtype, seed.
func (c ModelConfig) Fields() []display.Field {
	return []display.Field{fld("vocab", fmt.Sprint(c.Vocab)), fld("layers", fmt.Sprint(c.Layers)),
		fld("d_model", fmt.Sprint(c.Block.DModel)), fld("heads", fmt.Sprint(c.Block.Heads)),
		fld("hidden", fmt.Sprint(c.HiddenSize())), fld("dtype", c.DType.String()), fld("seed", fmt.Sprint(c.Seed))}
}

// String prints the model configuration on one line: its own settings,
// its block's beyond d_model and heads, its variant's.
func (c ModelConfig) String() string {
	return fmt.Sprintf("%s LM: %s; %s; %s", c.Block.Variant.Name, display.FieldLine("", c.Fields()),
		display.FieldLine("", c.Block.Fields()[2:]), display.FieldLine("", c.Block.Variant.Fields()))
}

// HTML renders the model configuration as a small table, its block's
// settings below its own.
func (c ModelConfig) HTML() string {
	return display.FieldTable("nn.ModelConfig "+c.Block.Variant.Name, c.fieldsWithBlock())
}

// fieldsWithBlock is the model's fields, then the block's beyond d_model
// and heads, then the variant's.
func (c ModelConfig) fieldsWithBlock() []display.Field {
	vs := c.Block.Variant.Fields()
	vs[0].Label = "score"
	return append(append(c.Fields(), c.Block.Fields()[2:]...), vs...)
}

// NumParams is the number of trainable values of the model.
func (m *LM) NumParams() int {
	n := 0
	for _, p := range m.params {
		n += p.Value.Len()
	}
	return n
}

// String prints the model on one line: its variant, size, parameter count
// and where its parameters live.
func (m *LM) String() string {
	c := m.Cfg
	return fmt.Sprintf("%s LM: %d parameters on %s; %s", c.Block.Variant.Name, m.NumParams(), m.device(),
		display.FieldLine("", c.Fields()))
}

// HTML renders the model as a small table: parameters and device, then its
// configuration.
func (m *LM) HTML() string {
	fs := append([]display.Field{fld("parameters", fmt.Sprint(m.NumParams())), fld("device", m.device())}, m.Cfg.fieldsWithBlock()...)
	return display.FieldTable("nn.LM "+m.Cfg.Block.Variant.Name, fs)
}

// device is where the parameters live ("cpu", "gpu").
func (m *LM) device() string {
	if len(m.params) == 0 {
		return "cpu"
	}
	return m.params[0].Value.Device().String()
}

// fld is a display.Field.
func fld(label, value string) display.Field { return display.Field{Label: label, Value: value} }
