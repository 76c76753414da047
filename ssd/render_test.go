package ssd

import (
	"strings"
	"testing"
)

func TestVariantAndPresetRender(t *testing.T) {
	v := TwoMamba
	v.Chunk = 32
	if s := v.String(); !strings.HasSuffix(s, ", Z off, chunk 32") {
		t.Errorf("String with a chunk: %q", s)
	}
	h := Mamba2.HTML()
	for _, want := range []string{"<table", "ssd.Variant Mamba2", "score", "order 1", "output(eps 1e-05)", "2+silu", "</table>"} {
		if !strings.Contains(h, want) {
			t.Errorf("Mamba2.HTML() lacks %q:\n%s", want, h)
		}
	}
	if s := (Variant{Order: 3}).String(); !strings.HasPrefix(s, "variant: order 3,") {
		t.Errorf("unnamed variant: %q", s)
	}
	for _, p := range PresetTable() {
		s := p.String()
		if strings.Contains(s, "\n") || !strings.HasPrefix(s, `preset "`+p.Key+`" = `+p.Variant.Name+": ") ||
			!strings.Contains(s, "config "+p.Config) {
			t.Errorf("%s: String() = %q", p.Key, s)
		}
		if h := p.HTML(); !strings.Contains(h, `ssd.Preset &#34;`+p.Key+`&#34;`) || !strings.Contains(h, "RoPE") {
			t.Errorf("%s: HTML() = %s", p.Key, h)
		}
	}
	if s := LookupPreset("softmax").String(); !strings.Contains(s, "RoPE on") || !strings.Contains(s, "exp,") {
		t.Errorf("softmax preset: %q", s)
	}
}
