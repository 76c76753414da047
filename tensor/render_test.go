package tensor

import (
	"math"
	"strings"
	"testing"
)

func TestHTMLSmallMatrix(t *testing.T) {
	x := FromFloat32([]float32{1, 2.5, -3, 4, 5, 6}, 2, 3)
	h := x.HTML()
	for _, want := range []string{
		"<b>Tensor</b> (2,3) float32 cpu",
		"min -3, max 6, mean 2.583",
		"<tr><th></th><th>0</th><th>1</th><th>2</th></tr>",
		"<tr><th>1</th><td>4</td><td>5</td><td>6</td></tr>",
		"<td>2.5</td>",
	} {
		if !strings.Contains(h, want) {
			t.Fatalf("HTML lacks %q:\n%s", want, h)
		}
	}
	if strings.Count(h, "<td>") != 6 {
		t.Fatalf("want 6 cells:\n%s", h)
	}
}

func TestHTMLElidesAndSlices(t *testing.T) {
	h := Zeros(100, 50).HTML()
	if c := strings.Count(h, "<tr>"); c != 1+2*htmlEdge+1 {
		t.Fatalf("100 rows rendered as %d table rows", c)
	}
	if !strings.Contains(h, "<th>99</th>") || !strings.Contains(h, "<th>…</th>") || strings.Contains(h, "<th>50</th>") {
		t.Fatal("elision does not keep the first and last rows and columns")
	}
	x := NewRNG(1).Randn(2, 4, 3, 5)
	x.Set(math.NaN(), 0, 0, 0, 0)
	h = x.HTML()
	for _, want := range []string{"(2,4,3,5) float32 cpu", "1 NaN/Inf", "<code>[0,0,:,:]</code>", "<code>[0,2,:,:]</code>", "… 5 more slices of (3,5)"} {
		if !strings.Contains(h, want) {
			t.Fatalf("HTML lacks %q:\n%s", want, h)
		}
	}
	if strings.Contains(h, "[0,3,:,:]") {
		t.Fatal("more slices than htmlSlices shown")
	}
	if h := Full(7).Reshape().HTML(); !strings.Contains(h, "<code>7</code>") || !strings.Contains(h, "() float32") {
		t.Fatalf("scalar: %s", h)
	}
	if h := Zeros(0, 3).HTML(); !strings.Contains(h, "(empty)") {
		t.Fatalf("empty: %s", h)
	}
	if h := NewRNG(1).Randn64(4).HTML(); !strings.Contains(h, "(4) float64") || strings.Count(h, "<td>") != 4 {
		t.Fatalf("vector: %s", h)
	}
}
