package nn

import (
	"github.com/furious-lab/furious/display"
)

// Series is one named curve (display.Series): Y against X.
type Series = display.Series

// LossPlot is a line chart of loss curves: display.Lines with a legend and
// round ticks, "step" and "loss" as default axis labels. It renders as PNG
// in a notebook (MIMEBundle); SVG gives the vector drawing.
type LossPlot struct {
	Title  string
	XLabel string // "step" when empty
	YLabel string // "loss" when empty
	LogY   bool   // a log loss axis (ticks at 10ⁿ)
	Series []Series
}

// Figure is the chart as a display.LinesFigure, for more options.
func (p LossPlot) Figure() *display.LinesFigure {
	xl, yl := p.XLabel, p.YLabel
	if xl == "" {
		xl = "step"
	}
	if yl == "" {
		yl = "loss"
	}
	f := display.Lines(p.Series...).Title(p.Title).Labels(xl, yl)
	if p.LogY {
		f.LogY()
	}
	return f
}

// SVG renders the chart as an SVG document.
func (p LossPlot) SVG() string { return p.Figure().SVG() }

// MIMEBundle renders the chart as image/png, with String as text/plain.
func (p LossPlot) MIMEBundle() map[string]any {
	b := p.Figure().MIMEBundle()
	b[display.MIMEText] = p.String()
	return b
}

// String describes the chart in one line.
func (p LossPlot) String() string { return p.Figure().String() }
