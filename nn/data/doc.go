// Package data makes the training data of the experiments: multi-query
// associative recall (MQAR) sequences and a character-level text corpus.
//
// # MQAR
//
// MQAR (Arora et al., Zoology) tests recall: a sequence first lists N
// key–value pairs, then, among filler tokens, repeats some of the keys; the
// model must predict, at each repeated key, the value that followed it.
// MQAR.Batch(seed, n) returns token ids (n, L) and next-token targets
// (n, L) where every position except the query keys holds the ignore index,
// so a cross-entropy loss counts only recall. Layout of one sequence of
// L+1 tokens (ids are its first L, targets its last L shifted by one):
//
//	k₁ v₁ k₂ v₂ … k_N v_N | 0 0 k₃ v₃ 0 k₁ v₁ 0 …
//	keys ∈ [1, 1+K), values ∈ [1+K, Vocab), K = (Vocab−1)/2, 0 = filler
//
// Keys within a sequence are distinct; values are drawn independently;
// each query is a distinct key (NumQueries ≤ NumKV) placed at a random
// non-overlapping slot of the query region (the filler between queries is
// spread uniformly, not with Zoology's power-law gaps). The same seed gives the same
// batch on every machine.
//
// # Text
//
// Opticks returns Newton's Opticks (1730, public domain; see NOTICE) as a
// Corpus: a character vocabulary (every distinct rune of the book, sorted),
// the token ids, and a fixed split: the first 90% for training, the last
// 10% for testing. A Batcher draws random windows (ids, next-character
// targets) with a seed; Windows cuts a split into consecutive windows for
// evaluation.
package data
