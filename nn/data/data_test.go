package data

import (
	"strings"
	"testing"

	"github.com/furious-lab/furious/tensor"
)

func TestMQARLayout(t *testing.T) {
	m := MQAR{Vocab: 64, NumKV: 8, NumQueries: 6, SeqLen: 48, IgnoreIndex: -100}
	ids, tg := m.Batch(1, 5)
	if len(ids) != 5*48 || len(tg) != 5*48 {
		t.Fatalf("lengths %d %d", len(ids), len(tg))
	}
	K := (m.Vocab - 1) / 2
	for b := 0; b < 5; b++ {
		x, y := ids[b*48:(b+1)*48], tg[b*48:(b+1)*48]
		kv := map[int]int{}
		for i := 0; i < m.NumKV; i++ {
			k, v := x[2*i], x[2*i+1]
			if k < 1 || k > K || v <= K || v >= m.Vocab {
				t.Fatalf("seq %d pair %d: key %d value %d out of their ranges", b, i, k, v)
			}
			if _, dup := kv[k]; dup {
				t.Fatalf("seq %d: key %d repeated in the pairs", b, k)
			}
			kv[k] = v
		}
		queries := 0
		for p, target := range y {
			if target == m.IgnoreIndex {
				continue
			}
			queries++
			if p < 2*m.NumKV {
				t.Fatalf("seq %d: target at %d inside the pair list", b, p)
			}
			if kv[x[p]] != target {
				t.Fatalf("seq %d pos %d: key %d target %d, pairs say %d", b, p, x[p], target, kv[x[p]])
			}
			if p+1 < len(x) && x[p+1] != target {
				t.Fatalf("seq %d pos %d: next id %d is not the target %d", b, p, x[p+1], target)
			}
		}
		if queries != m.NumQueries {
			t.Fatalf("seq %d: %d queries, want %d", b, queries, m.NumQueries)
		}
	}
	ids2, tg2 := m.Batch(1, 5)
	ids3, _ := m.Batch(2, 5)
	same := func(a, b []int) bool {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	if !same(ids, ids2) || !same(tg, tg2) || same(ids, ids3) {
		t.Fatal("same seed must give the same batch, another seed another one")
	}
}

func TestMQARTightFit(t *testing.T) {
	// 2·N + 2·Q = L + 1: the last query's value is only a target.
	m := MQAR{Vocab: 9, NumKV: 4, NumQueries: 4, SeqLen: 15, IgnoreIndex: -1}
	ids, tg := m.Batch(3, 50)
	n := 0
	for _, v := range tg {
		if v != -1 {
			n++
		}
	}
	if n != 200 || len(ids) != 750 {
		t.Fatalf("%d targets in %d ids", n, len(ids))
	}
}

func TestMQARErrors(t *testing.T) {
	for _, m := range []MQAR{
		{Vocab: 10, NumKV: 8, NumQueries: 2, SeqLen: 64, IgnoreIndex: -100},
		{Vocab: 64, NumKV: 8, NumQueries: 9, SeqLen: 64, IgnoreIndex: -100},
		{Vocab: 64, NumKV: 8, NumQueries: 8, SeqLen: 30, IgnoreIndex: -100},
		{Vocab: 64, NumKV: 8, NumQueries: 8, SeqLen: 64, IgnoreIndex: 0},
	} {
		if err := tensor.Catch(func() { m.Batch(1, 1) }); err == nil {
			t.Errorf("%v: no error", m)
		} else {
			t.Logf("%v", err)
		}
	}
}

func TestOpticksCorpus(t *testing.T) {
	c := Opticks()
	text := OpticksText()
	if !strings.HasPrefix(text, "OPTICKS:") || strings.Contains(strings.ToLower(text), "gutenberg") || strings.Contains(text, "pgdp") {
		t.Fatalf("corpus should start with the title and carry no Project Gutenberg boilerplate: %q", text[:40])
	}
	if len(text) >= 2<<20 {
		t.Fatalf("corpus is %d bytes, want < 2 MB", len(text))
	}
	n := len(c.Train) + len(c.Test)
	if n != len([]rune(text)) || len(c.Test) != n-int(0.9*float64(n)) {
		t.Fatalf("split %d + %d of %d characters", len(c.Train), len(c.Test), len([]rune(text)))
	}
	if c.Decode(append(append([]int{}, c.Train...), c.Test...)) != text {
		t.Fatal("Decode(Encode(text)) != text")
	}
	t.Logf("Opticks: %d characters, vocabulary %d, train %d, test %d", n, c.VocabSize(), len(c.Train), len(c.Test))
	for i := 1; i < len(c.Vocab); i++ {
		if c.Vocab[i-1] >= c.Vocab[i] {
			t.Fatal("vocabulary not sorted")
		}
	}
}

func TestBatcherAndWindows(t *testing.T) {
	c := Opticks()
	b := NewBatcher(c.Train, 4, 32, 9)
	ids, tg := b.Next()
	for i := 0; i < 4; i++ {
		s := c.Decode(ids[i*32 : (i+1)*32])
		u := c.Decode(tg[i*32 : (i+1)*32])
		if s[len(string([]rune(s)[0])):] != u[:len(u)-len(string([]rune(u)[31]))] {
			t.Fatalf("targets are not ids shifted by one: %q / %q", s, u)
		}
		if !strings.Contains(OpticksText(), s) {
			t.Fatalf("window %q is not in the text", s)
		}
	}
	ids2, _ := NewBatcher(c.Train, 4, 32, 9).Next()
	for i := range ids {
		if ids[i] != ids2[i] {
			t.Fatal("same seed, different windows")
		}
	}
	w, wt, n := Windows(c.Test, 100, 0)
	if n != (len(c.Test)-1)/100 || w[100] != c.Test[100] || wt[99] != c.Test[100] {
		t.Fatalf("Windows: n %d", n)
	}
	if _, _, n := Windows(c.Test, 100, 3); n != 3 {
		t.Fatalf("Windows max 3 gave %d", n)
	}
}
