package display

import (
	"bytes"
	"fmt"
	"image"
	"reflect"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// The import-free method sets Render looks for. They are exported so that
// interpreted types implementing them are recognised too.
type (
	MIMEBundler interface{ MIMEBundle() map[string]any }
	HTMLer      interface{ HTML() string }
	Markdowner  interface{ Markdown() string }
	SVGer       interface{ SVG() string }
	PNGer       interface{ PNG() []byte }
	JPEGer      interface{ JPEG() []byte }
	Latexer     interface{ Latex() string }
)

// Renderers lists the method-set interfaces in the order Render tries them.
var Renderers = []reflect.Type{
	reflect.TypeOf((*MIMEBundler)(nil)).Elem(),
	reflect.TypeOf((*HTMLer)(nil)).Elem(),
	reflect.TypeOf((*Markdowner)(nil)).Elem(),
	reflect.TypeOf((*SVGer)(nil)).Elem(),
	reflect.TypeOf((*PNGer)(nil)).Elem(),
	reflect.TypeOf((*JPEGer)(nil)).Elem(),
	reflect.TypeOf((*Latexer)(nil)).Elem(),
	reflect.TypeOf((*fmt.Stringer)(nil)).Elem(),
}

// PlotSize is the size at which Render draws a gonum/plot figure.
var PlotSize = struct{ Width, Height vg.Length }{6 * vg.Inch, 4 * vg.Inch}

// Render turns any value into a Data: a Data as is; a value with one of the
// method sets above; an image.Image as PNG; a *plot.Plot as PNG at
// PlotSize; anything else as text/plain from fmt's %v. A nil value gives an
// empty Data.
func Render(v any) Data {
	switch x := v.(type) {
	case nil:
		return Data{Data: MIMEMap{}}
	case Data:
		return x
	case *Data:
		return *x
	case MIMEBundler:
		return MIME(x.MIMEBundle(), nil).withText(v)
	case HTMLer:
		return HTML(x.HTML()).withText(v)
	case Markdowner:
		return Markdown(x.Markdown()).withText(v)
	case SVGer:
		return SVG(x.SVG()).withText(v)
	case PNGer:
		return PNG(x.PNG()).withText(v)
	case JPEGer:
		return JPEG(x.JPEG()).withText(v)
	case Latexer:
		return Latex(x.Latex()).withText(v)
	case *plot.Plot:
		return Plot(x)
	case image.Image:
		return Image(x)
	}
	return Data{Data: MIMEMap{MIMEText: Text(v)}}
}

// withText sets text/plain from v's String method when it has one.
func (d Data) withText(v any) Data {
	if s, ok := v.(fmt.Stringer); ok {
		d.Data[MIMEText] = s.String()
	}
	return d
}

// Text is the text/plain form of v: String() or Error() when present, a
// quoted string for strings, else fmt's %v.
func Text(v any) string {
	switch x := v.(type) {
	case fmt.Stringer:
		return x.String()
	case error:
		return x.Error()
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprintf("%v", v)
}

// Plot draws a gonum/plot figure as PNG at PlotSize.
func Plot(p *plot.Plot) Data {
	c := vgimg.PngCanvas{Canvas: vgimg.New(PlotSize.Width, PlotSize.Height)}
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return MakeData(MIMEText, "display.Plot: "+err.Error())
	}
	d := PNG(buf.Bytes())
	title := p.Title.Text
	if title == "" {
		title = "plot"
	}
	d.Data[MIMEText] = "<" + title + ">"
	return d
}
