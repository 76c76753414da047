package tensor

import (
	"fmt"
	"math"
	"strings"
)

// String shows the shape, dtype, device and a few values:
//
//	Tensor(2,3) float32 cpu
//	[[0.1 -1.2 0.5]
//	 [2 0 1]]
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%s %s %s", ShapeString(t.shape), t.dtype, t.Device())
	syncHost(t)
	if t.Len() == 0 {
		return b.String() + " []"
	}
	b.WriteByte('\n')
	t.writeValues(&b, 0, 0, 0)
	return b.String()
}

// edge is how many values are shown at each end of a long dimension.
const edge = 3

func (t *Tensor) writeValues(b *strings.Builder, dim, off, indent int) {
	if len(t.shape) == 0 {
		b.WriteString(formatValue(t.flat(0)))
		return
	}
	n := t.shape[dim]
	stride := 1
	for _, s := range t.shape[dim+1:] {
		stride *= s
	}
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if n > 2*edge && i == edge {
			if dim == len(t.shape)-1 {
				b.WriteString(" ...")
			} else {
				b.WriteString("\n" + strings.Repeat(" ", indent+1) + "...")
			}
			i = n - edge - 1
			continue
		}
		if i > 0 {
			if dim == len(t.shape)-1 {
				b.WriteByte(' ')
			} else {
				b.WriteString("\n" + strings.Repeat(" ", indent+1))
			}
		}
		if dim == len(t.shape)-1 {
			b.WriteString(formatValue(t.flat(off + i)))
		} else {
			t.writeValues(b, dim+1, off+i*stride, indent+1)
		}
	}
	b.WriteByte(']')
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v), math.IsInf(v, 0):
		return fmt.Sprint(v)
	case v == math.Trunc(v) && math.Abs(v) < 1e6:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.4g", v)
}

// htmlEdge is how many rows or columns HTML shows at each end of a long axis;
// htmlSlices is how many 2-D slices it shows of a tensor of rank ≥ 3.
const (
	htmlEdge   = 8
	htmlSlices = 3
)

// HTML renders t for a notebook: a header with shape, dtype and device, a
// one-line summary (min, max, mean, NaN/Inf count), then a table of the
// values for rank ≤ 2 (long axes elided in the middle), or for rank ≥ 3 the
// first few 2-D slices over the last two axes, each titled like t[0,1,:,:].
// It is the import-free display method the notebook kernel looks for.
func (t *Tensor) HTML() string {
	var b strings.Builder
	b.WriteString(`<div class="furious-tensor">`)
	fmt.Fprintf(&b, `<div><b>Tensor</b> %s %s %s`, ShapeString(t.shape), t.dtype, t.Device())
	syncHost(t)
	if t.Len() > 1 {
		b.WriteString(` <span style="color:#777">` + t.summary() + `</span>`)
	}
	b.WriteString("</div>\n")
	switch {
	case t.Len() == 0:
		b.WriteString("<div>(empty)</div>\n")
	case len(t.shape) == 0:
		b.WriteString("<div><code>" + formatValue(t.flat(0)) + "</code></div>\n")
	case len(t.shape) <= 2:
		rows, cols := 1, t.shape[0]
		if len(t.shape) == 2 {
			rows, cols = t.shape[0], t.shape[1]
		}
		t.htmlTable(&b, 0, rows, cols, len(t.shape) == 2)
	default:
		r := len(t.shape)
		rows, cols := t.shape[r-2], t.shape[r-1]
		nslices := t.Len() / (rows * cols)
		for s := 0; s < min(nslices, htmlSlices); s++ {
			idx := unravelIndex(s, t.shape[:r-2])
			parts := make([]string, 0, r)
			for _, v := range idx {
				parts = append(parts, fmt.Sprint(v))
			}
			parts = append(parts, ":", ":")
			fmt.Fprintf(&b, "<div><code>[%s]</code></div>\n", strings.Join(parts, ","))
			t.htmlTable(&b, s*rows*cols, rows, cols, true)
		}
		if nslices > htmlSlices {
			fmt.Fprintf(&b, "<div>… %d more slices of %s</div>\n", nslices-htmlSlices, ShapeString(t.shape[r-2:]))
		}
	}
	b.WriteString("</div>")
	return b.String()
}

// summary is "min -1.2, max 3.4, mean 0.01", plus a count of NaN and Inf.
func (t *Tensor) summary() string {
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	bad, n := 0, t.Len()
	for i := 0; i < n; i++ {
		v := t.flat(i)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			bad++
			continue
		}
		lo, hi, sum = math.Min(lo, v), math.Max(hi, v), sum+v
	}
	s := ""
	if bad < n {
		s = fmt.Sprintf("min %s, max %s, mean %s", formatValue(lo), formatValue(hi), formatValue(sum/float64(n-bad)))
	}
	if bad > 0 {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("%d NaN/Inf", bad)
	}
	return s
}

// htmlTable writes the rows×cols matrix starting at flat offset off, with
// row and column indices; axes longer than 2·htmlEdge are elided.
func (t *Tensor) htmlTable(b *strings.Builder, off, rows, cols int, rowIndex bool) {
	keep := func(n int) []int {
		if n <= 2*htmlEdge {
			out := make([]int, n)
			for i := range out {
				out[i] = i
			}
			return out
		}
		out := make([]int, 0, 2*htmlEdge+1)
		for i := 0; i < htmlEdge; i++ {
			out = append(out, i)
		}
		out = append(out, -1) // the elision mark
		for i := n - htmlEdge; i < n; i++ {
			out = append(out, i)
		}
		return out
	}
	rs, cs := keep(rows), keep(cols)
	b.WriteString(`<table style="font-family:monospace;font-size:smaller"><tr>`)
	if rowIndex {
		b.WriteString("<th></th>")
	}
	for _, j := range cs {
		if j < 0 {
			b.WriteString("<th>…</th>")
		} else {
			fmt.Fprintf(b, "<th>%d</th>", j)
		}
	}
	b.WriteString("</tr>\n")
	for _, i := range rs {
		b.WriteString("<tr>")
		if i < 0 {
			if rowIndex {
				b.WriteString("<th>⋮</th>")
			}
			for range cs {
				b.WriteString("<td>⋮</td>")
			}
			b.WriteString("</tr>\n")
			continue
		}
		if rowIndex {
			fmt.Fprintf(b, "<th>%d</th>", i)
		}
		for _, j := range cs {
			if j < 0 {
				b.WriteString("<td>…</td>")
			} else {
				b.WriteString("<td>" + formatValue(t.flat(off+i*cols+j)) + "</td>")
			}
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</table>\n")
}

// unravelIndex turns a flat row-major index into a multi-index of shape.
func unravelIndex(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		idx[d] = i % shape[d]
		i /= shape[d]
	}
	return idx
}
