package nn

import (
	"fmt"
	"math"

	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// LMDecoder is the recurrent (token-by-token) inference state of an LM for
// one sequence: per layer the last Conv−1 inputs of the block's causal conv
// (ssd.ConvState) and the attention state, an ssd.State per head for the
// finite orders (S ∈ R^{D×d}, plus z ∈ R^D with softmax norm, D = C(d+p−1, p))
// or an ssd.KVCache for the exp order (2Mamba-E, softmax; RoPE rotates q and
// k at the token's own position, so cached keys keep their rotation). Each
// Step costs O(Layers·H·D·d) for the finite orders, whatever the context
// length (O(t·d) per head for the exp order). Inference only: no graph.
type LMDecoder struct {
	m     *LM
	conv  []*ssd.ConvState // per layer; nil without conv
	state []*ssd.State     // per layer; finite orders
	cache []*ssd.KVCache   // per layer; exp order
	pos   int              // tokens consumed
}

// NewDecoder returns the zero decoding state of m (before the first token).
// The model's parameters are read at every Step, not copied.
func (m *LM) NewDecoder() *LMDecoder {
	c := m.Cfg.Block
	H, d := c.Heads, c.DModel/c.Heads
	dt := m.Embed.W.Value.DType()
	o := c.coreOptions()
	dec := &LMDecoder{m: m}
	for range m.Layers {
		if c.ConvWidth > 0 {
			dec.conv = append(dec.conv, ssd.NewConvState(dt, 1, 3*H*d, c.ConvWidth))
		} else {
			dec.conv = append(dec.conv, nil)
		}
		if c.Exp {
			dec.cache = append(dec.cache, ssd.NewKVCache(dt, 1, H, d, d, o))
		} else {
			dec.state = append(dec.state, ssd.NewState(dt, 1, H, d, d, o))
		}
	}
	return dec
}

// Pos is the number of tokens the decoder has consumed (the position of the
// next token).
func (dec *LMDecoder) Pos() int { return dec.pos }

// Reset returns the decoder to the zero state.
func (dec *LMDecoder) Reset() { *dec = *dec.m.NewDecoder() }

// State returns layer li's attention state (per head S, and z with softmax
// norm; see ssd.State), or nil for the exp order, which keeps a KV cache
// (Cache). The state is live: the next Step changes it.
func (dec *LMDecoder) State(li int) *ssd.State {
	dec.checkLayer("nn.LMDecoder.State", li)
	if dec.state == nil {
		return nil
	}
	return dec.state[li]
}

// Cache returns layer li's KV cache for the exp order (2Mamba-E, softmax),
// or nil for the finite orders, which keep a fixed-size State. Live, as State.
func (dec *LMDecoder) Cache(li int) *ssd.KVCache {
	dec.checkLayer("nn.LMDecoder.Cache", li)
	if dec.cache == nil {
		return nil
	}
	return dec.cache[li]
}

func (dec *LMDecoder) checkLayer(op string, li int) {
	if li < 0 || li >= len(dec.m.Layers) {
		tensor.Errorf(op, "li", "is %d, want 0 ≤ li < %d (the model's layers)", li, len(dec.m.Layers))
	}
}

// StateBytes is the decoding memory: the conv histories (Layers·(Conv−1)·3·H·d
// elements) plus the attention states (Layers·H·D·(d [+1]) elements for the
// finite orders, constant; Layers·H·Pos·2d elements of KV cache for the exp
// order, growing), in the model's dtype.
func (dec *LMDecoder) StateBytes() int64 {
	var n int64
	for _, c := range dec.conv {
		if c != nil {
			n += c.Bytes()
		}
	}
	for _, s := range dec.state {
		n += s.Bytes()
	}
	for _, c := range dec.cache {
		n += c.Bytes()
	}
	return n
}

func (dec *LMDecoder) String() string {
	return fmt.Sprintf("nn.LMDecoder{%d layers, %d tokens, %s}", len(dec.m.Layers), dec.pos, tensor.FormatBytes(dec.StateBytes()))
}

// Step feeds token id at position Pos and returns the next-token logits
// (Vocab), equal to LM.Forward's logits at that position of the sequence
// fed so far: x = Embed(id); per layer x += Attn(Norm1(x)) (recurrent),
// x += MLP(Norm2(x)); logits = Head(Norm(x)).
func (dec *LMDecoder) Step(id int) *tensor.Tensor {
	m := dec.m
	if id < 0 || id >= m.Cfg.Vocab {
		tensor.Errorf("nn.LMDecoder.Step", "id", "%d is out of range for a vocabulary of %d", id, m.Cfg.Vocab)
	}
	var out *tensor.Tensor
	NoGrad(func() {
		x := m.Embed.Forward([]int{id}, 1, 1) // (1, 1, D)
		for li, l := range m.Layers {
			x = Add(x, dec.attnStep(li, l.Attn, l.Norm1.Forward(x)))
			x = Add(x, l.MLP.Forward(l.Norm2.Forward(x)))
		}
		out = m.Head.Forward(m.Norm.Forward(x)).Value.Reshape(m.Cfg.Vocab)
	})
	dec.pos++
	return out
}

// attnStep is AttnBlock.Forward for one token h (1, 1, DModel) → (1, 1, DModel),
// with the conv and the attention replaced by their recurrent steps.
func (dec *LMDecoder) attnStep(li int, b *AttnBlock, h *Var) *Var {
	c := b.Cfg
	H := c.Heads
	d := c.DModel / H
	qkv := MatMul(h, b.QKV) // (1, 1, 3·H·d)
	if c.ConvWidth > 0 {
		qkv = Const(dec.conv[li].Step(qkv.Value.Reshape(1, 3*H*d), b.ConvW.Value, valueOf(b.ConvB), false).Reshape(1, 1, 3*H*d))
	}
	p := b.parts(h, qkv, 1, 1)
	qt, kt, vt := p.q.Value.Reshape(1, H, d), p.k.Value.Reshape(1, H, d), p.v.Value.Reshape(1, H, d)
	if c.RoPE {
		qt, kt = ropeAt(qt, dec.pos, RoPETheta), ropeAt(kt, dec.pos, RoPETheta)
	}
	var at *tensor.Tensor
	if p.a != nil {
		at = p.a.Value.Reshape(1, H)
	}
	var yt *tensor.Tensor // (1, H, d)
	if c.Exp {
		yt = dec.cache[li].Step(qt, kt, vt, at)
	} else {
		yt = dec.state[li].Step(qt, kt, vt, at)
	}
	return b.finish(h, Const(yt.Reshape(1, H, 1, d)), p.dres, 1, 1)
}

// ropeAt rotates x (…, d), d even, as RoPE does at position t:
// (x_{2i}, x_{2i+1}) → (x_{2i} cos tω_i − x_{2i+1} sin tω_i, x_{2i} sin tω_i + x_{2i+1} cos tω_i),
// ω_i = θ^(−2i/d).
func ropeAt(x *tensor.Tensor, t int, theta float64) *tensor.Tensor {
	xs := x.Shape()
	d := xs[len(xs)-1]
	in := x.Data()
	out := make([]float64, len(in))
	for i := 0; i < d/2; i++ {
		ang := float64(t) * math.Pow(theta, -2*float64(i)/float64(d))
		c, s := math.Cos(ang), math.Sin(ang)
		for r := 0; r < len(in)/d; r++ {
			x1, x2 := in[r*d+2*i], in[r*d+2*i+1]
			out[r*d+2*i], out[r*d+2*i+1] = x1*c-x2*s, x1*s+x2*c
		}
	}
	return fromData(x.DType(), out, xs)
}

// Generate feeds prompt from the decoder's current state, then extends it by
// n tokens, each drawn from softmax(logits/T) of the last one (T ≤ 0: greedy
// arg-max) with a seeded generator, and returns prompt followed by the n
// tokens (all of them consumed by the decoder). From a fresh decoder it draws
// what LM.Sample(prompt, n, T, 0, seed) draws, at O(1) cost per token for the
// finite orders instead of O(L²).
func (dec *LMDecoder) Generate(prompt []int, n int, temperature float64, seed uint64) []int {
	if len(prompt) == 0 {
		tensor.Errorf("nn.LMDecoder.Generate", "prompt", "needs at least one token")
	}
	if n < 0 {
		tensor.Errorf("nn.LMDecoder.Generate", "n", "is %d, want ≥ 0", n)
	}
	for _, id := range prompt {
		if id < 0 || id >= dec.m.Cfg.Vocab {
			tensor.Errorf("nn.LMDecoder.Generate", "prompt", "id %d is out of range for a vocabulary of %d", id, dec.m.Cfg.Vocab)
		}
	}
	r := tensor.NewRNG(seed)
	out := append([]int(nil), prompt...)
	var lg *tensor.Tensor
	for _, id := range prompt {
		lg = dec.Step(id)
	}
	for i := 0; i < n; i++ {
		next := pickToken(lg.Data(), temperature, r)
		out = append(out, next)
		lg = dec.Step(next)
	}
	return out
}

// pickToken draws from softmax(lg/T) with r (T ≤ 0: the arg-max, first on ties).
func pickToken(lg []float64, temperature float64, r *tensor.RNG) int {
	best := 0
	for c := range lg {
		if lg[c] > lg[best] {
			best = c
		}
	}
	if temperature > 0 {
		p := make([]float64, len(lg))
		var z float64
		for c := range lg {
			p[c] = math.Exp((lg[c] - lg[best]) / temperature)
			z += p[c]
		}
		u := r.Float64() * z
		for c := range p {
			if u -= p[c]; u < 0 {
				best = c
				break
			}
		}
	}
	return best
}
