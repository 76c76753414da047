package display

import (
	"html"
	"strings"
)

// Field is one labelled value of a record shown by FieldTable or FieldLine.
type Field struct{ Label, Value string }

// OnOff is a switch's Field value: "on" or "off".
func OnOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// FieldTable renders a record as a small HTML table: the title in bold
// above, one row per field, label on the left. Packages use it for the
// HTML() of their configuration values (presets, variants, blocks,
// models, timings).
func FieldTable(title string, fields []Field) string {
	var b strings.Builder
	b.WriteString(`<table class="furious-fields" style="border-collapse:collapse;font-size:90%">`)
	if title != "" {
		b.WriteString(`<caption style="text-align:left;font-weight:bold;caption-side:top">` + html.EscapeString(title) + `</caption>`)
	}
	for _, f := range fields {
		b.WriteString(`<tr><th style="text-align:left;padding:1px 10px 1px 2px;font-weight:normal;color:#555">` +
			html.EscapeString(f.Label) + `</th><td style="text-align:left;padding:1px 2px"><code>` +
			html.EscapeString(f.Value) + `</code></td></tr>`)
	}
	b.WriteString(`</table>`)
	return b.String()
}

// FieldLine renders a record on one line: "title: label value, label
// value, …" (a field with an empty label shows its value alone).
func FieldLine(title string, fields []Field) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = strings.TrimSpace(f.Label + " " + f.Value)
	}
	if title == "" {
		return strings.Join(parts, ", ")
	}
	return title + ": " + strings.Join(parts, ", ")
}
