package display

import (
	"bytes"
	"image"
	"image/color"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

type htmlThing struct{}

func (htmlThing) HTML() string   { return "<b>x</b>" }
func (htmlThing) String() string { return "thing" }

type bundleThing struct{}

func (bundleThing) MIMEBundle() map[string]any {
	return map[string]any{"text/html": "<i>b</i>", "text/plain": "b"}
}

type recorder struct {
	shown   []Data
	updates []Data
	clears  int
}

func (r *recorder) Display(d Data, update bool) {
	if update {
		r.updates = append(r.updates, d)
	} else {
		r.shown = append(r.shown, d)
	}
}
func (r *recorder) Clear(bool) { r.clears++ }

func TestRender(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(0, 0, color.White)
	p := plot.New()
	l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 2}})
	if err != nil {
		t.Fatal(err)
	}
	p.Add(l)
	cases := []struct {
		v          any
		mime, want string
	}{
		{htmlThing{}, MIMEHTML, "<b>x</b>"},
		{htmlThing{}, MIMEText, "thing"},
		{bundleThing{}, MIMEHTML, "<i>b</i>"},
		{HTML("<p>"), MIMEHTML, "<p>"},
		{Markdown("# h"), MIMEMarkdown, "# h"},
		{Math("x^2"), MIMELatex, "$$x^2$$"},
		{"str", MIMEText, `"str"`},
		{42, MIMEText, "42"},
		{img, MIMEText, "<image 3x2>"},
	}
	for _, c := range cases {
		if got := Render(c.v).Data[c.mime]; got != c.want {
			t.Errorf("Render(%T)[%s] = %v, want %q", c.v, c.mime, got, c.want)
		}
	}
	for _, v := range []any{img, p} {
		b, ok := Render(v).Data[MIMEPNG].([]byte)
		if !ok || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("Render(%T) has no PNG", v)
		}
	}
	if j := JSON(map[string]int{"a": 1}); !strings.Contains(j.Data[MIMEText].(string), `"a": 1`) {
		t.Errorf("JSON text %v", j.Data[MIMEText])
	}
}

func TestHandlesAndProgress(t *testing.T) {
	r := &recorder{}
	old := SetPublisher(r)
	defer SetPublisher(old)
	h := NewHandle()
	h.Update(Markdown("a")) // first update shows
	h.Update(Markdown("b"))
	ClearOutput(true)
	if len(r.shown) != 1 || len(r.updates) != 1 || r.clears != 1 {
		t.Fatalf("shown %d updates %d clears %d", len(r.shown), len(r.updates), r.clears)
	}
	if r.shown[0].Transient["display_id"] != h.ID || r.updates[0].Transient["display_id"] != h.ID {
		t.Errorf("display ids %v %v, want %s", r.shown[0].Transient, r.updates[0].Transient, h.ID)
	}
	r.shown, r.updates = nil, nil
	bar := NewProgress(4, "train")
	for i := 0; i < 4; i++ {
		bar.Add(1)
	}
	if len(r.shown) != 1 || len(r.updates) == 0 {
		t.Fatalf("progress: shown %d updates %d", len(r.shown), len(r.updates))
	}
	last := r.updates[len(r.updates)-1].Data[MIMEText].(string)
	if !strings.Contains(last, "100%") || !strings.Contains(last, "4/4") {
		t.Errorf("final bar %q", last)
	}
}

func TestProgressTerminal(t *testing.T) {
	var buf bytes.Buffer
	old := SetPublisher(TextPublisher{W: &buf})
	defer SetPublisher(old)
	bar := NewProgress(2, "x")
	bar.Set(2)
	out := buf.String()
	if strings.Count(out, "\r") != 2 || !strings.HasSuffix(out, "\n") || !strings.Contains(out, "2/2") {
		t.Errorf("terminal bar %q", out)
	}
}
