// Package display shows rich values in a notebook: HTML, Markdown, SVG,
// PNG, JPEG, JSON, LaTeX, images and gonum/plot figures, plus displays that
// update in place and a progress bar.
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
// # Progress
//
// NewProgress(total, label) returns a bar that redraws itself in place:
// through update_display_data in a notebook, with a carriage return on a
// terminal.
package display
