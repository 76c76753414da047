package display

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"strings"

	"github.com/furious-lab/furious/tensor"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figures: each constructor (Heatmap, Lines, Grid) returns a value that
// renders inline as PNG (its MIMEBundle) and prints as one line of text;
// SVG() gives the same drawing as a vector image and Plot() the gonum/plot
// figure underneath, for the settings these helpers do not expose.

// Figure is anything Grid can lay out: a drawing of a preferred size.
// *HeatmapFigure, *LinesFigure, *GridFigure and PlotFigure implement it.
type Figure interface {
	// Draw draws the figure into c, whatever c's size.
	Draw(c draw.Canvas)
	// Size is the preferred width and height.
	Size() (w, h vg.Length)
}

// FigureDPI is the resolution at which figures are rasterised to PNG
// (96: one point is 4/3 pixels, as a browser shows CSS points).
var FigureDPI = 96.0

// PlotFigure wraps a gonum/plot figure for Grid, drawn at PlotSize.
type PlotFigure struct{ P *plot.Plot }

// Draw draws the plot into c.
func (f PlotFigure) Draw(c draw.Canvas) { f.P.Draw(c) }

// Size is PlotSize.
func (f PlotFigure) Size() (w, h vg.Length) { return PlotSize.Width, PlotSize.Height }

// figurePNG rasterises f at its size and FigureDPI.
func figurePNG(f Figure) []byte {
	w, h := f.Size()
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(int(FigureDPI)))
	f.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		panic(fmt.Sprintf("display: encoding a figure as PNG: %v", err))
	}
	return buf.Bytes()
}

// figureImage rasterises f at its size and FigureDPI.
func figureImage(f Figure) image.Image {
	img, err := png.Decode(bytes.NewReader(figurePNG(f)))
	if err != nil {
		panic(fmt.Sprintf("display: decoding a figure's PNG: %v", err))
	}
	return img
}

// figureSVG draws f at its size as an <svg> element (with its namespace,
// without the XML prologue): valid alone as a file and inline in HTML.
func figureSVG(f Figure) string {
	w, h := f.Size()
	c := vgsvg.New(w, h)
	f.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		panic(fmt.Sprintf("display: encoding a figure as SVG: %v", err))
	}
	s := buf.String()
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	return s
}

// figureBundle is the MIME bundle of a figure: image/png and text/plain.
func figureBundle(f Figure, text string) map[string]any {
	return map[string]any{MIMEPNG: figurePNG(f), MIMEText: text}
}

// inches converts a size in inches, refusing what cannot be drawn.
func inches(op string, w, h float64) (vg.Length, vg.Length) {
	if !(w > 0 && h > 0) || math.IsInf(w, 0) || math.IsInf(h, 0) || w*h > 1e4 {
		tensor.Errorf(op, "w, h", "are %g×%g inches; want positive and at most 10⁴ square inches", w, h)
	}
	return vg.Length(w) * vg.Inch, vg.Length(h) * vg.Inch
}

// GridFigure lays out figures in rows of Cols, each in a cell of the
// largest preferred size among them.
type GridFigure struct {
	Cols  int
	Figs  []Figure
	title string
	w, h  vg.Length // 0: from the figures
}

// Grid lays out figs left to right in rows of cols (cols ≤ 0: one row),
// e.g. Grid(2, Heatmap(a), Heatmap(b), Lines(s)). Nil figures leave their
// cell empty.
func Grid(cols int, figs ...Figure) *GridFigure {
	if cols <= 0 {
		cols = max(len(figs), 1)
	}
	return &GridFigure{Cols: cols, Figs: figs}
}

// Title sets a title above the grid.
func (g *GridFigure) Title(s string) *GridFigure { g.title = s; return g }

// SetSize sets the size of the whole grid in inches (default: the largest
// preferred figure size times the rows and columns).
func (g *GridFigure) SetSize(w, h float64) *GridFigure {
	g.w, g.h = inches("display.GridFigure.SetSize", w, h)
	return g
}

// rows is the number of rows of the grid.
func (g *GridFigure) rows() int { return max((len(g.Figs)+g.Cols-1)/g.Cols, 1) }

// titleHeight is the room the title takes.
func (g *GridFigure) titleHeight() vg.Length {
	if g.title == "" {
		return 0
	}
	return 24
}

// Size is the grid's size: SetSize's, or cells of the largest preferred
// size among the figures.
func (g *GridFigure) Size() (w, h vg.Length) {
	if g.w > 0 {
		return g.w, g.h
	}
	var cw, ch vg.Length = 1, 1
	for _, f := range g.Figs {
		if f != nil {
			fw, fh := f.Size()
			cw, ch = max(cw, fw), max(ch, fh)
		}
	}
	return cw * vg.Length(g.Cols), ch*vg.Length(g.rows()) + g.titleHeight()
}

// Draw draws each figure into its cell.
func (g *GridFigure) Draw(c draw.Canvas) {
	c.SetColor(whiteColor)
	c.Fill(c.Rectangle.Path())
	if th := g.titleHeight(); th > 0 {
		sty := draw.TextStyle{Color: blackColor, Font: plot.DefaultFont, Handler: plot.DefaultTextHandler,
			XAlign: draw.XCenter, YAlign: draw.YTop}
		sty.Font.Size = 13
		c.FillText(sty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Max.Y - 4}, g.title)
		c = draw.Crop(c, 0, 0, 0, -th)
	}
	tiles := draw.Tiles{Cols: g.Cols, Rows: g.rows()}
	for i, f := range g.Figs {
		if f != nil {
			f.Draw(tiles.At(c, i%g.Cols, i/g.Cols))
		}
	}
}

// PNG is the grid rasterised at FigureDPI.
func (g *GridFigure) PNG() []byte { return figurePNG(g) }

// SVG is the grid as an <svg> element (a file or inline HTML).
func (g *GridFigure) SVG() string { return figureSVG(g) }

// MIMEBundle renders the grid as image/png.
func (g *GridFigure) MIMEBundle() map[string]any { return figureBundle(g, g.String()) }

// String describes the grid in one line.
func (g *GridFigure) String() string {
	t := ""
	if g.title != "" {
		t = fmt.Sprintf(" %q", g.title)
	}
	return fmt.Sprintf("<grid%s: %d figures in %d×%d>", t, len(g.Figs), g.rows(), g.Cols)
}
