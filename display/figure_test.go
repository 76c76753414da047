package display

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/furious-lab/furious/tensor"
	"gonum.org/v1/plot"
)

func labels(ticks []plot.Tick) []string {
	var out []string
	for _, t := range ticks {
		if t.Label != "" {
			out = append(out, t.Label)
		}
	}
	return out
}

// TestRoundTicks: the loss plot had ticks 1.229, 77.5, 212.5.
func TestRoundTicks(t *testing.T) {
	cases := []struct {
		lo, hi   float64
		a, b     float64
		want     string
		wantStep float64
	}{
		{1.229, 212.5, 0, 250, "0 50 100 150 200 250", 50},
		{0, 1, 0, 1, "0 0.2 0.4 0.6 0.8 1", 0.2},
		{0, 2, 0, 2, "0 0.5 1 1.5 2", 0.5},
		{-0.37, 0.81, -0.4, 1, "-0.4 -0.2 0 0.2 0.4 0.6 0.8 1", 0.2},
		{1.5e6, 4.2e6, 1.5e6, 4.5e6, "1.5×10^6 2×10^6 2.5×10^6 3×10^6 3.5×10^6 4×10^6 4.5×10^6", 5e5},
		{3, 3, 1.5, 4.5, "1.5 2 2.5 3 3.5 4 4.5", 0.5},
	}
	for _, c := range cases {
		a, b, step := linearRange(c.lo, c.hi)
		if math.Abs(a-c.a) > 1e-12 || math.Abs(b-c.b) > 1e-12 || math.Abs(step-c.wantStep) > 1e-12 {
			t.Errorf("linearRange(%g, %g) = %g, %g step %g, want %g, %g step %g", c.lo, c.hi, a, b, step, c.a, c.b, c.wantStep)
		}
		if got := strings.Join(labels(roundTicks{Step: step}.Ticks(a, b)), " "); got != c.want {
			t.Errorf("ticks of [%g, %g]: %q, want %q", c.lo, c.hi, got, c.want)
		}
	}
	if a, b := decadeRange(0.0031, 12); a != 1e-3 || b != 100 {
		t.Errorf("decadeRange(0.0031, 12) = %g, %g", a, b)
	}
	if got := strings.Join(labels(logTicks{}.Ticks(1e-3, 100)), " "); got != "10^-3 10^-2 10^-1 10^0 10^1 10^2" {
		t.Errorf("log ticks: %q", got)
	}
	if got := strings.Join(labels(logTicks{}.Ticks(1, 10)), " "); got != "10^0 2 5 10^1" {
		t.Errorf("one decade: %q", got)
	}
	if n := len(labels(logTicks{}.Ticks(1e-20, 1e20))); n > 9 {
		t.Errorf("40 decades give %d labels, want ≤ 9", n)
	}
}

// decode is the image of a PNG.
func decode(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	return img
}

// count is the number of pixels of img within 6/255 per channel of c.
func count(img image.Image, c color.Color) int {
	r0, g0, b0, _ := c.RGBA()
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			if absDiff(r, r0) <= 6*257 && absDiff(g, g0) <= 6*257 && absDiff(bb, b0) <= 6*257 {
				n++
			}
		}
	}
	return n
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// mask is a decay-like (n, n) matrix: exp(−0.1·(i−j)) on and below the
// diagonal, −Inf above (like ssd.SegSum's exponent).
func mask(n int) *tensor.Tensor {
	m := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			m[i*n+j] = math.Inf(-1)
			if j <= i {
				m[i*n+j] = math.Exp(-0.1 * float64(i-j))
			}
		}
	}
	return tensor.FromFloat64(m, n, n)
}

func TestHeatmap(t *testing.T) {
	n := 32
	f := Heatmap(mask(n)).Title("mask")
	if s := f.String(); !strings.Contains(s, "32×32") || !strings.Contains(s, `"mask"`) {
		t.Errorf("String() = %q", s)
	}
	img := decode(t, f.PNG())
	w, h := f.Size()
	if got := img.Bounds().Dx(); math.Abs(float64(got)-w.Dots(FigureDPI)) > 1 {
		t.Errorf("PNG is %d px wide, want %.0f", got, w.Dots(FigureDPI))
	}
	_ = h
	// The diagonal (value 1) is yellow, the far corner dark purple, and both
	// ends of the colour map appear in the colour bar.
	lo, hi := Viridis(), Viridis()
	cLo, _ := lo.At(0)
	cHi, _ := hi.At(1)
	if r, g, b, _ := cHi.RGBA(); !(r > 0xd000 && g > 0xd000 && b < 0x6000) {
		t.Errorf("Viridis(1) = %v, want yellow", cHi)
	}
	if r, g, b, _ := cLo.RGBA(); !(r < 0x6000 && g < 0x2000 && b > 0x4000 && b < 0x7000) {
		t.Errorf("Viridis(0) = %v, want dark purple", cLo)
	}
	top := f.ColorAt(1)
	if d := count(img, top); d < 200 {
		t.Errorf("%d pixels have the colour of 1, want the diagonal and the bar's top", d)
	}
	bottom := f.ColorAt(math.Exp(-0.1 * float64(n-1)))
	if d := count(img, bottom); d < 50 {
		t.Errorf("%d pixels have the colour of the smallest value", d)
	}
	// The −Inf half is white: well over a third of the figure.
	if d := count(img, color.White); d < img.Bounds().Dx()*img.Bounds().Dy()/3 {
		t.Errorf("only %d white pixels", d)
	}
	if svg := f.SVG(); !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Errorf("SVG() is not an <svg> element: %.80q", svg)
	} else if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Errorf("SVG() does not parse: %v", err)
	}
	d := Render(f)
	if _, ok := d.Data[MIMEPNG].([]byte); !ok || d.Data[MIMEText] != f.String() {
		t.Errorf("Render gives %v", d.Data[MIMEText])
	}
}

func TestHeatmapOptions(t *testing.T) {
	x := tensor.FromFloat64([]float64{-2, 0, 1, 0.5}, 2, 2)
	f := Heatmap(x).Diverging()
	if s := f.String(); !strings.Contains(s, "-2…2") {
		t.Errorf("diverging range not symmetric: %s", s)
	}
	r, g, b, _ := f.ColorAt(0).RGBA()
	if absDiff(r, g) > 0x1800 || absDiff(g, b) > 0x1800 {
		t.Errorf("diverging 0 is %v, want grey", f.ColorAt(0))
	}
	r1, _, b1, _ := f.ColorAt(2).RGBA()
	r2, _, b2, _ := f.ColorAt(-2).RGBA()
	if !(r1 > b1 && b2 > r2) {
		t.Error("diverging: positive is not red or negative not blue")
	}
	f.Range(0, 10)
	if f.ColorAt(-5) != f.ColorAt(0) {
		t.Error("values below Range do not take the end colour")
	}
	// A rank-3 tensor with a leading 1 is its last two axes; otherwise an error.
	Heatmap(tensor.Zeros(1, 3, 4))
	err := tensor.Catch(func() { Heatmap(tensor.Zeros(2, 3, 4)) })
	var te *tensor.Error
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "display.Heatmap") || !strings.Contains(err.Error(), "(2,3,4)") {
		t.Errorf("rank-3 error: %v", err)
	}
	if err := tensor.Catch(func() { Heatmap(tensor.Zeros(5)) }); err == nil {
		t.Error("1-D tensor accepted")
	}
	// A constant matrix and one with no finite value still draw.
	decode(t, Heatmap(tensor.Full(3, 2, 2)).PNG())
	decode(t, Heatmap(tensor.Full(math.NaN(), 2, 2)).PNG())
}

func TestLines(t *testing.T) {
	x := []float64{0, 100, 200}
	f := Lines(Series{Name: "train", X: x, Y: []float64{212.5, 77.5, 1.229}}).
		Points("test", x, []float64{200, 80, 3}).VLine("N", 150).Title("loss").Labels("step", "loss")
	p := f.Plot()
	if p.Y.Min != 0 || p.Y.Max != 250 || p.X.Min != 0 || p.X.Max != 200 || p.X.Tick.Marker.(roundTicks).Step != 50 {
		t.Errorf("axes [%g, %g] × [%g, %g], want round ends", p.X.Min, p.X.Max, p.Y.Min, p.Y.Max)
	}
	if got := strings.Join(labels(p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max)), " "); got != "0 50 100 150 200 250" {
		t.Errorf("y ticks %q", got)
	}
	if s := f.String(); s != `<lines "loss": train, test, N; x linear, y linear>` {
		t.Errorf("String() = %s", s)
	}
	img := decode(t, f.PNG())
	if img.Bounds().Dx() < 400 {
		t.Errorf("PNG %v", img.Bounds())
	}
	// Log axis: non-positive and non-finite points are left out, the range
	// is whole decades.
	if p := Lines().Line("a", nil, make([]float64, 64)).Plot(); p.X.Min != 0 || p.X.Max != 63 {
		t.Errorf("x axis [%g, %g], want the data's [0, 63]", p.X.Min, p.X.Max)
	}
	g := Lines().Line("a", nil, []float64{0.03, 0, -1, math.NaN(), 5}).LogY()
	p = g.Plot()
	if p.Y.Min != 0.01 || p.Y.Max != 10 || p.X.Min != 0 || p.X.Max != 4 {
		t.Errorf("log axes [%g, %g] × [%g, %g]", p.X.Min, p.X.Max, p.Y.Min, p.Y.Max)
	}
	decode(t, g.PNG())
	decode(t, Lines().PNG()) // empty: axes only
	err := tensor.Catch(func() { Lines(Series{Name: "bad", X: []float64{1, 2}, Y: []float64{1}}) })
	if err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("length mismatch: %v", err)
	}
	h := Lines().Tensor("t", tensor.FromFloat64([]float64{1, 2, 3}, 1, 3))
	if len(h.series[0].Y) != 3 {
		t.Error("Tensor: wrong length")
	}
	if err := tensor.Catch(func() { Lines().Tensor("t", tensor.Zeros(2, 3)) }); err == nil {
		t.Error("2-D tensor accepted as a series")
	}
}

func TestGrid(t *testing.T) {
	a, b := Heatmap(mask(8)), Lines().Line("x", nil, []float64{1, 2})
	g := Grid(2, a, b, a).Title("three")
	w, h := g.Size()
	aw, ah := a.Size()
	bw, bh := b.Size()
	if w != 2*max(aw, bw) || h != 2*max(ah, bh)+g.titleHeight() {
		t.Errorf("grid size %v×%v", w, h)
	}
	img := decode(t, g.PNG())
	if math.Abs(float64(img.Bounds().Dx())-w.Dots(FigureDPI)) > 1 {
		t.Errorf("grid PNG %v", img.Bounds())
	}
	if s := g.String(); s != `<grid "three": 3 figures in 2×2>` {
		t.Errorf("String() = %s", s)
	}
	if g := Grid(0, a, b); g.Cols != 2 {
		t.Errorf("Grid(0, …) has %d columns, want one row", g.Cols)
	}
	if g := Grid(3, PlotFigure{plot.New()}, nil); g.String() == "" {
		t.Error("no String")
	} else {
		decode(t, g.PNG())
	}
}

func TestFigureArgumentErrors(t *testing.T) {
	for name, f := range map[string]func(){
		"Range":   func() { Heatmap(mask(2)).Range(1, 1) },
		"SetSize": func() { Lines().SetSize(0, 3) },
		"Grid":    func() { Grid(1).SetSize(math.Inf(1), 1) },
	} {
		err := tensor.Catch(f)
		var te *tensor.Error
		if !errors.As(err, &te) || !strings.Contains(err.Error(), "display.") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
