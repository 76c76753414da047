package ssd

import (
	"fmt"
	"math"
	"strings"

	"github.com/furious-lab/furious/tensor"
)

// Form selects how the core attention is computed.
type Form int

const (
	FormAuto      Form = iota // chunked for finite orders; quadratic (L ≤ 256) or blockwise for exp
	FormQuadratic             // attention form, O(L²)
	FormRecurrent             // token by token from the zero state
	FormChunked               // chunked SSD (finite orders)
	FormBlockwise             // online blockwise (flash-attention style)
)

func (f Form) String() string {
	switch f {
	case FormAuto:
		return "auto"
	case FormQuadratic:
		return "quadratic"
	case FormRecurrent:
		return "recurrent"
	case FormChunked:
		return "chunked"
	case FormBlockwise:
		return "blockwise"
	}
	return fmt.Sprintf("Form(%d)", int(f))
}

// Variant is one point of the ablation space of the paper: every field is an
// axis. The presets Linear, Mamba2, Mamba2S, TwoMamba, TwoMambaE and Softmax
// are values to copy and modify:
//
//	v := ssd.TwoMamba
//	v.ConvWidth = 4
type Variant struct {
	Name      string
	Order     int      // p ≥ 1: score s^p (ignored when Exp)
	Exp       bool     // exp(s): softmax-style attention, no finite state
	Scale     float64  // s = q·k·Scale before the power; 0 means 1/√d
	Mask      MaskKind // how a was produced (MaskNone: a must be nil)
	Norm      Norm     // none, output RMSNorm, softmax-style division
	Eps       float64  // RMSNorm epsilon (output norm)
	ConvWidth int      // causal depthwise conv over Q, K, V: 0 (none) or 1…4
	ConvSiLU  bool     // SiLU after the conv (Mamba-2)
	QKAct     Act      // activation of Q and K after the conv
	ValueDT   bool     // V ← V ⊙ dt
	DRes      bool     // y += V ⊙ D (V before discretisation)
	ZGate     bool     // y ← y ⊙ silu(z)
	Chunk     int      // chunk / block length of the chunked and blockwise forms; 0: DefaultChunk
}

// The presets (spec §d), each the 2Mamba code's config (or mamba_ssm's
// Mamba2 for Mamba2) that it reproduces. Scale 0 means 1/√d, the scale of
// every 2Mamba code path (spec §b); Eps is the output RMSNorm's epsilon,
// DefaultEps = torch.finfo(float32).eps for 2Mamba's nn.RMSNorm(eps=None)
// (spec §c; unused without NormOutput). The block parts these variants do not
// describe (dt bias, conv and gate biases, RoPE) are in PresetTable.
var (
	// Linear is config "linear": order 1, ReLU on q and k (a positive score
	// image, footnote 8) and softmax norm (spec §c); no mask, no conv.
	Linear = Variant{Name: "Linear", Order: 1, QKAct: ActReLU, Norm: NormSoftmax, Eps: DefaultEps}
	// Mamba2 is paper Alg. 3, mamba_ssm's Mamba2 as the code config "mamba"
	// builds it: original mask a = −exp(A_log)·softplus(dt + dt_bias), conv 2
	// then SiLU on x, B, C (= v, k, q), V⊙dt, D residual (before dt),
	// RMSNorm(y ⊙ silu(z)) with RMSNormGated's eps 1e-5, and no 1/√d: y = Cᵀh
	// (Scale 1, spec §b). Per-head B and C (the paper's simplification).
	Mamba2 = Variant{Name: "Mamba2", Order: 1, Scale: 1, Mask: MaskOriginal, Norm: NormOutput, Eps: 1e-5,
		ConvWidth: 2, ConvSiLU: true, ValueDT: true, DRes: true, ZGate: true}
	// Mamba2S is paper Alg. 4, config
	// "linear__output_norm__A_mask_type_neg_softplus__in_conv_k_2__dt_on_values":
	// softplus mask, conv 2 (no activation), V⊙dt, order 1, output norm.
	Mamba2S = Variant{Name: "Mamba2S", Order: 1, Mask: MaskSoftplus, Norm: NormOutput, Eps: DefaultEps,
		ConvWidth: 2, ValueDT: true}
	// TwoMamba is paper Alg. 5 as run for the medium model, config
	// "squared__sm_norm__A_mask_type_neg_softplus__in_conv_k_2": order 2,
	// softplus mask, softmax norm, conv 2, no dt on the values (§5: removed
	// for instability).
	TwoMamba = Variant{Name: "2Mamba", Order: 2, Mask: MaskSoftplus, Norm: NormSoftmax, Eps: DefaultEps, ConvWidth: 2}
	// TwoMambaDT is 2Mamba as run for the small models, config
	// "squared__sm_norm__A_mask_type_neg_softplus__in_conv_k_2__dt_on_values": TwoMamba with V⊙dt.
	TwoMambaDT = Variant{Name: "2Mamba-dt", Order: 2, Mask: MaskSoftplus, Norm: NormSoftmax, Eps: DefaultEps, ConvWidth: 2, ValueDT: true}
	// TwoMambaE is 2Mamba-E, config "exp__sm_norm__A_mask_type_neg_softplus__in_conv_k_2":
	// exp scores, softplus mask, softmax norm, conv 2.
	TwoMambaE = Variant{Name: "2Mamba-E", Exp: true, Mask: MaskSoftplus, Norm: NormSoftmax, Eps: DefaultEps, ConvWidth: 2}
	// TwoMambaEDT is 2Mamba-E with V⊙dt, config
	// "exp__sm_norm__A_mask_type_neg_softplus__in_conv_k_2__dt_on_values".
	TwoMambaEDT = Variant{Name: "2Mamba-E-dt", Exp: true, Mask: MaskSoftplus, Norm: NormSoftmax, Eps: DefaultEps, ConvWidth: 2, ValueDT: true}
	// Softmax is config "softmax": causal softmax attention with scale 1/√d
	// (SDPA); its RoPE belongs to the block (PresetTable).
	Softmax = Variant{Name: "Softmax", Exp: true, Norm: NormSoftmax, Eps: DefaultEps}
)

// Preset is one row of the preset table: a variant and the parts of the
// block around it that the variant does not describe.
type Preset struct {
	Key     string  // lookup name: "linear", "mamba2", "mamba2s", "2mamba", "2mamba-dt", "2mamba-e", "2mamba-e-dt", "softmax"
	Config  string  // the config it reproduces: a key of the 2Mamba code's configs dict (spec §d)
	Variant Variant // the attention core and the block's axes
	Figure  bool    // one of the six curves of the paper's figures (Presets)
	// DTBias: Mamba-2's dt bias softplus⁻¹(dt0) (every 2Mamba config sets use_dt_bias False).
	DTBias bool
	// ConvBias: the causal conv has a bias (2Mamba: nn.Conv1d(bias=True);
	// the "mamba" config passes conv_bias=False).
	ConvBias bool
	// ZBias: the Z gate projection has a bias (2Mamba's z_gate_proj is an
	// nn.Linear with its default bias; Mamba-2's z comes from in_proj, bias=False).
	ZBias bool
	// RoPE: rotary position embeddings on q and k (the "softmax" config only;
	// every linear, squared and exp config sets use_NoPE).
	RoPE bool
}

// presetTable is the one preset table of the module (nn.Preset reads it).
var presetTable = []Preset{
	{Key: "linear", Config: "linear", Variant: Linear, Figure: true},
	{Key: "mamba2", Config: "mamba", Variant: Mamba2, Figure: true, DTBias: true},
	{Key: "mamba2s", Config: "linear__output_norm__A_mask_type_neg_softplus__in_conv_k_2__dt_on_values", Variant: Mamba2S, Figure: true, ConvBias: true},
	{Key: "2mamba", Config: "squared__sm_norm__A_mask_type_neg_softplus__in_conv_k_2", Variant: TwoMamba, Figure: true, ConvBias: true},
	{Key: "2mamba-dt", Config: "squared__sm_norm__A_mask_type_neg_softplus__in_conv_k_2__dt_on_values", Variant: TwoMambaDT, ConvBias: true},
	{Key: "2mamba-e", Config: "exp__sm_norm__A_mask_type_neg_softplus__in_conv_k_2", Variant: TwoMambaE, Figure: true, ConvBias: true},
	{Key: "2mamba-e-dt", Config: "exp__sm_norm__A_mask_type_neg_softplus__in_conv_k_2__dt_on_values", Variant: TwoMambaEDT, ConvBias: true},
	{Key: "softmax", Config: "softmax", Variant: Softmax, Figure: true, RoPE: true},
}

// PresetTable returns every preset (a copy), the paper's six in its order
// with the dt-on-values twins of 2Mamba and 2Mamba-E after their originals.
func PresetTable() []Preset { return append([]Preset(nil), presetTable...) }

// LookupPreset returns the preset named key (PresetTable's Key), or panics
// with a *tensor.Error listing the keys.
func LookupPreset(key string) Preset {
	var keys []string
	for _, p := range presetTable {
		if p.Key == key {
			return p
		}
		keys = append(keys, p.Key)
	}
	tensor.Errorf("ssd.LookupPreset", "key", "%q is not a preset; have %s", key, strings.Join(keys, ", "))
	return Preset{}
}

// Presets lists the variants of the paper's six curves in its order.
func Presets() []Variant {
	var out []Variant
	for _, p := range presetTable {
		if p.Figure {
			out = append(out, p.Variant)
		}
	}
	return out
}

// Options returns the core-attention options of the variant.
func (v Variant) Options() Options {
	return Options{Order: v.Order, Exp: v.Exp, Scale: v.Scale, Norm: v.Norm, Eps: v.Eps}
}

// Validate panics with a *tensor.Error naming the first invalid field.
func (v Variant) Validate() {
	const op = "ssd.Variant"
	v.Options().check(op)
	if v.Mask < MaskNone || v.Mask > MaskCustom {
		tensor.Errorf(op, "Mask", "is %d", int(v.Mask))
	}
	if v.ConvWidth < 0 || v.ConvWidth > 4 {
		tensor.Errorf(op, "ConvWidth", "is %d, want 0…4", v.ConvWidth)
	}
	if v.QKAct < ActNone || v.QKAct > ActSiLU {
		tensor.Errorf(op, "QKAct", "is %d", int(v.QKAct))
	}
	if v.Chunk < 0 {
		tensor.Errorf(op, "Chunk", "is %d, want ≥ 0", v.Chunk)
	}
	if v.Eps < 0 || math.IsNaN(v.Eps) {
		tensor.Errorf(op, "Eps", "is %v, want ≥ 0", v.Eps)
	}
}

func (v Variant) chunk() int {
	if v.Chunk > 0 {
		return v.Chunk
	}
	return DefaultChunk
}

// Resolve returns the form Auto picks for length L, or panics with a clear
// error when the form is impossible for the variant (recurrent or chunked exp).
func (v Variant) Resolve(form Form, L int) Form {
	const op = "ssd.Variant.Core"
	switch form {
	case FormAuto:
		if !v.Exp {
			return FormChunked
		}
		if L <= 256 {
			return FormQuadratic
		}
		return FormBlockwise
	case FormRecurrent, FormChunked:
		if v.Exp {
			tensor.Errorf(op, "form", "%s is impossible for %s: exp attention has no finite state (use quadratic, blockwise or a KVCache)", form, strings.TrimSpace(v.Name+" (exp)"))
		}
	case FormQuadratic, FormBlockwise:
	default:
		tensor.Errorf(op, "form", "unknown %s", form)
	}
	return form
}

// Core runs the core attention of the variant in the given form:
// q, k (B, H, L, d) after the conv, v (B, H, L, d_v), a (B, H, L) the per-step
// log-decay (nil iff Mask is MaskNone), dt (B, H, L) for ValueDT, z (B, H, L, d_v)
// the gate pre-activation for ZGate (else nil). In order:
// QK activation → V⊙dt → attention (softmax norm inside) → + V⊙D (D = 1) →
// ⊙ silu(z) → output RMSNorm (unit weight) → y (B, H, L, d_v).
// The projections, the conv and the learned D and norm weight belong to the layer.
func (v Variant) Core(form Form, q, k, val, a, dt, z *tensor.Tensor) *tensor.Tensor {
	const op = "ssd.Variant.Core"
	v.Validate()
	if q == nil {
		tensor.Errorf(op, "q", "must not be nil")
	}
	if v.Mask == MaskNone && a != nil {
		tensor.Errorf(op, "a", "given but the variant %q has no decay mask (Mask none)", v.Name)
	}
	if v.Mask != MaskNone && a == nil {
		tensor.Errorf(op, "a", "is nil but the variant %q uses the %s mask", v.Name, v.Mask)
	}
	if v.ValueDT && dt == nil {
		tensor.Errorf(op, "dt", "is nil but the variant %q discretises the values (ValueDT)", v.Name)
	}
	if v.ZGate && z == nil {
		tensor.Errorf(op, "z", "is nil but the variant %q gates the output (ZGate)", v.Name)
	}
	devForm := "chunked" // on a device, FormAuto lets the backend choose (ssd.Auto)
	if form == FormAuto {
		devForm = "auto"
	}
	form = v.Resolve(form, q.Dim(2))
	q, k = Activate(q, v.QKAct), Activate(k, v.QKAct)
	vin := val
	if v.ValueDT {
		vin = DiscretizeValues(val, dt)
	}
	o := v.Options()
	if o.Norm == NormOutput {
		o.Norm = NormNone // applied last, after D and Z
	}
	var y *tensor.Tensor
	switch form {
	case FormQuadratic:
		y = Quadratic(q, k, vin, a, o)
	case FormRecurrent:
		y, _ = Recurrent(q, k, vin, a, o, nil)
	case FormChunked:
		y, _ = chunked("ssd.Chunked", devForm, q, k, vin, a, o, v.chunk(), nil, false)
	case FormBlockwise:
		y = Blockwise(q, k, vin, a, o, v.chunk())
	}
	if v.DRes {
		y = DResidual(y, val, nil)
	}
	if v.ZGate {
		y = ZGate(y, z)
	}
	if v.Norm == NormOutput {
		y = RMSNorm(y, nil, v.Eps)
	}
	return y
}
