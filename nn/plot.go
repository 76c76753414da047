package nn

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Series is one named curve.
type Series struct {
	Name string
	X, Y []float64
}

// LossPlot is a line chart of loss curves that renders itself as SVG
// (the import-free display method set: a notebook shows any value with an
// SVG() string method as an image).
type LossPlot struct {
	Title  string
	XLabel string // "step" when empty
	YLabel string // "loss" when empty
	Series []Series
}

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"}

// SVG renders the chart (640×400) with axes, ticks and a legend.
func (p LossPlot) SVG() string {
	const W, H, l, r, t, b = 640.0, 400.0, 60.0, 170.0, 30.0, 45.0
	x0, x1, y0, y1 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range p.Series {
		for i := range s.X {
			if math.IsNaN(s.Y[i]) || math.IsInf(s.Y[i], 0) {
				continue
			}
			x0, x1 = math.Min(x0, s.X[i]), math.Max(x1, s.X[i])
			y0, y1 = math.Min(y0, s.Y[i]), math.Max(y1, s.Y[i])
		}
	}
	if x0 > x1 {
		x0, x1, y0, y1 = 0, 1, 0, 1
	}
	if x1 == x0 {
		x1 = x0 + 1
	}
	if y1 == y0 {
		y1 = y0 + 1
	}
	px := func(x float64) float64 { return l + (x-x0)/(x1-x0)*(W-l-r) }
	py := func(y float64) float64 { return H - b - (y-y0)/(y1-y0)*(H-t-b) }
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" font-family="sans-serif" font-size="11">`, W, H)
	fmt.Fprintf(&sb, `<rect width="100%%" height="100%%" fill="white"/><text x="%g" y="18" font-size="13">%s</text>`, l, html.EscapeString(p.Title))
	fmt.Fprintf(&sb, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#444"/>`, l, t, W-l-r, H-t-b)
	for i := 0; i <= 4; i++ {
		xv, yv := x0+(x1-x0)*float64(i)/4, y0+(y1-y0)*float64(i)/4
		fmt.Fprintf(&sb, `<text x="%.1f" y="%g" text-anchor="middle">%.4g</text>`, px(xv), H-b+15, xv)
		fmt.Fprintf(&sb, `<text x="%g" y="%.1f" text-anchor="end">%.4g</text>`, l-4, py(yv)+4, yv)
		fmt.Fprintf(&sb, `<line x1="%g" x2="%g" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, l, W-r, py(yv), py(yv))
	}
	xl, yl := p.XLabel, p.YLabel
	if xl == "" {
		xl = "step"
	}
	if yl == "" {
		yl = "loss"
	}
	fmt.Fprintf(&sb, `<text x="%g" y="%g" text-anchor="middle">%s</text>`, l+(W-l-r)/2, H-8, html.EscapeString(xl))
	fmt.Fprintf(&sb, `<text x="14" y="%g" transform="rotate(-90 14 %g)" text-anchor="middle">%s</text>`, t+(H-t-b)/2, t+(H-t-b)/2, html.EscapeString(yl))
	for k, s := range p.Series {
		col := palette[k%len(palette)]
		var pts []string
		for i := range s.X {
			if !math.IsNaN(s.Y[i]) && !math.IsInf(s.Y[i], 0) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.X[i]), py(s.Y[i])))
			}
		}
		fmt.Fprintf(&sb, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, col, strings.Join(pts, " "))
		ly := t + 14 + 16*float64(k)
		fmt.Fprintf(&sb, `<line x1="%g" x2="%g" y1="%g" y2="%g" stroke="%s" stroke-width="2"/><text x="%g" y="%g">%s</text>`,
			W-r+10, W-r+30, ly-4, ly-4, col, W-r+35, ly, html.EscapeString(s.Name))
	}
	sb.WriteString(`</svg>`)
	return sb.String()
}
