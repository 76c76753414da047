package nn

import (
	"math"
	"testing"

	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

func decodeTestModel(preset string, dt tensor.DType, chunk int) *LM {
	b := Preset(preset)
	b.DModel, b.Heads = 16, 2
	b.Chunk = chunk
	return NewLM(ModelConfig{Vocab: 11, Layers: 2, Block: b, Seed: 5, DType: dt})
}

func decodeTestIDs(n, vocab int, seed uint64) []int {
	r := tensor.NewRNG(seed)
	ids := make([]int, n)
	for i := range ids {
		ids[i] = int(r.Float64() * float64(vocab))
	}
	return ids
}

// stepVsForward returns max |Step logits − Forward logits| over every position
// and the largest |logit|.
func stepVsForward(m *LM, ids []int) (worst, scale float64) {
	V := m.Cfg.Vocab
	var full []float64
	NoGrad(func() { full = m.Forward(ids, 1, len(ids)).Value.Data() })
	dec := m.NewDecoder()
	for t, id := range ids {
		lg := dec.Step(id).Data()
		for c := 0; c < V; c++ {
			worst = math.Max(worst, math.Abs(lg[c]-full[t*V+c]))
			scale = math.Max(scale, math.Abs(full[t*V+c]))
		}
	}
	return worst, scale
}

// allPresets are the keys of every row of the preset table.
func allPresets() []string {
	var out []string
	for _, p := range ssd.PresetTable() {
		out = append(out, p.Key)
	}
	return out
}

// The decoder's logits equal the forward's relative to the largest logit:
// 1e-5 in float32 (order 2's recurrent feature map φ(q)·φ(k) cancels more
// than the quadratic form's squared dot product, spec §e), 1e-9 in float64.
func TestDecoderMatchesForward(t *testing.T) {
	const L = 24
	for _, p := range allPresets() {
		for _, c := range []struct {
			dt  tensor.DType
			tol float64
		}{{tensor.Float32, 1e-5}, {tensor.Float64, 1e-9}} {
			m := decodeTestModel(p, c.dt, 0)
			ids := decodeTestIDs(L, m.Cfg.Vocab, 3)
			worst, scale := stepVsForward(m, ids)
			t.Logf("%-9s %s: max |Step − Forward| = %.2e (max |logit| %.2f)", p, c.dt, worst, scale)
			if !(worst <= c.tol*scale) || scale == 0 {
				t.Errorf("%s %s: max |Step − Forward| = %.3e > %.0e × %.2f", p, c.dt, worst, c.tol, scale)
			}
		}
	}
}

func TestDecoderMatchesChunkedForward(t *testing.T) {
	for _, p := range []string{"mamba2", "2mamba"} {
		m := decodeTestModel(p, tensor.Float64, 4)
		worst, _ := stepVsForward(m, decodeTestIDs(19, m.Cfg.Vocab, 4))
		if !(worst <= 1e-9) {
			t.Errorf("%s chunked: max |Step − Forward| = %.3e", p, worst)
		}
	}
}

func TestDecoderGenerateMatchesSample(t *testing.T) {
	for _, p := range Presets {
		m := decodeTestModel(p, tensor.Float64, 0)
		prompt := decodeTestIDs(5, m.Cfg.Vocab, 7)
		want := m.Sample(prompt, 12, 0, 0, 1)
		got := m.NewDecoder().Generate(prompt, 12, 0, 1)
		if len(got) != len(want) {
			t.Fatalf("%s: Generate gave %d tokens, Sample %d", p, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s greedy: Generate %v, Sample %v", p, got, want)
				break
			}
		}
		// sampling at T = 1 draws the same tokens from the same seed
		want = m.Sample(prompt, 12, 1, 0, 9)
		got = m.NewDecoder().Generate(prompt, 12, 1, 9)
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s T=1: Generate %v, Sample %v", p, got, want)
				break
			}
		}
	}
}

func TestDecoderStateBytes(t *testing.T) {
	// 2mamba: d = 8, order 2: D = 36, width d+1 = 9; conv 2 keeps 1·3·16 values
	m := decodeTestModel("2mamba", tensor.Float32, 0)
	dec := m.NewDecoder()
	want := int64(2 * (2*36*9 + 3*16) * 4)
	if got := dec.StateBytes(); got != want {
		t.Errorf("2mamba StateBytes = %d, want %d", got, want)
	}
	dec.Generate([]int{1, 2, 3}, 4, 0, 1)
	if got := dec.StateBytes(); got != want || dec.Pos() != 7 {
		t.Errorf("after 7 tokens: StateBytes = %d (want %d), Pos = %d", got, want, dec.Pos())
	}
	dec.Reset()
	if dec.Pos() != 0 {
		t.Errorf("Reset: Pos = %d", dec.Pos())
	}
	// softmax: the KV cache grows by 2·H·d values per layer and token
	ms := decodeTestModel("softmax", tensor.Float64, 0)
	ds := ms.NewDecoder()
	if ds.StateBytes() != 0 {
		t.Errorf("empty KV cache: %d bytes", ds.StateBytes())
	}
	ds.Step(0)
	ds.Step(1)
	if got, want := ds.StateBytes(), int64(2*2*2*16*8); got != want {
		t.Errorf("softmax after 2 tokens: StateBytes = %d, want %d", got, want)
	}
}

func TestDecoderErrors(t *testing.T) {
	m := decodeTestModel("2mamba", tensor.Float32, 0)
	dec := m.NewDecoder()
	for _, id := range []int{-1, 11, 1000} {
		err := tensor.Catch(func() { dec.Step(id) })
		if err == nil {
			t.Errorf("Step(%d) did not fail", id)
		} else if te, ok := err.(*tensor.Error); !ok || te.Op != "nn.LMDecoder.Step" || te.Arg != "id" {
			t.Errorf("Step(%d): %v", id, err)
		}
	}
	if dec.Pos() != 0 {
		t.Errorf("failed steps moved Pos to %d", dec.Pos())
	}
	for _, f := range []func(){
		func() { dec.Generate(nil, 3, 0, 1) },
		func() { dec.Generate([]int{1, 11}, 3, 0, 1) },
		func() { dec.Generate([]int{1}, -1, 0, 1) },
	} {
		if err := tensor.Catch(f); err == nil {
			t.Error("bad Generate call did not fail")
		}
	}
}

// TestDecoderSpeed times Generate against LM.Sample on a small float32 model
// (go test -run DecoderSpeed -v) and checks they draw the same greedy tokens.
// On a larger float32 model, greedy Generate draws exactly what Sample draws.
func TestDecoderGreedyMatchesSampleFloat32(t *testing.T) {
	m, prompt := decodeBenchModel()
	got := m.NewDecoder().Generate(prompt, 40, 0, 1)
	want := m.Sample(prompt, 40, 0, 0, 1)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("float32 greedy: Generate %v, Sample %v", got, want)
		}
	}
}

func decodeBenchModel() (*LM, []int) {
	b := Preset("2mamba")
	b.DModel, b.Heads = 64, 4
	return NewLM(ModelConfig{Vocab: 64, Layers: 2, Block: b, Seed: 1, DType: tensor.Float32}), decodeTestIDs(8, 64, 1)
}

// BenchmarkDecode compares recurrent decoding (constant work per token) with
// Sample, which re-runs the whole window for every token; tokens/s reported.
func BenchmarkDecode(b *testing.B) {
	m, prompt := decodeBenchModel()
	const n = 120
	b.Run("Generate", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			m.NewDecoder().Generate(prompt, n, 0, 1)
		}
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "tok/s")
	})
	b.Run("Sample", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			m.Sample(prompt, n, 0, 0, 1)
		}
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "tok/s")
	})
}

// Generate leaves the decoder after the returned tokens: a further Step gives
// Forward's logits at the next position; Reset starts over.
func TestDecoderContinuesAfterGenerate(t *testing.T) {
	for _, p := range []string{"mamba2", "2mamba-e", "softmax"} {
		m := decodeTestModel(p, tensor.Float64, 0)
		dec := m.NewDecoder()
		seq := append(dec.Generate([]int{3, 1}, 6, 0.7, 2), 4)
		lg := dec.Step(4).Data()
		var full []float64
		NoGrad(func() { full = m.Forward(seq, 1, len(seq)).Value.Data() })
		V := m.Cfg.Vocab
		last := full[(len(seq)-1)*V:]
		for c := range lg {
			if math.Abs(lg[c]-last[c]) > 1e-9 {
				t.Fatalf("%s: logit %d after Generate: %g, Forward %g", p, c, lg[c], last[c])
			}
		}
		dec.Reset()
		first := dec.Step(seq[0]).Data()
		for c := range first {
			if math.Abs(first[c]-full[c]) > 1e-9 {
				t.Fatalf("%s: logit %d after Reset: %g, Forward %g", p, c, first[c], full[c])
			}
		}
	}
}

// TestDecoderStateAccess checks State and Cache: the finite orders expose a
// live fixed-size ssd.State per layer, the exp order a growing KV cache, and a
// bad layer index is an error naming li.
func TestDecoderStateAccess(t *testing.T) {
	m := decodeTestModel("2mamba", tensor.Float64, 0)
	dec := m.NewDecoder()
	if dec.Cache(0) != nil {
		t.Error("2mamba decoder has a KV cache")
	}
	s := dec.State(1)
	if s == nil || s.D != 36 || s.Dv != 8 || s.H != 2 {
		t.Fatalf("2mamba State(1) = %v, want D 36, Dv 8, H 2", s)
	}
	before := s.S.Clone()
	dec.Step(3)
	if tensor.MaxAbsDiff(before, dec.State(1).S) == 0 {
		t.Error("State(1) did not change after a Step: not the live state")
	}
	ms := decodeTestModel("softmax", tensor.Float64, 0)
	ds := ms.NewDecoder()
	if ds.State(0) != nil || ds.Cache(0) == nil {
		t.Fatal("softmax decoder: want a KV cache and no State")
	}
	ds.Step(1)
	if ds.Cache(1).Bytes() == 0 {
		t.Error("KV cache empty after a Step")
	}
	for _, li := range []int{-1, 2} {
		err := tensor.Catch(func() { dec.State(li) })
		if te, ok := err.(*tensor.Error); !ok || te.Arg != "li" {
			t.Errorf("State(%d): %v", li, err)
		}
	}
}

// The decoder runs the order-3 output-norm block and a block with a user's
// own log-decay (a position-wise function of h) as the forward does.
func TestDecoderOrder3AndCustomMask(t *testing.T) {
	for _, name := range []string{"order3", "custom-mask", "forget"} {
		b := gcBlocks()[name]
		b.DModel, b.Heads = 8, 2
		m := NewLM(ModelConfig{Vocab: 11, Layers: 2, Block: b, Seed: 5, DType: tensor.Float64})
		worst, scale := stepVsForward(m, decodeTestIDs(17, 11, 9))
		t.Logf("%s: max |Step − Forward| = %.2e (max |logit| %.2f)", name, worst, scale)
		if !(worst <= 1e-9*scale) || scale == 0 {
			t.Errorf("%s: max |Step − Forward| = %.3e", name, worst)
		}
	}
}
