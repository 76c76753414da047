package display

import "testing"

func TestFieldTableAndLine(t *testing.T) {
	fs := []Field{{"", "order 2"}, {"mask", "soft<plus>"}}
	if got := FieldLine("2Mamba", fs); got != "2Mamba: order 2, mask soft<plus>" {
		t.Errorf("FieldLine = %q", got)
	}
	if got := FieldLine("", fs[1:]); got != "mask soft<plus>" {
		t.Errorf("FieldLine untitled = %q", got)
	}
	h := FieldTable("a & b", fs)
	want := `<table class="furious-fields" style="border-collapse:collapse;font-size:90%"><caption style="text-align:left;font-weight:bold;caption-side:top">a &amp; b</caption>` +
		`<tr><th style="text-align:left;padding:1px 10px 1px 2px;font-weight:normal;color:#555"></th><td style="text-align:left;padding:1px 2px"><code>order 2</code></td></tr>` +
		`<tr><th style="text-align:left;padding:1px 10px 1px 2px;font-weight:normal;color:#555">mask</th><td style="text-align:left;padding:1px 2px"><code>soft&lt;plus&gt;</code></td></tr></table>`
	if h != want {
		t.Errorf("FieldTable =\n%s\nwant\n%s", h, want)
	}
}
