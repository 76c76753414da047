package data

import (
	"fmt"

	"github.com/furious-lab/furious/tensor"
)

// MQAR configures a multi-query associative recall generator.
type MQAR struct {
	Vocab       int // vocabulary size, ≥ 2·NumKV+1 (0 is the filler token)
	NumKV       int // key–value pairs listed at the start, N
	NumQueries  int // keys repeated in the query region, ≤ NumKV
	SeqLen      int // L: ids and targets per sequence; 2·NumKV + 2·NumQueries ≤ L+1
	IgnoreIndex int // target of every non-query position (−100 like PyTorch)
}

// Check panics with a *tensor.Error when the configuration is impossible.
func (m MQAR) Check() {
	const op = "data.MQAR"
	keys := (m.Vocab - 1) / 2
	switch {
	case m.NumKV < 1 || m.NumQueries < 1:
		tensor.Errorf(op, "NumKV", "need at least one pair and one query, got %d and %d", m.NumKV, m.NumQueries)
	case m.NumQueries > m.NumKV:
		tensor.Errorf(op, "NumQueries", "%d > NumKV %d (queries are distinct keys)", m.NumQueries, m.NumKV)
	case keys < m.NumKV || m.Vocab-1-keys < 1:
		tensor.Errorf(op, "Vocab", "%d is too small for %d distinct keys (need ≥ %d)", m.Vocab, m.NumKV, 2*m.NumKV+1)
	case 2*m.NumKV+2*m.NumQueries > m.SeqLen+1:
		tensor.Errorf(op, "SeqLen", "%d is too short for %d pairs and %d queries (need ≥ %d)", m.SeqLen, m.NumKV, m.NumQueries, 2*m.NumKV+2*m.NumQueries-1)
	case m.IgnoreIndex >= 0 && m.IgnoreIndex < m.Vocab:
		tensor.Errorf(op, "IgnoreIndex", "%d is a token id (vocabulary %d); use a negative index", m.IgnoreIndex, m.Vocab)
	}
}

// String describes the task.
func (m MQAR) String() string {
	return fmt.Sprintf("MQAR(vocab %d, %d pairs, %d queries, L %d)", m.Vocab, m.NumKV, m.NumQueries, m.SeqLen)
}

// Batch returns n sequences drawn from seed: ids (n·L, row-major (n, L))
// and targets of the same shape, targets[t] = the value after a query key at
// position t, IgnoreIndex elsewhere.
func (m MQAR) Batch(seed uint64, n int) (ids, targets []int) {
	m.Check()
	L := m.SeqLen
	r := tensor.NewRNG(seed)
	ids, targets = make([]int, n*L), make([]int, n*L)
	keys := (m.Vocab - 1) / 2
	seq := make([]int, L+1)
	for b := 0; b < n; b++ {
		for i := range seq {
			seq[i] = 0
		}
		k := perm(r, keys)[:m.NumKV] // distinct keys (0-based in [0, keys))
		vals := make([]int, m.NumKV)
		for i := range k {
			vals[i] = 1 + keys + r.Intn(m.Vocab-1-keys)
			seq[2*i], seq[2*i+1] = 1+k[i], vals[i]
		}
		// Query region [2N, L+1): choose NumQueries of its pair slots, each a
		// start position with room for the value; slots do not overlap.
		start, room := 2*m.NumKV, L+1-2*m.NumKV
		free := room - 2*m.NumQueries // filler tokens to spread between queries
		gaps := make([]int, m.NumQueries+1)
		for i := 0; i < free; i++ {
			gaps[r.Intn(len(gaps))]++
		}
		which := perm(r, m.NumKV)[:m.NumQueries]
		pos := start
		qpos := make([]int, m.NumQueries)
		for i, w := range which {
			pos += gaps[i]
			seq[pos], seq[pos+1] = 1+k[w], vals[w]
			qpos[i] = pos
			pos += 2
		}
		copy(ids[b*L:(b+1)*L], seq[:L])
		tg := targets[b*L : (b+1)*L]
		for i := range tg {
			tg[i] = m.IgnoreIndex
		}
		for _, p := range qpos {
			tg[p] = seq[p+1]
		}
	}
	return ids, targets
}

// perm returns a uniformly random permutation of 0..n−1 (Fisher–Yates).
func perm(r *tensor.RNG, n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.Intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}
