package data

import (
	_ "embed"
	"sort"
	"strings"
	"sync"

	"github.com/furious-lab/furious/tensor"
)

//go:embed opticks.txt
var opticksText string

// Corpus is a character-level text: its vocabulary and its train/test ids.
type Corpus struct {
	Name  string
	Vocab []rune // id → character, sorted by code point
	Train []int  // the first 90% of the text's characters
	Test  []int  // the last 10%

	index map[rune]int
}

var (
	opticksOnce sync.Once
	opticks     *Corpus
)

// Opticks returns Newton's Opticks as a character corpus (built once; the
// returned Corpus is shared, do not modify it).
func Opticks() *Corpus {
	opticksOnce.Do(func() { opticks = NewCorpus("opticks", opticksText, 0.9) })
	return opticks
}

// OpticksText returns the raw text of the book.
func OpticksText() string { return opticksText }

// NewCorpus builds a character vocabulary from every distinct rune of text
// and splits its ids: the first ⌊trainFrac·n⌋ characters train, the rest test.
func NewCorpus(name, text string, trainFrac float64) *Corpus {
	if trainFrac <= 0 || trainFrac >= 1 {
		tensor.Errorf("data.NewCorpus", "trainFrac", "%v is not in (0, 1)", trainFrac)
	}
	seen := map[rune]bool{}
	for _, r := range text {
		seen[r] = true
	}
	c := &Corpus{Name: name, index: map[rune]int{}}
	for r := range seen {
		c.Vocab = append(c.Vocab, r)
	}
	sort.Slice(c.Vocab, func(i, j int) bool { return c.Vocab[i] < c.Vocab[j] })
	for i, r := range c.Vocab {
		c.index[r] = i
	}
	ids := c.Encode(text)
	cut := int(trainFrac * float64(len(ids)))
	c.Train, c.Test = ids[:cut:cut], ids[cut:]
	return c
}

// VocabSize is the number of distinct characters.
func (c *Corpus) VocabSize() int { return len(c.Vocab) }

// Encode maps characters to ids; it panics on a character not in the vocabulary.
func (c *Corpus) Encode(s string) []int {
	out := make([]int, 0, len(s))
	for _, r := range s {
		id, ok := c.index[r]
		if !ok {
			tensor.Errorf("data.Corpus.Encode", "s", "character %q is not in the %s vocabulary", r, c.Name)
		}
		out = append(out, id)
	}
	return out
}

// Decode maps ids back to text.
func (c *Corpus) Decode(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		if id < 0 || id >= len(c.Vocab) {
			tensor.Errorf("data.Corpus.Decode", "ids", "id %d out of range for %d characters", id, len(c.Vocab))
		}
		b.WriteRune(c.Vocab[id])
	}
	return b.String()
}

// Batcher draws random training windows from a token stream.
type Batcher struct {
	Tokens []int
	Batch  int // windows per batch
	SeqLen int // L
	rng    *tensor.RNG
}

// NewBatcher returns a Batcher over tokens drawing from seed.
func NewBatcher(tokens []int, batch, seqLen int, seed uint64) *Batcher {
	if seqLen < 1 || batch < 1 || len(tokens) < seqLen+1 {
		tensor.Errorf("data.NewBatcher", "seqLen", "%d windows of length %d need ≥ %d tokens, have %d", batch, seqLen, seqLen+1, len(tokens))
	}
	return &Batcher{Tokens: tokens, Batch: batch, SeqLen: seqLen, rng: tensor.NewRNG(seed)}
}

// Next returns ids and targets (Batch, SeqLen) row-major: each row is a
// window tokens[s : s+L] at a uniform random start s, and its targets are
// tokens[s+1 : s+L+1] (next character).
func (b *Batcher) Next() (ids, targets []int) {
	L := b.SeqLen
	ids, targets = make([]int, b.Batch*L), make([]int, b.Batch*L)
	for i := 0; i < b.Batch; i++ {
		s := b.rng.Intn(len(b.Tokens) - L)
		copy(ids[i*L:], b.Tokens[s:s+L])
		copy(targets[i*L:], b.Tokens[s+1:s+L+1])
	}
	return ids, targets
}

// Windows cuts tokens into consecutive non-overlapping windows of length L
// (at most max of them, all if max ≤ 0) for evaluation: ids and targets
// (n, L) row-major and the number n of windows.
func Windows(tokens []int, L, max int) (ids, targets []int, n int) {
	n = (len(tokens) - 1) / L
	if max > 0 && n > max {
		n = max
	}
	ids, targets = make([]int, n*L), make([]int, n*L)
	for i := 0; i < n; i++ {
		copy(ids[i*L:], tokens[i*L:(i+1)*L])
		copy(targets[i*L:], tokens[i*L+1:(i+1)*L+1])
	}
	return ids, targets, n
}
