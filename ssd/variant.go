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

// The presets (spec §d). Scale 0 means 1/√d, the 2Mamba code's choice.
var (
	// Linear is the config "linear": order 1 with ReLU features and softmax norm.
	Linear = Variant{Name: "Linear", Order: 1, QKAct: ActReLU, Norm: NormSoftmax, Eps: DefaultEps}
	// Mamba2 is paper Alg. 3: original mask, conv 2 + SiLU, V⊙dt, D residual,
	// RMSNorm(y ⊙ silu(z)) with mamba_ssm's eps 1e-5, and no 1/√d (Scale 1).
	Mamba2 = Variant{Name: "Mamba2", Order: 1, Scale: 1, Mask: MaskOriginal, Norm: NormOutput, Eps: 1e-5,
		ConvWidth: 2, ConvSiLU: true, ValueDT: true, DRes: true, ZGate: true}
	// Mamba2S is paper Alg. 4: softplus mask, conv 2, V⊙dt, order 1, output norm.
	Mamba2S = Variant{Name: "Mamba2S", Order: 1, Mask: MaskSoftplus, Norm: NormOutput, Eps: DefaultEps,
		ConvWidth: 2, ValueDT: true}
	// TwoMamba is paper Alg. 5 (medium model, no dt): order 2, softplus mask,
	// softmax norm, conv 2.
	TwoMamba = Variant{Name: "2Mamba", Order: 2, Mask: MaskSoftplus, Norm: NormSoftmax, Eps: DefaultEps, ConvWidth: 2}
	// TwoMambaE is 2Mamba-E: exp scores, softplus mask, softmax norm, conv 2.
	TwoMambaE = Variant{Name: "2Mamba-E", Exp: true, Mask: MaskSoftplus, Norm: NormSoftmax, Eps: DefaultEps, ConvWidth: 2}
	// Softmax is the causal softmax baseline (its RoPE belongs to the layer).
	Softmax = Variant{Name: "Softmax", Exp: true, Norm: NormSoftmax, Eps: DefaultEps}
)

// Presets lists the presets in the paper's order.
func Presets() []Variant { return []Variant{Linear, Mamba2, Mamba2S, TwoMamba, TwoMambaE, Softmax} }

// String prints the variant on one line.
func (v Variant) String() string {
	f := fmt.Sprintf("order %d", v.Order)
	if v.Exp {
		f = "exp"
	}
	sc := "1/√d"
	if v.Scale != 0 {
		sc = fmt.Sprintf("%g", v.Scale)
	}
	norm := v.Norm.String()
	if v.Norm == NormOutput {
		norm += fmt.Sprintf("(eps %.3g)", v.Eps)
	}
	conv := "none"
	if v.ConvWidth > 0 {
		conv = fmt.Sprint(v.ConvWidth)
		if v.ConvSiLU {
			conv += "+silu"
		}
	}
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	name := v.Name
	if name == "" {
		name = "variant"
	}
	return fmt.Sprintf("%s: %s, scale %s, mask %s, norm %s, conv %s, qk %s, dt %s, D %s, Z %s",
		name, f, sc, v.Mask, norm, conv, v.QKAct, onOff(v.ValueDT), onOff(v.DRes), onOff(v.ZGate))
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
