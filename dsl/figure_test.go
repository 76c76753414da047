package dsl

import (
	"bytes"
	"context"
	"image/png"
	"strings"
	"testing"

	"github.com/furious-lab/furious/display"
)

// TestFiguresInCells: the gonum/plot subpackages a figure needs import in a
// cell (the issue: "unable to find source related to"
// gonum.org/v1/plot/palette), and display's figures render as PNG from a
// cell, with a colour map written in a cell.
func TestFiguresInCells(t *testing.T) {
	s, _, _ := newSession(t)
	run(t, s, `import (
	"image/color"

	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)`)
	if got := run(t, s, "len(moreland.SmoothBlueRed().Palette(7).Colors())"); got != "7" {
		t.Errorf("moreland palette: %q", got)
	}
	if got := run(t, s, "len(palette.Heat(5, 1).Colors())"); got != "5" {
		t.Errorf("palette.Heat: %q", got)
	}
	run(t, s, `c := vgimg.New(vg.Inch, vg.Inch)
sv := vgsvg.New(vg.Inch, vg.Inch)
_, _, _ = draw.New(c), sv, plotter.NewGrid()`)

	// A colour map written in a cell, given to a figure.
	run(t, s, `type greys struct{ lo, hi, alpha float64 }
func (m *greys) At(v float64) (color.Color, error) { return color.Gray{uint8(255 * (v - m.lo) / (m.hi - m.lo))}, nil }
func (m *greys) Max() float64 { return m.hi }
func (m *greys) Min() float64 { return m.lo }
func (m *greys) SetMax(v float64) { m.hi = v }
func (m *greys) SetMin(v float64) { m.lo = v }
func (m *greys) Alpha() float64 { return m.alpha }
func (m *greys) SetAlpha(a float64) { m.alpha = a }
func (m *greys) Palette(n int) palette.Palette { return nil }`)
	cells := map[string]string{
		"heat map": `m := tensor.FromFloat64([]float64{0, 1, 2, 3, 4, 5}, 2, 3)
display.Heatmap(m).Title("m")`,
		"diverging":       `display.Heatmap(tensor.FromFloat64([]float64{-1, 2}, 1, 2)).Diverging()`,
		"cell colour map": `display.Heatmap(tensor.FromFloat64([]float64{0, 1}, 1, 2)).ColorMap(&greys{0, 1, 1})`,
		"lines":           `display.Lines(display.Series{Name: "a", Y: []float64{1, 10, 100}}).Line("b", nil, []float64{2, 20, 50}).LogY()`,
		"grid":            `display.Grid(2, display.Heatmap(tensor.FromFloat64([]float64{1, 2, 3, 4}, 2, 2)), display.Lines().Line("x", nil, []float64{1, 2}))`,
	}
	for name, cell := range cells {
		d, ok, err := s.Eval(context.Background(), cell)
		if err != nil || !ok {
			t.Errorf("%s: %v", name, err)
			continue
		}
		b, _ := d.Data[display.MIMEPNG].([]byte)
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("%s: no PNG (%v); text %v", name, err, d.Data[display.MIMEText])
		}
		if txt, _ := d.Data[display.MIMEText].(string); !strings.HasPrefix(txt, "<") {
			t.Errorf("%s: text/plain %q", name, txt)
		}
	}
	// The cell's colour map was used: the two cells are black and white.
	d, _, _ := s.Eval(context.Background(), `display.Heatmap(tensor.FromFloat64([]float64{0, 1}, 1, 2)).ColorMap(&greys{0, 1, 1}).ColorAt(1)`)
	if txt := d.Data[display.MIMEText]; txt != "{255}" {
		t.Errorf("ColorAt(1) with the cell's map: %v, want {255}", txt)
	}
}

// TestTimeitInCell: a cell times a closure and the result renders as a table.
func TestTimeitInCell(t *testing.T) {
	s, _, _ := newSession(t)
	d, ok, err := s.Eval(context.Background(), `n := 0
a := tensor.FromFloat64([]float64{1, 2, 3, 4}, 2, 2)
tm := display.TimeitN(5, 2, func() { n++; tensor.MatMul(a, a) })
tm.Label = "matmul"
tm`)
	if err != nil || !ok {
		t.Fatal(err)
	}
	if h, _ := d.Data[display.MIMEHTML].(string); !strings.Contains(h, "matmul") || !strings.Contains(h, "5 after 2 warm-up") {
		t.Errorf("HTML: %v", d.Data)
	}
	if got := run(t, s, "n"); got != "7" {
		t.Errorf("the closure ran %s times, want 7", got)
	}
}

// TestReadableValuesInCell: a preset, a block and a model as a cell's value
// render as a table, with a labelled line as text/plain (the issue saw an
// unlabelled struct).
func TestReadableValuesInCell(t *testing.T) {
	s, _, _ := newSession(t)
	for cell, want := range map[string]string{
		`ssd.LookupPreset("2mamba")`: `preset "2mamba" = 2Mamba: order 2,`,
		`nn.Preset("2mamba")`:        "2Mamba block: d_model 0, heads 0,",
		`b := nn.Preset("mamba2")
b.DModel, b.Heads = 32, 2
nn.NewLM(nn.ModelConfig{Vocab: 8, Layers: 1, Block: b})`: "Mamba2 LM: ",
	} {
		d, ok, err := s.Eval(context.Background(), cell)
		if err != nil || !ok {
			t.Fatalf("%s: %v", cell, err)
		}
		txt, _ := d.Data[display.MIMEText].(string)
		h, _ := d.Data[display.MIMEHTML].(string)
		if !strings.HasPrefix(txt, want) || !strings.Contains(h, "<table") {
			t.Errorf("%s: text %q, html %.60q", cell, txt, h)
		}
	}
}
