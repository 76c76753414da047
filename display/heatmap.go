package display

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/furious-lab/furious/tensor"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

var (
	whiteColor = color.White
	blackColor = color.Black
)

// Viridis returns a new perceptual colour map from dark purple through
// blue and green to yellow, with lightness rising evenly (interpolated in
// CIE L*a*b* between viridis's anchor colours); its range is [0, 1] until
// SetMin / SetMax change it.
func Viridis() palette.ColorMap {
	cm, err := moreland.NewLuminance([]color.Color{
		color.NRGBA{68, 1, 84, 255}, color.NRGBA{59, 82, 139, 255}, color.NRGBA{33, 145, 140, 255},
		color.NRGBA{94, 201, 98, 255}, color.NRGBA{253, 231, 37, 255}})
	if err != nil {
		panic("display.Viridis: " + err.Error())
	}
	cm.SetMin(0)
	cm.SetMax(1)
	return cm
}

// Diverging returns a new diverging colour map for signed data: blue below
// the middle of its range, light grey at the middle, red above
// (Moreland's smooth blue-red); range [-1, 1] until SetMin / SetMax.
func Diverging() palette.ColorMap {
	cm := moreland.SmoothBlueRed()
	cm.SetMin(-1)
	cm.SetMax(1)
	return cm
}

// HeatmapFigure is a 2-D tensor drawn as coloured cells, row 0 at the top,
// with a colour bar. Build it with Heatmap; the methods set options and
// return the figure, so they chain.
type HeatmapFigure struct {
	rows, cols     int
	z              []float64 // row-major values
	lo, hi         float64   // colour range
	fixed          bool      // lo, hi set by Range
	diverging      bool
	cmap           palette.ColorMap // nil: Viridis or Diverging
	title          string
	xLabel, yLabel string
	w, h           vg.Length
}

// Heatmap draws the (rows, cols) tensor m: entry (i, j) is the cell in
// row i from the top and column j from the left, coloured by the
// perceptual Viridis map over the finite values' range (NaN and ±Inf cells
// stay white, such as the −Inf above a segment-sum's diagonal), with a
// colour bar. A tensor of rank > 2 whose leading axes are 1 is drawn as its
// last two axes. Options: Title, Labels, Range, Diverging, ColorMap,
// SetSize.
func Heatmap(m *tensor.Tensor) *HeatmapFigure {
	const op = "display.Heatmap"
	if m == nil {
		tensor.Errorf(op, "m", "is nil")
	}
	sh := m.Shape()
	r := len(sh)
	lead := 1
	for _, d := range sh[:max(r-2, 0)] {
		lead *= d
	}
	if r < 2 || lead != 1 {
		tensor.CheckShape(op, "m", sh, "(rows, cols)", -1, -1)
	}
	f := &HeatmapFigure{rows: sh[r-2], cols: sh[r-1], z: m.As(tensor.Float64).Float64s(), w: 5.2 * vg.Inch, h: 4.2 * vg.Inch,
		xLabel: "column", yLabel: "row"}
	f.lo, f.hi = math.Inf(1), math.Inf(-1)
	for _, v := range f.z {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			f.lo, f.hi = math.Min(f.lo, v), math.Max(f.hi, v)
		}
	}
	if f.lo > f.hi { // no finite value
		f.lo, f.hi = 0, 1
	}
	return f
}

// Title sets the title.
func (f *HeatmapFigure) Title(s string) *HeatmapFigure { f.title = s; return f }

// Labels sets the axis labels (default "column" and "row").
func (f *HeatmapFigure) Labels(x, y string) *HeatmapFigure { f.xLabel, f.yLabel = x, y; return f }

// Range fixes the colour range to [lo, hi] (values outside take the end
// colours), so that several heat maps share one scale.
func (f *HeatmapFigure) Range(lo, hi float64) *HeatmapFigure {
	if !(lo < hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		tensor.Errorf("display.HeatmapFigure.Range", "lo, hi", "are %g, %g; want finite lo < hi", lo, hi)
	}
	f.lo, f.hi, f.fixed = lo, hi, true
	return f
}

// Diverging colours signed data with the Diverging map over a range
// symmetric about 0 (±max |value| unless Range fixed it), so 0 is grey.
func (f *HeatmapFigure) Diverging() *HeatmapFigure { f.diverging = true; return f }

// ColorMap colours the cells with cm (any palette.ColorMap: moreland's or
// one written in a cell); its range is set to the figure's.
func (f *HeatmapFigure) ColorMap(cm palette.ColorMap) *HeatmapFigure { f.cmap = cm; return f }

// SetSize sets the size in inches (default 5.2 × 4.2).
func (f *HeatmapFigure) SetSize(w, h float64) *HeatmapFigure {
	f.w, f.h = inches("display.HeatmapFigure.SetSize", w, h)
	return f
}

// Size is the figure's size.
func (f *HeatmapFigure) Size() (w, h vg.Length) { return f.w, f.h }

// colorRange is the range the colours span.
func (f *HeatmapFigure) colorRange() (lo, hi float64) {
	lo, hi = f.lo, f.hi
	if f.diverging && !f.fixed {
		m := math.Max(math.Abs(lo), math.Abs(hi))
		if m == 0 {
			m = 1
		}
		lo, hi = -m, m
	}
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	return lo, hi
}

// colorMap is the colour map with the figure's range.
func (f *HeatmapFigure) colorMap() palette.ColorMap {
	cm := f.cmap
	switch {
	case cm != nil:
	case f.diverging:
		cm = Diverging()
	default:
		cm = Viridis()
	}
	lo, hi := f.colorRange()
	// SetMin before SetMax would fail when the new min is above the old max.
	if lo >= cm.Max() {
		cm.SetMax(hi)
		cm.SetMin(lo)
	} else {
		cm.SetMin(lo)
		cm.SetMax(hi)
	}
	return cm
}

// ColorAt is the colour of value v (clamped to the colour range).
func (f *HeatmapFigure) ColorAt(v float64) color.Color {
	return clampedColor(f.colorMap(), v)
}

// clampedColor is cm's colour at v, the end colours outside its range.
func clampedColor(cm palette.ColorMap, v float64) color.Color {
	v = math.Max(cm.Min(), math.Min(cm.Max(), v))
	c, err := cm.At(v)
	if err != nil {
		panic("display: colour map: " + err.Error())
	}
	return c
}

// Plot returns the heat map without its colour bar as a gonum/plot figure.
func (f *HeatmapFigure) Plot() *plot.Plot {
	p := plot.New()
	p.Title.Text = f.title
	p.X.Label.Text, p.Y.Label.Text = f.xLabel, f.yLabel
	p.Add(&cells{f: f, cm: f.colorMap()})
	p.X.Min, p.X.Max = -0.5, float64(f.cols)-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(f.rows)-0.5
	p.Y.Scale = plot.InvertedScale{Normalizer: plot.LinearScale{}}
	p.X.Tick.Marker, p.Y.Tick.Marker = indexTicks{}, indexTicks{}
	return p
}

// colorBar is the colour bar's plot.
func (f *HeatmapFigure) colorBar() *plot.Plot {
	cm := f.colorMap()
	p := plot.New()
	p.HideX()
	p.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
	lo, hi := cm.Min(), cm.Max()
	roundAxis(&p.Y, lo, hi, false, false)
	p.Y.Min, p.Y.Max = lo, hi // the bar spans the colour range exactly
	p.Y.Padding, p.X.Padding = 0, 0
	return p
}

// Draw draws the heat map and, on its right, the colour bar spanning the
// height of the cells.
func (f *HeatmapFigure) Draw(c draw.Canvas) {
	c.SetColor(whiteColor)
	c.Fill(c.Rectangle.Path())
	const barW, barGap = 0.95 * vg.Inch, 0.1 * vg.Inch
	main := draw.Crop(c, 0, -(barW + barGap), 0, 0)
	p := f.Plot()
	p.Draw(main)
	da := p.DataCanvas(main)
	bar := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
		Min: vg.Point{X: c.Max.X - barW, Y: da.Min.Y},
		Max: vg.Point{X: c.Max.X - barW + 0.55*vg.Inch, Y: da.Max.Y}}}
	f.colorBar().Draw(bar)
}

// PNG is the figure rasterised at FigureDPI.
func (f *HeatmapFigure) PNG() []byte { return figurePNG(f) }

// Image is the figure rasterised at FigureDPI.
func (f *HeatmapFigure) Image() image.Image { return figureImage(f) }

// SVG is the figure as an <svg> element (a file or inline HTML).
func (f *HeatmapFigure) SVG() string { return figureSVG(f) }

// MIMEBundle renders the figure as image/png.
func (f *HeatmapFigure) MIMEBundle() map[string]any { return figureBundle(f, f.String()) }

// String describes the figure in one line.
func (f *HeatmapFigure) String() string {
	lo, hi := f.colorRange()
	t := ""
	if f.title != "" {
		t = fmt.Sprintf(" %q", f.title)
	}
	return fmt.Sprintf("<heat map%s: %d×%d, colours %s…%s>", t, f.rows, f.cols,
		formatValue(lo), formatValue(hi))
}

// formatValue formats v compactly for text.
func formatValue(v float64) string { return fmt.Sprintf("%.4g", v) }

// cells is the plot.Plotter that draws a HeatmapFigure's values as one
// image of exactly the data area's pixels (nearest cell per pixel), so the
// cells stay crisp at any size.
type cells struct {
	f  *HeatmapFigure
	cm palette.ColorMap
}

// DataRange is the cells' extent: cell (i, j) covers [j−½, j+½]×[i−½, i+½].
func (h *cells) DataRange() (xmin, xmax, ymin, ymax float64) {
	return -0.5, float64(h.f.cols) - 0.5, -0.5, float64(h.f.rows) - 0.5
}

// Plot draws the cells into the data area of c.
func (h *cells) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	x0, x1 := trX(-0.5), trX(float64(h.f.cols)-0.5)
	y0, y1 := trY(-0.5), trY(float64(h.f.rows)-0.5) // y0 is the top (inverted axis)
	rect := vg.Rectangle{Min: vg.Point{X: min(x0, x1), Y: min(y0, y1)}, Max: vg.Point{X: max(x0, x1), Y: max(y0, y1)}}
	dpi := 72.0
	if d, ok := c.Canvas.(interface{ DPI() float64 }); ok {
		dpi = d.DPI()
	}
	pw := max(int(math.Round(rect.Size().X.Dots(dpi))), h.f.cols) // at least a pixel per cell
	ph := max(int(math.Round(rect.Size().Y.Dots(dpi))), h.f.rows)
	pal := make([]color.NRGBA, 256)
	lo, hi := h.cm.Min(), h.cm.Max()
	for k := range pal {
		pal[k] = color.NRGBAModel.Convert(clampedColor(h.cm, lo+(hi-lo)*float64(k)/255)).(color.NRGBA)
	}
	img := image.NewNRGBA(image.Rect(0, 0, pw, ph))
	for py := 0; py < ph; py++ {
		i := py * h.f.rows / ph // row from the top
		for px := 0; px < pw; px++ {
			j := px * h.f.cols / pw
			v := h.f.z[i*h.f.cols+j]
			col := color.NRGBA{255, 255, 255, 255}
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				k := int(math.Round((v - lo) / (hi - lo) * 255))
				col = pal[max(0, min(255, k))]
			}
			img.SetNRGBA(px, py, col)
		}
	}
	c.DrawImage(rect, img)
}

// indexTicks labels integer positions (row and column indices) at a round
// step, without widening the range.
type indexTicks struct{}

// Ticks returns ticks at every index up to 12 of them, else at multiples
// of a step in {1, 2, 2.5, 5} × 10ᵏ (an integer) within [lo, hi].
func (indexTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 1.0
	if hi-lo > 12 {
		step = math.Max(1, niceStep(lo, hi))
	}
	if step == 2.5 {
		step = 2
	}
	var out []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		out = append(out, plot.Tick{Value: v, Label: fmt.Sprint(int(v))})
	}
	return out
}
