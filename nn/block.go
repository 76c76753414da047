package nn

import (
	"fmt"
	"math"

	"github.com/furious-lab/furious/tensor"
)

// BlockConfig chooses the axes of one attention block (spec §d). Package
// ssd's presets map onto it; Preset gives the six of the paper's figures.
// Empty strings mean "none".
type BlockConfig struct {
	DModel int // hidden size; head dim d = DModel / Heads
	Heads  int
	Order  int    // OrderLinear, OrderSquared or OrderExp
	Mask   string // "none", "softplus" a = −softplus(h W_A), "discretize" a = −exp(A_log)·dt, "forget" a = log σ(h W_f)
	Norm   string // "output" (RMSNorm over the merged heads), "softmax" (Σ_j P_ij), "none"
	Conv   int    // width of the causal depthwise conv on q, k, v (0 = none; the paper uses 2)
	QKAct  string // activation on q and k after the conv: "none", "silu", "relu"
	DtV    bool   // values discretised: V ← V ⊙ dt, dt = softplus(h W_dt [+ dt_bias])
	DtBias bool   // Mamba-2's dt bias: dt_bias = softplus⁻¹(dt0), dt0 = exp(U[log 1e-3, log 1e-1]) (the 2Mamba configs have none)
	DRes   bool   // D residual: y += V ⊙ D (D (H, d), init 1, taken before V ⊙ dt)
	ZGate  bool   // output gate: y ⊙= silu(h W_z + b_z)
	RoPE   bool   // rotary position embeddings on q and k (θ = 10000), the softmax baseline's
	Chunk  int    // 0: quadratic form; > 0: chunked form with chunks of this length (orders 1, 2)
}

// Preset returns the block of a named model of the paper, with DModel and
// Heads left for the caller: "linear", "mamba2", "mamba2s", "2mamba",
// "2mamba-e", "softmax". Mamba-2 here is the attention-form simplification
// of Alg. 3 (per-head B and C, conv 2 + SiLU on q, k, discretised values, D
// residual, Z gate, output norm); Softmax is causal softmax attention with
// RoPE (spec §b).
func Preset(name string) BlockConfig {
	switch name {
	case "linear":
		return BlockConfig{Order: OrderLinear, Mask: "none", Norm: "output", QKAct: "none"}
	case "mamba2":
		return BlockConfig{Order: OrderLinear, Mask: "discretize", Norm: "output", Conv: 2, QKAct: "silu", DtV: true, DtBias: true, DRes: true, ZGate: true}
	case "mamba2s":
		return BlockConfig{Order: OrderLinear, Mask: "softplus", Norm: "output", Conv: 2, QKAct: "none", DtV: true}
	case "2mamba":
		return BlockConfig{Order: OrderSquared, Mask: "softplus", Norm: "softmax", Conv: 2, QKAct: "none", DtV: true}
	case "2mamba-e":
		return BlockConfig{Order: OrderExp, Mask: "softplus", Norm: "softmax", Conv: 2, QKAct: "none", DtV: true}
	case "softmax":
		return BlockConfig{Order: OrderExp, Mask: "none", Norm: "softmax", QKAct: "none", RoPE: true}
	}
	tensor.Errorf("nn.Preset", "name", "%q is not linear, mamba2, mamba2s, 2mamba, 2mamba-e or softmax", name)
	return BlockConfig{}
}

// Presets lists the names Preset knows, in the paper's order of loss.
var Presets = []string{"linear", "mamba2", "mamba2s", "2mamba", "2mamba-e", "softmax"}

// AttnBlock is one attention block with its parameters (nil when the
// config does not use them).
type AttnBlock struct {
	Cfg   BlockConfig
	QKV   *Var // (DModel, 3·H·d)
	ConvW *Var // (3·H·d, Conv)
	ConvB *Var // (3·H·d)
	WA    *Var // (DModel, H): softplus / forget decay projection
	WDt   *Var // (DModel, H): dt projection
	DtB   *Var // (H): dt bias
	ALog  *Var // (H): discretize, log U[1, 16]
	D     *Var // (H, d)
	WZ    *Var // (DModel, H·d)
	BZ    *Var // (H·d)
	NormW *Var // (H·d) output norm weight
	O     *Var // (H·d, DModel)
}

func (c BlockConfig) check() {
	const op = "nn.BlockConfig"
	if c.Heads < 1 || c.DModel < c.Heads || c.DModel%c.Heads != 0 {
		tensor.Errorf(op, "DModel", "%d is not a positive multiple of Heads %d", c.DModel, c.Heads)
	}
	if c.Order != OrderLinear && c.Order != OrderSquared && c.Order != OrderExp {
		tensor.Errorf(op, "Order", "%d is not OrderLinear (1), OrderSquared (2) or OrderExp (-1)", c.Order)
	}
	ok := map[string]bool{"": true, "none": true, "softplus": true, "discretize": true, "forget": true}
	if !ok[c.Mask] {
		tensor.Errorf(op, "Mask", "%q is not none, softplus, discretize or forget", c.Mask)
	}
	if c.Norm != "output" && c.Norm != "softmax" && c.Norm != "none" && c.Norm != "" {
		tensor.Errorf(op, "Norm", "%q is not output, softmax or none", c.Norm)
	}
	if c.QKAct != "none" && c.QKAct != "silu" && c.QKAct != "relu" && c.QKAct != "" {
		tensor.Errorf(op, "QKAct", "%q is not none, silu or relu", c.QKAct)
	}
	if c.Chunk > 0 && c.Order == OrderExp {
		tensor.Errorf(op, "Chunk", "the exp order has no chunked form; set Chunk to 0")
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
	if c.Conv > 0 {
		bound := 1 / math.Sqrt(float64(c.Conv)) // PyTorch Conv1d default, fan_in = width
		b.ConvW = NamedParam(name+".conv.weight", init.Uniform(bound, 3*hd, c.Conv))
		b.ConvB = NamedParam(name+".conv.bias", init.Uniform(bound, 3*hd))
	}
	if c.Mask == "softplus" || c.Mask == "forget" {
		b.WA = NamedParam(name+".a.weight", init.Linear(Dm, H))
	}
	if c.DtV || c.Mask == "discretize" {
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
	if c.Mask == "discretize" {
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
		b.BZ = NamedParam(name+".z.bias", init.Full(0, hd))
	}
	if c.Norm == "output" {
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

// Forward maps h (B, L, DModel) → (B, L, DModel) in the order of spec §d.
func (b *AttnBlock) Forward(h *Var) *Var {
	c := b.Cfg
	hs := h.Value.Shape()
	tensor.CheckShape("nn.AttnBlock.Forward", "h", hs, fmt.Sprintf("(want (B, L, %d))", c.DModel), -1, -1, c.DModel)
	B, L, H := hs[0], hs[1], c.Heads
	d := c.DModel / H
	qkv := MatMul(h, b.QKV) // (B, L, 3·H·d)
	if c.Conv > 0 {
		qkv = CausalConv1d(qkv, b.ConvW, b.ConvB)
	}
	qkv = Permute(Reshape(qkv, B, L, 3, H, d), 2, 0, 3, 1, 4) // (3, B, H, L, d)
	q := Reshape(Slice(qkv, 0, 0, 1), B, H, L, d)
	k := Reshape(Slice(qkv, 0, 1, 2), B, H, L, d)
	v := Reshape(Slice(qkv, 0, 2, 3), B, H, L, d)
	var dt, a, xdt *Var
	if b.WDt != nil {
		xdt = heads(MatMul(h, b.WDt)) // (B, H, L) dt pre-activation
		x := xdt
		if b.DtB != nil {
			x = Add(x, Reshape(b.DtB, H, 1))
		}
		dt = Softplus(x) // dt = softplus(h W_dt + dt_bias)
	}
	switch c.Mask {
	case "softplus", "forget":
		a = LogDecay(c.Mask, heads(MatMul(h, b.WA)), nil, nil) // −softplus(h W_A) or log σ(h W_f)
	case "discretize":
		a = LogDecay(c.Mask, xdt, b.ALog, b.DtB) // a = −exp(A_log)·dt
	}
	var dres *Var
	if b.D != nil {
		dres = Mul(v, Reshape(b.D, H, 1, d)) // V ⊙ D, before discretisation
	}
	if c.DtV {
		v = Mul(v, Reshape(dt, B, H, L, 1)) // V ⊙ dt
	}
	switch c.QKAct {
	case "silu":
		q, k = SiLU(q), SiLU(k)
	case "relu":
		q, k = ReLU(q), ReLU(k)
	}
	if c.RoPE {
		q, k = RoPE(q, 10000), RoPE(k, 10000)
	}
	var y *Var // (B, H, L, d)
	if c.Chunk > 0 {
		y = ChunkedAttention(q, k, v, a, c.Order, c.Norm == "softmax", c.Chunk)
	} else {
		y = Attention(q, k, v, a, c.Order, c.Norm == "softmax")
	}
	if dres != nil {
		y = Add(y, dres)
	}
	y = Reshape(Permute(y, 0, 2, 1, 3), B, L, H*d) // merge heads
	if b.WZ != nil {
		y = Mul(y, SiLU(Add(MatMul(h, b.WZ), b.BZ)))
	}
	if b.NormW != nil {
		y = RMSNorm(y, b.NormW, 1.1920928955078125e-07) // torch.finfo(float32).eps
	}
	return MatMul(y, b.O)
}
