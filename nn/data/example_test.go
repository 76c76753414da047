package data_test

import (
	"fmt"

	"github.com/furious-lab/furious/nn/data"
)

// Pairs 4→8 and 1→6, then filler 0 and the queries 4 and 1: the targets
// at their positions (5 and 7) are the paired values.
func ExampleMQAR() {
	m := data.MQAR{Vocab: 9, NumKV: 2, NumQueries: 2, SeqLen: 9, IgnoreIndex: -1}
	ids, targets := m.Batch(6, 1)
	fmt.Println(ids)
	fmt.Println(targets)
	// Output:
	// [4 8 1 6 0 4 8 1 6]
	// [-1 -1 -1 -1 -1 8 -1 6 -1]
}
