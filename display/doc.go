// Package display shows rich values in a notebook: HTML, Markdown, SVG,
// PNG, JPEG, JSON, LaTeX, images and gonum/plot figures, plus displays that
// update in place, a progress bar, figures in one call (heat maps, line
// plots, grids) and a timing helper.
//
// # Overview
//
// A Data is a MIME bundle: MIME type → content, with optional metadata.
// The constructors (HTML, Markdown, SVG, PNG, JPEG, JSON, Latex, Math,
// Image, Plot, MIME, Any) have the names gophernotes uses. A Data as the
// last expression of a cell is shown as the cell's result; Show publishes
// one immediately, in order with the cell's printed output.
//
//	display.HTML("<b>bold</b>")            // as the cell's result
//	display.Show(display.Markdown("# Hi"))  // now, mid-cell
//	h := display.NewHandle()               // a display that can change
//	h.Show(display.Markdown("step 1"))
//	h.Update(display.Markdown("step 2"))    // replaces it in place
//	display.ClearOutput(true)               // clear the cell's output
//
// # Import-free rendering
//
// Any package can render itself without importing this one by giving its
// types one of these methods (the rule Render applies, in this order):
//
//	MIMEBundle() map[string]any   // several representations at once
//	HTML() string                 // text/html
//	Markdown() string             // text/markdown
//	SVG() string                  // image/svg+xml
//	PNG() []byte                  // image/png
//	JPEG() []byte                 // image/jpeg
//	Latex() string                // text/latex
//
// and image.Image values become PNG. Every bundle also carries text/plain
// (from String() when present, else fmt's %v), which terminals show.
//
// # Where output goes
//
// Inside the furious kernel, Show and friends publish display_data messages
// on the notebook. Elsewhere (a plain Go program, `furious repl`,
// `furious run`) they go to the Publisher set with SetPublisher; the
// default one prints text/plain to standard output.
//
// # Figures
//
// Heatmap, Lines and Grid draw figures in one call through gonum/plot; each
// returns a value that renders as PNG (its MIMEBundle) and prints as one
// line, with option methods that chain:
//
//	display.Heatmap(m).Title("mask").Range(0, 1)       // (rows, cols), row 0 on top, colour bar
//	display.Heatmap(scores).Diverging()               // signed: blue, grey at 0, red
//	display.Lines(display.Series{Name: "train", X: x, Y: y}).Line("test", x, y2).LogY()
//	display.Grid(2, fig1, fig2, fig3)                 // rows of 2
//
// Heat maps use Viridis, a perceptual map whose lightness rises evenly,
// or Diverging (Moreland's smooth blue-red); ColorMap takes any
// palette.ColorMap. Linear axes get ticks at multiples of 1, 2, 2.5 or 5 ×
// 10ᵏ (the y axis widened to them), log axes ticks at 10ⁿ. SVG() gives the
// vector drawing and Plot() the gonum/plot figure for other settings.
//
// # Tables and timings
//
// FieldTable and FieldLine render a record of labelled values as a small
// HTML table or one line of text; ssd and nn use them for presets,
// variants, blocks and models. Timeit times a function like IPython's
// %timeit and returns a Timing (median ± IQR/2, min, max) that renders as
// such a table; it calls tensor.Sync after each run so that GPU work is
// timed, not only queued.
//
// # Progress
//
// NewProgress(total, label) returns a bar that redraws itself in place:
// through update_display_data in a notebook, with a carriage return on a
// terminal.
package display
