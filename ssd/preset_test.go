package ssd

import (
	"strings"
	"testing"
)

// specVariant derives a preset's fields from the config string it names,
// following spec §d (the 2Mamba code's config keys) and §b/§c for the
// details a key does not spell: scale 1/√d everywhere but Mamba-2 (Scale 1),
// output-norm eps torch.finfo(float32).eps (Mamba-2: RMSNormGated's 1e-5),
// config "linear" = ReLU on q, k with softmax norm, "softmax" = causal
// softmax with RoPE. It returns the variant (Name left empty) and the block
// parts (dt bias, conv bias, z bias, RoPE).
func specVariant(t *testing.T, config string) (Variant, [4]bool) {
	switch config {
	case "mamba": // Alg. 3 / mamba_ssm Mamba2(d_conv=2, conv_bias=False, bias=False, rmsnorm, norm_before_gate=False)
		return Variant{Order: 1, Scale: 1, Mask: MaskOriginal, Norm: NormOutput, Eps: 1e-5, ConvWidth: 2, ConvSiLU: true,
			ValueDT: true, DRes: true, ZGate: true}, [4]bool{true, false, false, false}
	case "softmax":
		return Variant{Exp: true, Norm: NormSoftmax, Eps: DefaultEps}, [4]bool{false, false, false, true}
	case "linear":
		return Variant{Order: 1, QKAct: ActReLU, Norm: NormSoftmax, Eps: DefaultEps}, [4]bool{}
	}
	v := Variant{Eps: DefaultEps}
	var parts [4]bool
	toks := strings.Split(config, "__")
	switch toks[0] {
	case "linear":
		v.Order = 1
	case "squared":
		v.Order = 2
	case "exp":
		v.Exp = true
	default:
		t.Fatalf("config %q: unknown power %q", config, toks[0])
	}
	for _, tok := range toks[1:] {
		switch tok {
		case "sm_norm":
			v.Norm = NormSoftmax
		case "output_norm":
			v.Norm = NormOutput
		case "A_mask_type_neg_softplus":
			v.Mask = MaskSoftplus
		case "in_conv_k_2":
			v.ConvWidth, parts[1] = 2, true // nn.Conv1d(bias=True)
		case "dt_on_values":
			v.ValueDT = true
		default:
			t.Fatalf("config %q: token %q not covered by this test", config, tok)
		}
	}
	return v, parts
}

// TestPresetsPinnedToSpec pins every preset's fields to the config string it
// names (spec §d), and checks the table's shape: unique keys, the six figure
// curves in the paper's order, and 2Mamba and 2Mamba-E both with and without
// dt on the values.
func TestPresetsPinnedToSpec(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range PresetTable() {
		if seen[p.Key] {
			t.Errorf("key %q twice", p.Key)
		}
		seen[p.Key] = true
		want, parts := specVariant(t, p.Config)
		got := p.Variant
		got.Name = ""
		if got != want {
			t.Errorf("%s (%s):\n got  %+v\n want %+v", p.Key, p.Config, got, want)
		}
		if g := [4]bool{p.DTBias, p.ConvBias, p.ZBias, p.RoPE}; g != parts {
			t.Errorf("%s: dt bias, conv bias, z bias, RoPE = %v, want %v", p.Key, g, parts)
		}
		p.Variant.Validate()
		if LookupPreset(p.Key).Variant != p.Variant {
			t.Errorf("LookupPreset(%q) differs from the table", p.Key)
		}
	}
	var names []string
	for _, v := range Presets() {
		names = append(names, v.Name)
	}
	if got := strings.Join(names, ","); got != "Linear,Mamba2,Mamba2S,2Mamba,2Mamba-E,Softmax" {
		t.Errorf("figure presets %s", got)
	}
	for _, pair := range [][2]string{{"2mamba", "2mamba-dt"}, {"2mamba-e", "2mamba-e-dt"}} {
		a, b := LookupPreset(pair[0]), LookupPreset(pair[1])
		if a.Variant.ValueDT || !b.Variant.ValueDT || a.Config+"__dt_on_values" != b.Config {
			t.Errorf("%s / %s are not the pair without / with dt on values", pair[0], pair[1])
		}
	}
	if e := mustPanic(t, func() { LookupPreset("mamba3") }); e.Op != "ssd.LookupPreset" || !strings.Contains(e.Msg, "2mamba-dt") {
		t.Errorf("unknown key: %v", e)
	}
}
