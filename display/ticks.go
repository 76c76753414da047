package display

import (
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// Round axis ticks: a linear axis gets 4 to 8 ticks at multiples of
// 1, 2, 2.5 or 5 × 10ᵏ (at most 6 intervals) and its range widened to the outer ticks
// (0, 0.5, 1, 1.5); a log axis gets whole decades labelled 10ⁿ with
// unlabelled minor ticks at 2…9 × 10ⁿ, and its range widened to whole
// decades.

// niceStep is the tick step for [lo, hi]: the smallest m·10ᵏ, m ∈ {1, 2,
// 2.5, 5}, giving at most 6 intervals (hi > lo, both finite).
func niceStep(lo, hi float64) float64 {
	span := hi - lo
	k := math.Floor(math.Log10(span / 6))
	for {
		p := math.Pow(10, k)
		for _, m := range []float64{1, 2, 2.5, 5} {
			if step := m * p; span/step <= 6+1e-9 {
				return step
			}
		}
		k++
	}
}

// linearRange widens [lo, hi] to multiples of its nice step and returns the
// new range and the step. An empty or degenerate range becomes one around
// its value.
func linearRange(lo, hi float64) (a, b, step float64) {
	if !(lo <= hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		lo, hi = 0, 1
	}
	if lo == hi {
		d := math.Max(math.Abs(lo)/2, 0.5)
		lo, hi = lo-d, hi+d
	}
	step = niceStep(lo, hi)
	a, b = math.Floor(lo/step+1e-9)*step, math.Ceil(hi/step-1e-9)*step
	if b-a < step/2 { // rounding ate the range
		b = a + step
	}
	return a, b, step
}

// formatTick formats v, a multiple of step, with no more digits than the
// step needs: 0, 0.5, 1, 2.5, 1e+06 for large or small magnitudes.
func formatTick(v, step float64) string {
	if math.Abs(v) < step*1e-6 {
		return "0"
	}
	if a := math.Max(math.Abs(v), step); a >= 1e6 || step < 1e-4 {
		s := strconv.FormatFloat(v, 'e', decimals(step/math.Pow(10, math.Floor(math.Log10(a)))), 64)
		m, e, _ := strings.Cut(s, "e")
		n, _ := strconv.Atoi(e)
		return trimZeros(m) + "×10^" + strconv.Itoa(n)
	}
	return trimZeros(strconv.FormatFloat(v, 'f', decimals(step), 64))
}

// trimZeros drops a decimal part's trailing zeros: "1.50" → "1.5", "2.0" → "2".
func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// decimals is the number of decimals a multiple of step needs (step > 0).
func decimals(step float64) int {
	for d := 0; d < 15; d++ {
		s := step * math.Pow(10, float64(d))
		if math.Abs(s-math.Round(s)) < 1e-6*s {
			return d
		}
	}
	return 15
}

// power is the tick label 10ⁿ as powerText draws it.
func power(n int) string { return "10^" + strconv.Itoa(n) }

// powerText is the text handler of tick labels: "B^E" is drawn as B with
// E raised in a smaller size (the default font lacks superscript 0, 9 and
// minus, and gonum's LaTeX handler has no superscripts); other labels as
// text.Plain draws them.
type powerText struct{ text.Plain }

// tickText is the handler roundAxis gives tick labels.
var tickText = powerText{text.Plain{Fonts: font.DefaultCache}}

// split cuts a label into base and exponent (ok false without "^").
func (powerText) split(txt string) (base, exp string, ok bool) { return strings.Cut(txt, "^") }

// expFont is the exponent's font: 70% of fnt.
func expFont(fnt font.Font) font.Font { fnt.Size = fnt.Size * 0.7; return fnt }

// Box is the label's extent: the base's plus the raised exponent's.
func (h powerText) Box(txt string, fnt font.Font) (width, height, depth vg.Length) {
	base, exp, ok := h.split(txt)
	if !ok {
		return h.Plain.Box(txt, fnt)
	}
	wb, hb, db := h.Plain.Box(base, fnt)
	we, he, _ := h.Plain.Box(exp, expFont(fnt))
	return wb + we, max(hb, he+0.45*fnt.Size), db
}

// Draw draws the label aligned as sty says (no rotation for exponents).
func (h powerText) Draw(c vg.Canvas, txt string, sty text.Style, pt vg.Point) {
	base, exp, ok := h.split(txt)
	if !ok || sty.Rotation != 0 {
		h.Plain.Draw(c, txt, sty, pt)
		return
	}
	fb := h.Fonts.Lookup(sty.Font, sty.Font.Size)
	fe := h.Fonts.Lookup(expFont(sty.Font), expFont(sty.Font).Size)
	wb, we := fb.Width(base), fe.Width(exp)
	x := pt.X + vg.Length(sty.XAlign)*(wb+we)
	y := pt.Y + sty.Height(base)*vg.Length(sty.YAlign) - fb.Extents().Ascent + sty.Font.Size
	c.SetColor(sty.Color)
	c.FillString(fb, vg.Point{X: x, Y: y}, base)
	c.FillString(fe, vg.Point{X: x + wb, Y: y + 0.45*sty.Font.Size}, exp)
}

// roundAxis gives ax round ticks over the data range [lo, hi]: on a log
// axis whole decades with logTicks, the range widened to them; on a linear
// one multiples of a round step with roundTicks, the range widened to them
// when widen is set (a y axis) and kept to the data otherwise (an x axis,
// which ends where the data does). Labels are drawn through tickText.
// Without data (lo > hi) the range is [1, 10] or [0, 1].
func roundAxis(ax *plot.Axis, lo, hi float64, log, widen bool) {
	ax.Tick.Label.Handler = tickText
	if log {
		if lo > hi {
			lo, hi = 1, 10
		}
		ax.Scale, ax.Tick.Marker = plot.LogScale{}, logTicks{}
		ax.Min, ax.Max = decadeRange(lo, hi)
		return
	}
	if lo > hi {
		lo, hi = 0, 1
	}
	a, b, step := linearRange(lo, hi)
	if widen || lo == hi {
		ax.Min, ax.Max = a, b
	} else {
		ax.Min, ax.Max = lo, hi
	}
	ax.Tick.Marker = roundTicks{Step: step}
}

// roundTicks is the plot.Ticker of a linear axis: a labelled tick at every
// multiple of Step in the range (Step 0: linearRange's step of the range).
type roundTicks struct{ Step float64 }

// Ticks returns the ticks in [lo, hi].
func (r roundTicks) Ticks(lo, hi float64) []plot.Tick {
	step := r.Step
	if step <= 0 {
		_, _, step = linearRange(lo, hi)
	}
	var out []plot.Tick
	for i := math.Ceil(lo/step - 1e-9); i*step <= hi+step*1e-9; i++ {
		v := i * step
		out = append(out, plot.Tick{Value: v, Label: formatTick(v, step)})
	}
	return out
}

// decadeRange widens [lo, hi] (lo > 0) to whole decades.
func decadeRange(lo, hi float64) (a, b float64) {
	if !(lo > 0 && hi >= lo) || math.IsInf(hi, 0) {
		return 1, 10
	}
	a, b = math.Pow(10, math.Floor(math.Log10(lo)+1e-9)), math.Pow(10, math.Ceil(math.Log10(hi)-1e-9))
	if b <= a {
		b = a * 10
	}
	return a, b
}

// logTicks is the plot.Ticker of a log axis: 10ⁿ labelled, 2…9 × 10ⁿ as
// minor ticks; with a single decade, 2 and 5 × 10ⁿ are labelled too, and
// with more than 8 decades only every second or third decade is.
type logTicks struct{}

// Ticks returns the ticks in [lo, hi].
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) {
		return nil
	}
	e0, e1 := int(math.Floor(math.Log10(lo)+1e-9)), int(math.Ceil(math.Log10(hi)-1e-9))
	every := 1 + (e1-e0-1)/8
	var out []plot.Tick
	for e := e0; e <= e1; e++ {
		p := math.Pow(10, float64(e))
		lab := ""
		if (e-e0)%every == 0 {
			lab = power(e)
		}
		out = append(out, plot.Tick{Value: p, Label: lab})
		if e == e1 {
			break
		}
		for m := 2; m <= 9; m++ {
			t := plot.Tick{Value: float64(m) * p}
			if e1-e0 == 1 && (m == 2 || m == 5) {
				t.Label = formatTick(t.Value, p)
			}
			out = append(out, t)
		}
	}
	var in []plot.Tick
	for _, t := range out {
		if t.Value >= lo*(1-1e-9) && t.Value <= hi*(1+1e-9) {
			in = append(in, t)
		}
	}
	return in
}
