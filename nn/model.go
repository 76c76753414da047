package nn

import (
	"fmt"
	"strings"

	"github.com/furious-lab/furious/tensor"
)

// ModelConfig is a small decoder-only language model: Layers × (pre-norm
// attention block + pre-norm SwiGLU MLP, both residual), a final RMSNorm
// and an LM head.
type ModelConfig struct {
	Vocab  int
	Layers int
	Block  BlockConfig // DModel and Heads are the model's
	Hidden int         // SwiGLU hidden size (0: 8/3·DModel rounded to a multiple of 8)
	Seed   uint64
	DType  tensor.DType // Float32 to train, Float64 for gradient checks
}

// Decoder is one layer: x ← x + Attn(Norm1(x)); x ← x + MLP(Norm2(x)).
type Decoder struct {
	Norm1 *Norm
	Attn  *AttnBlock
	Norm2 *Norm
	MLP   *SwiGLU
}

// LM is the model built from a ModelConfig.
type LM struct {
	Cfg    ModelConfig
	Embed  *Embed
	Layers []*Decoder
	Norm   *Norm
	Head   *Linear
	params []*Var
}

// HiddenSize is the SwiGLU hidden size the model uses: Hidden, or
// 8/3·DModel rounded up to a multiple of 8 when Hidden is 0.
func (c ModelConfig) HiddenSize() int {
	if c.Hidden != 0 {
		return c.Hidden
	}
	return (8*c.Block.DModel/3 + 7) / 8 * 8
}

// NewLM builds a model with parameters drawn from cfg.Seed (same seed, same
// model on every machine). Names follow "layers.<i>.attn.qkv.weight".
func NewLM(cfg ModelConfig) *LM {
	Dm := cfg.Block.DModel
	if cfg.Vocab < 1 || cfg.Layers < 1 {
		tensor.Errorf("nn.NewLM", "cfg", "needs Vocab ≥ 1 and Layers ≥ 1, got %d and %d", cfg.Vocab, cfg.Layers)
	}
	cfg.Hidden = cfg.HiddenSize()
	in := NewInit(cfg.Seed, cfg.DType)
	m := &LM{Cfg: cfg, Embed: NewEmbed(in, "embed", cfg.Vocab, Dm, 1)}
	for i := 0; i < cfg.Layers; i++ {
		p := fmt.Sprintf("layers.%d", i)
		m.Layers = append(m.Layers, &Decoder{
			Norm1: NewNorm(in, p+".norm1", Dm, 1e-6),
			Attn:  NewAttnBlock(in, p+".attn", cfg.Block),
			Norm2: NewNorm(in, p+".norm2", Dm, 1e-6),
			MLP:   NewSwiGLU(in, p+".mlp", Dm, cfg.Hidden),
		})
	}
	m.Norm = NewNorm(in, "norm", Dm, 1e-6)
	m.Head = NewLinear(in, "head", Dm, cfg.Vocab, false)
	m.params = append(m.params, m.Embed.Params()...)
	for _, l := range m.Layers {
		m.params = append(m.params, l.Norm1.Params()...)
		m.params = append(m.params, l.Attn.Params()...)
		m.params = append(m.params, l.Norm2.Params()...)
		m.params = append(m.params, l.MLP.Params()...)
	}
	m.params = append(m.params, m.Norm.Params()...)
	m.params = append(m.params, m.Head.Params()...)
	return m
}

// Params returns every parameter, in construction order.
func (m *LM) Params() []*Var { return m.params }

// Forward maps ids (B·L, row-major (B, L)) to logits (B, L, Vocab).
func (m *LM) Forward(ids []int, B, L int) *Var {
	x := m.Embed.Forward(ids, B, L) // (B, L, D)
	for _, l := range m.Layers {
		x = Add(x, l.Attn.Forward(l.Norm1.Forward(x)))
		x = Add(x, l.MLP.Forward(l.Norm2.Forward(x)))
	}
	return m.Head.Forward(m.Norm.Forward(x)) // (B, L, V)
}

// Loss is the mean next-token cross-entropy over targets ≠ ignore.
func (m *LM) Loss(ids, targets []int, B, L, ignore int) *Var {
	return CrossEntropy(m.Forward(ids, B, L), targets, ignore)
}

// Decay is the weight-decay rule for AdamW.Decay: matrices and embeddings
// are decayed; norms, biases, A_log, dt bias and D are not.
func (m *LM) Decay(p *Var) bool {
	return p.Value.Rank() >= 2 && !strings.HasSuffix(p.Name, ".D")
}

// Sample extends prompt by n tokens, each drawn from softmax(logits/T) of
// the last position (T ≤ 0: greedy arg-max), with a seeded generator. It
// reruns the model on the whole window (at most maxLen tokens, the last
// ones) for every token: O(n·L²), meant for short demos.
func (m *LM) Sample(prompt []int, n int, temperature float64, maxLen int, seed uint64) []int {
	if len(prompt) == 0 {
		tensor.Errorf("nn.LM.Sample", "prompt", "needs at least one token")
	}
	r := tensor.NewRNG(seed)
	out := append([]int(nil), prompt...)
	V := m.Cfg.Vocab
	for i := 0; i < n; i++ {
		ctx := out
		if maxLen > 0 && len(ctx) > maxLen {
			ctx = ctx[len(ctx)-maxLen:]
		}
		var lg []float64
		NoGrad(func() { lg = m.Forward(ctx, 1, len(ctx)).Value.Data()[(len(ctx)-1)*V:] })
		best := pickToken(lg, temperature, r)
		out = append(out, best)
	}
	return out
}
