package display

import (
	"fmt"
	"image"
	"math"
	"strings"

	"github.com/furious-lab/furious/tensor"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one named curve: Y against X (X nil: 0, 1, 2, …).
type Series struct {
	Name string
	X, Y []float64
}

// LinesFigure is a line plot of named series with a legend and round
// ticks on linear or log axes. Build it with Lines; the methods add
// series and set options and return the figure, so they chain.
type LinesFigure struct {
	series         []lineSeries
	vlines         []lineSeries // vertical markers: X[0] is the position
	title          string
	xLabel, yLabel string
	logX, logY     bool
	yMin, yMax     float64 // NaN: from the data
	legendLeft     bool
	legendBottom   bool
	w, h           vg.Length
}

// lineSeries is a Series with its drawing style.
type lineSeries struct {
	Series
	points bool // markers at the points
	dashed bool
}

// Lines returns a line plot of the given series (add more with Line,
// Points, Tensor), each in its own colour with a legend entry, on linear
// axes with round ticks (LogX, LogY for log axes with ticks at 10ⁿ): the
// y axis is widened to its outer ticks, the x axis spans the data.
// Points that are NaN or ±Inf, or ≤ 0 on a log axis, are left out.
func Lines(series ...Series) *LinesFigure {
	f := &LinesFigure{w: 6 * vg.Inch, h: 3.8 * vg.Inch, yMin: math.NaN(), yMax: math.NaN()}
	for _, s := range series {
		f.add(s, false, false)
	}
	return f
}

// add appends s after checking its lengths.
func (f *LinesFigure) add(s Series, points, dashed bool) {
	if s.X != nil && len(s.X) != len(s.Y) {
		tensor.Errorf("display.Lines", "series "+s.Name, "has %d x values and %d y values", len(s.X), len(s.Y))
	}
	f.series = append(f.series, lineSeries{Series: s, points: points, dashed: dashed})
}

// Line adds the series name: y against x (x nil: 0, 1, 2, …).
func (f *LinesFigure) Line(name string, x, y []float64) *LinesFigure {
	f.add(Series{Name: name, X: x, Y: y}, false, false)
	return f
}

// Points adds the series name drawn as a line with a marker at each point.
func (f *LinesFigure) Points(name string, x, y []float64) *LinesFigure {
	f.add(Series{Name: name, X: x, Y: y}, true, false)
	return f
}

// Dashed adds the series name drawn as a dashed line.
func (f *LinesFigure) Dashed(name string, x, y []float64) *LinesFigure {
	f.add(Series{Name: name, X: x, Y: y}, false, true)
	return f
}

// Tensor adds the values of a 1-D tensor y (any rank with one axis longer
// than 1) against 0, 1, 2, ….
func (f *LinesFigure) Tensor(name string, y *tensor.Tensor) *LinesFigure {
	n := 0
	for _, d := range y.Shape() {
		if d > 1 {
			n++
		}
	}
	if n > 1 {
		tensor.CheckShape("display.LinesFigure.Tensor", "y", y.Shape(), "(n)", -1)
	}
	f.add(Series{Name: name, Y: y.As(tensor.Float64).Float64s()}, false, false)
	return f
}

// VLine adds a dashed vertical line at x with a legend entry name (a
// crossover, a threshold).
func (f *LinesFigure) VLine(name string, x float64) *LinesFigure {
	f.vlines = append(f.vlines, lineSeries{Series: Series{Name: name, X: []float64{x}}, dashed: true})
	return f
}

// Title sets the title.
func (f *LinesFigure) Title(s string) *LinesFigure { f.title = s; return f }

// Labels sets the axis labels.
func (f *LinesFigure) Labels(x, y string) *LinesFigure { f.xLabel, f.yLabel = x, y; return f }

// LogX makes the x axis logarithmic.
func (f *LinesFigure) LogX() *LinesFigure { f.logX = true; return f }

// LogY makes the y axis logarithmic.
func (f *LinesFigure) LogY() *LinesFigure { f.logY = true; return f }

// YRange fixes the y range (before rounding to ticks); NaN keeps the
// data's end.
func (f *LinesFigure) YRange(lo, hi float64) *LinesFigure { f.yMin, f.yMax = lo, hi; return f }

// Legend places the legend: "top right" (default), "top left", "bottom
// right" or "bottom left".
func (f *LinesFigure) Legend(where string) *LinesFigure {
	f.legendLeft = strings.Contains(where, "left")
	f.legendBottom = strings.Contains(where, "bottom")
	return f
}

// SetSize sets the size in inches (default 6 × 3.8).
func (f *LinesFigure) SetSize(w, h float64) *LinesFigure {
	f.w, f.h = inches("display.LinesFigure.SetSize", w, h)
	return f
}

// Size is the figure's size.
func (f *LinesFigure) Size() (w, h vg.Length) { return f.w, f.h }

// points are s's drawable points on the figure's axes.
func (f *LinesFigure) points(s Series) plotter.XYs {
	var out plotter.XYs
	for i, y := range s.Y {
		x := float64(i)
		if s.X != nil {
			x = s.X[i]
		}
		if bad(x, f.logX) || bad(y, f.logY) {
			continue
		}
		out = append(out, plotter.XY{X: x, Y: y})
	}
	return out
}

// bad reports a value that cannot be drawn: NaN, ±Inf, or ≤ 0 on a log axis.
func bad(v float64, log bool) bool { return math.IsNaN(v) || math.IsInf(v, 0) || (log && v <= 0) }

// Plot returns the figure as a gonum/plot figure.
func (f *LinesFigure) Plot() *plot.Plot {
	p := plot.New()
	p.Title.Text = f.title
	p.X.Label.Text, p.Y.Label.Text = f.xLabel, f.yLabel
	p.Add(plotter.NewGrid())
	xlo, xhi, ylo, yhi := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for k, s := range f.series {
		pts := f.points(s.Series)
		for _, q := range pts {
			xlo, xhi, ylo, yhi = math.Min(xlo, q.X), math.Max(xhi, q.X), math.Min(ylo, q.Y), math.Max(yhi, q.Y)
		}
		col := plotutil.Color(k)
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			panic("display.Lines: " + err.Error())
		}
		l.Color, l.Width = col, vg.Points(1.5)
		if s.dashed {
			l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		thumbs := []plot.Thumbnailer{l}
		p.Add(l)
		if s.points {
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				panic("display.Lines: " + err.Error())
			}
			sc.Color, sc.Shape = col, draw.CircleGlyph{}
			sc.Radius = vg.Points(2.5)
			p.Add(sc)
			thumbs = append(thumbs, sc)
		}
		p.Legend.Add(s.Name, thumbs...)
	}
	for _, v := range f.vlines {
		if x := v.X[0]; !bad(x, f.logX) {
			xlo, xhi = math.Min(xlo, x), math.Max(xhi, x)
		}
	}
	if !math.IsNaN(f.yMin) {
		ylo = f.yMin
	}
	if !math.IsNaN(f.yMax) {
		yhi = f.yMax
	}
	roundAxis(&p.X, xlo, xhi, f.logX, false)
	roundAxis(&p.Y, ylo, yhi, f.logY, true)
	for k, v := range f.vlines {
		if bad(v.X[0], f.logX) {
			continue
		}
		l, _ := plotter.NewLine(plotter.XYs{{X: v.X[0], Y: p.Y.Min}, {X: v.X[0], Y: p.Y.Max}})
		l.Color, l.Width = plotutil.Color(len(f.series)+k), vg.Points(1.2)
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(v.Name, l)
	}
	p.Legend.Top, p.Legend.Left = !f.legendBottom, f.legendLeft
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(6), -vg.Points(4)
	if f.legendLeft {
		p.Legend.XOffs = vg.Points(6)
	}
	if f.legendBottom {
		p.Legend.YOffs = vg.Points(4)
	}
	p.Legend.Padding = vg.Points(2)
	return p
}

// Draw draws the figure into c.
func (f *LinesFigure) Draw(c draw.Canvas) {
	c.SetColor(whiteColor)
	c.Fill(c.Rectangle.Path())
	f.Plot().Draw(c)
}

// PNG is the figure rasterised at FigureDPI.
func (f *LinesFigure) PNG() []byte { return figurePNG(f) }

// Image is the figure rasterised at FigureDPI.
func (f *LinesFigure) Image() image.Image { return figureImage(f) }

// SVG is the figure as an <svg> element (a file or inline HTML).
func (f *LinesFigure) SVG() string { return figureSVG(f) }

// MIMEBundle renders the figure as image/png.
func (f *LinesFigure) MIMEBundle() map[string]any { return figureBundle(f, f.String()) }

// String describes the figure in one line.
func (f *LinesFigure) String() string {
	names := make([]string, 0, len(f.series)+len(f.vlines))
	for _, s := range append(append([]lineSeries{}, f.series...), f.vlines...) {
		names = append(names, s.Name)
	}
	scale := func(log bool) string {
		if log {
			return "log"
		}
		return "linear"
	}
	t := ""
	if f.title != "" {
		t = fmt.Sprintf(" %q", f.title)
	}
	return fmt.Sprintf("<lines%s: %s; x %s, y %s>", t, strings.Join(names, ", "), scale(f.logX), scale(f.logY))
}
