package display

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"sync"
)

// MIME types of the bundles this package builds.
const (
	MIMEText     = "text/plain"
	MIMEHTML     = "text/html"
	MIMEMarkdown = "text/markdown"
	MIMELatex    = "text/latex"
	MIMESVG      = "image/svg+xml"
	MIMEPNG      = "image/png"
	MIMEJPEG     = "image/jpeg"
	MIMEJSON     = "application/json"
	MIMEJS       = "application/javascript"
)

// MIMEMap maps MIME type → content. Text types hold a string, image/png and
// image/jpeg hold []byte (base64-encoded on the wire), application/json
// holds any JSON-marshalable value.
type MIMEMap = map[string]any

// Data is a displayable value: a MIME bundle with metadata and transient
// fields (display_id), as in a display_data message.
type Data struct {
	Data      MIMEMap
	Metadata  MIMEMap
	Transient MIMEMap
}

// String is the text/plain representation, or a list of the MIME types.
func (d Data) String() string {
	if s, ok := d.Data[MIMEText].(string); ok {
		return s
	}
	keys := make([]string, 0, len(d.Data))
	for k := range d.Data {
		keys = append(keys, k)
	}
	return fmt.Sprintf("display.Data%v", keys)
}

// MakeData returns a Data with one representation plus text/plain.
func MakeData(mimeType string, content any) Data {
	d := Data{Data: MIMEMap{mimeType: content}}
	if _, ok := d.Data[MIMEText]; !ok {
		d.Data[MIMEText] = plainFor(mimeType, content)
	}
	return d
}

func plainFor(mimeType string, content any) string {
	switch mimeType {
	case MIMEMarkdown, MIMELatex:
		if s, ok := content.(string); ok {
			return s
		}
	}
	return "<" + mimeType + ">"
}

// Any is MakeData under gophernotes' name.
func Any(mimeType string, content any) Data { return MakeData(mimeType, content) }

// MIME builds a Data from a ready bundle and metadata (either may be nil).
func MIME(data, metadata MIMEMap) Data {
	d := Data{Data: MIMEMap{}, Metadata: metadata}
	for k, v := range data {
		d.Data[k] = v
	}
	if _, ok := d.Data[MIMEText]; !ok {
		d.Data[MIMEText] = "<rich output>"
	}
	return d
}

// HTML shows an HTML fragment.
func HTML(html string) Data { return MakeData(MIMEHTML, html) }

// Markdown shows Markdown text.
func Markdown(md string) Data { return MakeData(MIMEMarkdown, md) }

// SVG shows an SVG document.
func SVG(svg string) Data { return MakeData(MIMESVG, svg) }

// PNG shows PNG-encoded bytes.
func PNG(b []byte) Data { return MakeData(MIMEPNG, b) }

// JPEG shows JPEG-encoded bytes.
func JPEG(b []byte) Data { return MakeData(MIMEJPEG, b) }

// Latex shows LaTeX text; put math between $...$.
func Latex(latex string) Data { return MakeData(MIMELatex, latex) }

// Math shows a display-mode formula: Math(`e^{i\pi}+1=0`).
func Math(latex string) Data { return MakeData(MIMELatex, "$$"+latex+"$$") }

// Javascript runs a script in the notebook front end.
func Javascript(js string) Data { return MakeData(MIMEJS, js) }

// JSON shows a JSON-marshalable value as an interactive tree; text/plain is
// the indented JSON.
func JSON(v any) Data {
	d := Data{Data: MIMEMap{MIMEJSON: v}}
	if b, err := json.MarshalIndent(v, "", "  "); err == nil {
		d.Data[MIMEText] = string(b)
	} else {
		d.Data[MIMEText] = fmt.Sprint(v)
	}
	return d
}

// Image shows an image.Image as PNG.
func Image(img image.Image) Data {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return MakeData(MIMEText, "display.Image: "+err.Error())
	}
	b := img.Bounds()
	d := PNG(buf.Bytes())
	d.Data[MIMEText] = fmt.Sprintf("<image %dx%d>", b.Dx(), b.Dy())
	return d
}

// JPEGImage shows an image.Image as JPEG with the given quality (1-100).
func JPEGImage(img image.Image, quality int) Data {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return MakeData(MIMEText, "display.JPEGImage: "+err.Error())
	}
	return JPEG(buf.Bytes())
}

// File shows the content of a file with the given MIME type.
func File(mimeType, path string) (Data, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Data{}, err
	}
	if mimeType == MIMEPNG || mimeType == MIMEJPEG {
		return MakeData(mimeType, b), nil
	}
	return MakeData(mimeType, string(b)), nil
}

// Publisher receives what this package shows. The kernel installs one that
// sends display_data / update_display_data / clear_output messages.
type Publisher interface {
	// Display shows d; when update is true it replaces the output with the
	// display_id in d.Transient instead.
	Display(d Data, update bool)
	// Clear clears the current cell's output, at once or (wait) when the
	// next output arrives.
	Clear(wait bool)
}

var (
	pubMu sync.RWMutex
	pub   Publisher = TextPublisher{W: os.Stdout}
)

// SetPublisher installs p and returns the previous Publisher.
func SetPublisher(p Publisher) Publisher {
	pubMu.Lock()
	defer pubMu.Unlock()
	old := pub
	pub = p
	return old
}

func publisher() Publisher {
	pubMu.RLock()
	defer pubMu.RUnlock()
	return pub
}

// TextPublisher prints the text/plain part of each display to W, for
// terminals and plain programs. Updates are printed as new lines.
type TextPublisher struct{ W io.Writer }

// Display prints d's text/plain representation.
func (t TextPublisher) Display(d Data, update bool) { fmt.Fprintln(t.W, d.String()) }

// TerminalWriter makes TextPublisher a Terminal.
func (t TextPublisher) TerminalWriter() io.Writer { return t.W }

// Clear does nothing on a terminal.
func (t TextPublisher) Clear(wait bool) {}

// Show renders v (see Render) and publishes it now.
func Show(v any) { publisher().Display(Render(v), false) }

// Display is Show under the name of the Jupyter message.
func Display(v any) { Show(v) }

// ClearOutput clears the cell's output; with wait the clearing happens when
// the next output arrives, which avoids flicker in animations.
func ClearOutput(wait bool) { publisher().Clear(wait) }

// Handle is a display that can be replaced in place (update_display_data).
type Handle struct {
	ID    string
	shown bool
}

var handleSeq struct {
	sync.Mutex
	n int
}

// NewHandle returns a Handle with a fresh display id.
func NewHandle() *Handle {
	handleSeq.Lock()
	handleSeq.n++
	n := handleSeq.n
	handleSeq.Unlock()
	return &Handle{ID: fmt.Sprintf("furious-%d-%d", os.Getpid(), n)}
}

// Show publishes v under the handle's display id.
func (h *Handle) Show(v any) {
	h.shown = true
	publisher().Display(h.tag(Render(v)), false)
}

// Update replaces the handle's display with v everywhere it is shown; the
// first call shows it.
func (h *Handle) Update(v any) {
	if !h.shown {
		h.Show(v)
		return
	}
	publisher().Display(h.tag(Render(v)), true)
}

func (h *Handle) tag(d Data) Data {
	t := MIMEMap{}
	for k, v := range d.Transient {
		t[k] = v
	}
	t["display_id"] = h.ID
	d.Transient = t
	return d
}

// Update replaces the display with the given id (see Handle).
func Update(displayID string, v any) { (&Handle{ID: displayID, shown: true}).Update(v) }
