package nn

import (
	"fmt"
	"math"

	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// BlockConfig is one attention block (spec §d): the variant (ssd.Variant,
// embedded: order or exp, score scale, mask, norm and its epsilon, conv width
// and SiLU, QK activation, V ⊙ dt, D residual, Z gate, chunk length) plus the
// parts only the block has. Preset gives the paper's configurations.
//
// The form: Chunk 0 trains the quadratic (attention) form; Chunk > 0 the
// chunked form with chunks of that length (the exp order has no chunked form
// and always trains the quadratic one). Eps is used as given (0 is 0): the
// presets set ssd.DefaultEps or Mamba-2's 1e-5.
type BlockConfig struct {
	ssd.Variant
	DModel int  // hidden size; head dim d = DModel / Heads
	Heads  int  //
	DtBias bool // Mamba-2's dt bias: dt_bias = softplus⁻¹(dt0), dt0 = exp(U[log 1e-3, log 1e-1]) (the 2Mamba configs have none)
	// ConvBias gives the causal conv a bias (2Mamba's nn.Conv1d; Mamba-2 has none).
	ConvBias bool
	// ZBias gives the Z gate's projection a bias (2Mamba's z_gate_proj; Mamba-2's z has none).
	ZBias bool
	RoPE  bool // rotary position embeddings on q and k (θ = 10000), the softmax baseline's
	// Decay is the user's own log-decay for Mask ssd.MaskCustom: a function
	// of the block input h (B, L, DModel) returning a (B, H, L), a ≤ 0 per
	// step (FixedDecay wraps a tensor). Gradients flow through it into h and
	// into any Var it uses; Vars it creates are the caller's to train (they
	// are not in Params). The decoder calls it on one token at a time, so it
	// must act position by position to decode.
	Decay func(h *Var) *Var
}

// Preset returns the block of a named configuration from the one preset
// table, ssd.PresetTable, with DModel and Heads left for the caller: the
// paper's six ("linear", "mamba2", "mamba2s", "2mamba", "2mamba-e",
// "softmax", listed by Presets) and the dt-on-values twins "2mamba-dt" and
// "2mamba-e-dt". Each row names the 2Mamba config it reproduces (spec §d).
func Preset(name string) BlockConfig {
	p := ssd.LookupPreset(name)
	return BlockConfig{Variant: p.Variant, DtBias: p.DTBias, ConvBias: p.ConvBias, ZBias: p.ZBias, RoPE: p.RoPE}
}

// Presets lists the keys of the paper's six curves (ssd.PresetTable rows
// with Figure set), in the paper's order of loss.
var Presets = figurePresets()

func figurePresets() []string {
	var out []string
	for _, p := range ssd.PresetTable() {
		if p.Figure {
			out = append(out, p.Key)
		}
	}
	return out
}

// FixedDecay returns a BlockConfig.Decay that ignores the input and gives
// the log-decay a, (H, L) or (B, H, L), as a constant (broadcast over the
// batch); L must be the block's sequence length. ExportTorch exports it
// (the constant goes into model.safetensors as "decay.a").
func FixedDecay(a *tensor.Tensor) func(h *Var) *Var {
	const op = "nn.FixedDecay"
	if a == nil || (a.Rank() != 2 && a.Rank() != 3) {
		var s []int
		if a != nil {
			s = a.Shape()
		}
		tensor.CheckShape(op, "a", s, "(H, L) or (B, H, L)", -1, -1)
	}
	return func(h *Var) *Var {
		if h == decayProbe { // ExportTorch asks what this decay is (export.go)
			probed = &decayExport{fixed: a}
			return nil
		}
		B, L := h.Value.Dim(0), h.Value.Dim(1)
		if a.Rank() == 3 {
			tensor.CheckShape(op, "a", a.Shape(), "(B, H, L of the block input)", B, -1, L)
			return Const(a.As(h.Value.DType()).OnDeviceOf(h.Value))
		}
		tensor.CheckShape(op, "a", a.Shape(), "(H, L of the block input)", -1, L)
		return Add(Const(tensor.New(h.Value.DType(), B, a.Dim(0), L).OnDeviceOf(h.Value)), Const(a.As(h.Value.DType()).OnDeviceOf(h.Value)))
	}
}

// RoPETheta is the base θ of the block's rotary embeddings (BlockConfig.RoPE),
// the paper's softmax baseline's.
const RoPETheta = 10000

// AttnBlock is one attention block with its parameters (nil when the
// config does not use them).
type AttnBlock struct {
	Cfg   BlockConfig
	QKV   *Var // (DModel, 3·H·d)
	ConvW *Var // (3·H·d, ConvWidth)
	ConvB *Var // (3·H·d), with ConvBias
	WA    *Var // (DModel, H): softplus / forget decay projection
	WDt   *Var // (DModel, H): dt projection
	DtB   *Var // (H): dt bias
	ALog  *Var // (H): the original (Mamba-2) mask, log U[1, 16]
	D     *Var // (H, d)
	WZ    *Var // (DModel, H·d)
	BZ    *Var // (H·d), with ZBias
	NormW *Var // (H·d) output norm weight
	O     *Var // (H·d, DModel)
}

// check panics with a *tensor.Error naming the first invalid field.
func (c BlockConfig) check() {
	const op = "nn.BlockConfig"
	if c.Heads < 1 || c.DModel < c.Heads || c.DModel%c.Heads != 0 {
		tensor.Errorf(op, "DModel", "%d is not a positive multiple of Heads %d", c.DModel, c.Heads)
	}
	c.Variant.Validate()
	if c.Mask == ssd.MaskCustom && c.Decay == nil {
		tensor.Errorf(op, "Decay", "is nil but Mask is custom: give the log-decay as a function of the block input (or FixedDecay)")
	}
	if c.Decay != nil && c.Mask != ssd.MaskCustom {
		tensor.Errorf(op, "Decay", "is set but Mask is %s: set Mask to ssd.MaskCustom to use it", c.Mask)
	}
	if c.RoPE && (c.DModel/c.Heads)%2 != 0 {
		tensor.Errorf(op, "RoPE", "needs an even head dimension, d = %d", c.DModel/c.Heads)
	}
}

// NewAttnBlock builds a block named name (parameters name+".qkv.weight", ...).
func NewAttnBlock(init *Init, name string, c BlockConfig) *AttnBlock {
	c.check()
	H, Dm := c.Heads, c.DModel
	d := Dm / H
	hd := H * d
	b := &AttnBlock{Cfg: c,
		QKV: NamedParam(name+".qkv.weight", init.Linear(Dm, 3*hd)),
		O:   NamedParam(name+".o.weight", init.Linear(hd, Dm)),
	}
	if c.ConvWidth > 0 {
		bound := 1 / math.Sqrt(float64(c.ConvWidth)) // PyTorch Conv1d default, fan_in = width
		b.ConvW = NamedParam(name+".conv.weight", init.Uniform(bound, 3*hd, c.ConvWidth))
		if c.ConvBias {
			b.ConvB = NamedParam(name+".conv.bias", init.Uniform(bound, 3*hd))
		}
	}
	if c.Mask == ssd.MaskSoftplus || c.Mask == ssd.MaskForget {
		b.WA = NamedParam(name+".a.weight", init.Linear(Dm, H))
	}
	if c.ValueDT || c.Mask == ssd.MaskOriginal {
		b.WDt = NamedParam(name+".dt.weight", init.Linear(Dm, H))
	}
	if c.DtBias && b.WDt != nil {
		u := init.Uniform(1, H).Data()
		for i := range u {
			dt0 := math.Max(math.Exp(math.Log(1e-3)+(u[i]+1)/2*(math.Log(1e-1)-math.Log(1e-3))), 1e-4)
			u[i] = dt0 + math.Log(-math.Expm1(-dt0)) // softplus⁻¹(dt0)
		}
		b.DtB = NamedParam(name+".dt.bias", fromData(init.DType, u, []int{H}))
	}
	if c.Mask == ssd.MaskOriginal {
		u := init.Uniform(1, H).Data()
		for i := range u {
			u[i] = math.Log(8.5 + 7.5*u[i]) // log U[1, 16]
		}
		b.ALog = NamedParam(name+".A_log", fromData(init.DType, u, []int{H}))
	}
	if c.DRes {
		b.D = NamedParam(name+".D", init.Full(1, H, d))
	}
	if c.ZGate {
		b.WZ = NamedParam(name+".z.weight", init.Linear(Dm, hd))
		if c.ZBias {
			b.BZ = NamedParam(name+".z.bias", init.Full(0, hd))
		}
	}
	if c.Norm == ssd.NormOutput {
		b.NormW = NamedParam(name+".out_norm.weight", init.Full(1, hd))
	}
	return b
}

// Params returns the block's parameters.
func (b *AttnBlock) Params() []*Var {
	var out []*Var
	for _, p := range []*Var{b.QKV, b.ConvW, b.ConvB, b.WA, b.WDt, b.DtB, b.ALog, b.D, b.WZ, b.BZ, b.NormW, b.O} {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// heads maps (B, L, H) → (B, H, L).
func heads(x *Var) *Var { return Permute(x, 0, 2, 1) }

// blockParts are the block's tensors between its input projections and
// the attention core (spec §d steps 1–9), shared by Forward and the decoder.
type blockParts struct {
	q, k, v *Var // (B, H, L, d) after conv (+ SiLU), V ⊙ dt, QK activation
	a       *Var // (B, H, L) log-decay, or nil
	dres    *Var // V ⊙ D (before V ⊙ dt), or nil
}

// parts computes q, k, v, a and the D residual from h (B, L, DModel) and the
// projected qkv (B, L, 3·H·d) after the conv, in the order of spec §d: SiLU
// after the conv on all of q, k, v (ConvSiLU, Mamba-2), dt = softplus(h W_dt
// [+ dt_bias]), the log-decay, D_res = V ⊙ D, V ← V ⊙ dt, the QK activation.
func (b *AttnBlock) parts(h, qkv *Var, B, L int) blockParts {
	c := b.Cfg
	H, d := c.Heads, c.DModel/c.Heads
	if c.ConvSiLU {
		qkv = SiLU(qkv)
	}
	qkv = Permute(Reshape(qkv, B, L, 3, H, d), 2, 0, 3, 1, 4) // (3, B, H, L, d)
	p := blockParts{
		q: Reshape(Slice(qkv, 0, 0, 1), B, H, L, d),
		k: Reshape(Slice(qkv, 0, 1, 2), B, H, L, d),
		v: Reshape(Slice(qkv, 0, 2, 3), B, H, L, d),
	}
	var dt, xdt *Var
	if b.WDt != nil {
		xdt = heads(MatMul(h, b.WDt)) // (B, H, L) dt pre-activation
		x := xdt
		if b.DtB != nil {
			x = Add(x, Reshape(b.DtB, H, 1))
		}
		dt = Softplus(x) // dt = softplus(h W_dt + dt_bias)
	}
	switch c.Mask {
	case ssd.MaskSoftplus, ssd.MaskForget:
		p.a = LogDecay(c.Mask, heads(MatMul(h, b.WA)), nil, nil) // −softplus(h W_A) or log σ(h W_f)
	case ssd.MaskOriginal:
		p.a = LogDecay(c.Mask, xdt, b.ALog, b.DtB) // a = −exp(A_log)·dt
	case ssd.MaskCustom:
		p.a = c.Decay(h)
		if p.a == nil {
			tensor.Errorf("nn.AttnBlock.Forward", "Decay", "returned nil")
		}
		tensor.CheckShape("nn.AttnBlock.Forward", "Decay(h)", p.a.Value.Shape(), "(want (B, H, L) log-decays)", B, H, L)
	}
	if b.D != nil {
		p.dres = Mul(p.v, Reshape(b.D, H, 1, d)) // V ⊙ D, before discretisation
	}
	if c.ValueDT {
		p.v = Mul(p.v, Reshape(dt, B, H, L, 1)) // V ⊙ dt
	}
	switch c.QKAct {
	case ssd.ActSiLU:
		p.q, p.k = SiLU(p.q), SiLU(p.k)
	case ssd.ActReLU:
		p.q, p.k = ReLU(p.q), ReLU(p.k)
	}
	return p
}

// coreOptions are the options of the attention core: the variant's, with the
// output norm left to the block (it follows the D residual and the Z gate).
func (c BlockConfig) coreOptions() ssd.Options {
	o := c.Options()
	if o.Norm == ssd.NormOutput {
		o.Norm = ssd.NormNone
	}
	return o
}

// finish applies the block's tail to the core output y (B, H, L, d), for
// h (B, L, DModel): + D residual, merge heads, ⊙ silu(h W_z [+ b_z]),
// RMSNorm(·, eps) with the learned weight, o_proj → (B, L, DModel).
func (b *AttnBlock) finish(h, y, dres *Var, B, L int) *Var {
	c := b.Cfg
	if dres != nil {
		y = Add(y, dres)
	}
	y = Reshape(Permute(y, 0, 2, 1, 3), B, L, c.DModel) // merge heads
	if b.WZ != nil {
		z := MatMul(h, b.WZ)
		if b.BZ != nil {
			z = Add(z, b.BZ)
		}
		y = Mul(y, SiLU(z))
	}
	if b.NormW != nil {
		y = RMSNorm(y, b.NormW, c.Eps)
	}
	return MatMul(y, b.O)
}

// Forward maps h (B, L, DModel) → (B, L, DModel) in the order of spec §d
// (paper Alg. 3–5): qkv = h W_QKV, causal conv [+ SiLU], split, dt, the
// log-decay, D residual, V ⊙ dt, QK activation, RoPE, the attention core
// (quadratic form, or chunked with Chunk > 0), + D residual, ⊙ silu(z),
// output RMSNorm, o_proj.
func (b *AttnBlock) Forward(h *Var) *Var {
	c := b.Cfg
	hs := h.Value.Shape()
	tensor.CheckShape("nn.AttnBlock.Forward", "h", hs, fmt.Sprintf("(want (B, L, %d))", c.DModel), -1, -1, c.DModel)
	B, L := hs[0], hs[1]
	qkv := MatMul(h, b.QKV) // (B, L, 3·H·d)
	if c.ConvWidth > 0 {
		qkv = CausalConv1d(qkv, b.ConvW, b.ConvB)
	}
	p := b.parts(h, qkv, B, L)
	q, k := p.q, p.k
	if c.RoPE {
		q, k = RoPE(q, RoPETheta), RoPE(k, RoPETheta)
	}
	var y *Var // (B, H, L, d)
	if c.Chunk > 0 && !c.Exp {
		y = ChunkedAttention(q, k, p.v, p.a, c.coreOptions(), c.Chunk)
	} else {
		y = Attention(q, k, p.v, p.a, c.coreOptions())
	}
	return b.finish(h, y, p.dres, B, L)
}
