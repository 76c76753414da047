package ssd

import (
	"fmt"
	"math"

	"github.com/furious-lab/furious/tensor"
)

// Memory is the decoding memory of a variant per head (spec §g, Eq. 5, 6),
// for head dimension d = d_v and elements of Bytes bytes.
type Memory struct {
	Variant    string
	D          int     // feature dimension C(d+p−1, p); 0 for exp
	StateElems int     // recurrent state: D·d + D (softmax norm) + conv cache (w−1)·3d
	KVPerToken int     // KV-cache elements per token for exp variants: 2d (0 for finite orders)
	Bytes      int     // bytes per element
	Crossover  float64 // N where a softmax KV cache 2·N·d equals StateElems (Inf for exp)
}

// StateBytes is the fixed state memory per head in bytes.
func (m Memory) StateBytes() int64 { return int64(m.StateElems) * int64(m.Bytes) }

// KVCacheBytes is the per-head KV-cache memory after n tokens, 2·n·d elements
// (plus the conv cache) for exp variants; for a finite order it is StateBytes.
func (m Memory) KVCacheBytes(n int) int64 {
	return (int64(m.KVPerToken)*int64(n) + int64(m.StateElems)) * int64(m.Bytes)
}

func (m Memory) String() string {
	if m.KVPerToken > 0 {
		return fmt.Sprintf("%s: KV cache %d elements/token/head (%s per head at 8192 tokens), conv cache %d",
			m.Variant, m.KVPerToken, tensor.FormatBytes(m.KVCacheBytes(8192)), m.StateElems)
	}
	return fmt.Sprintf("%s: state %d elements/head (%s), D = %d, smaller than a softmax KV cache beyond N = %.2f tokens",
		m.Variant, m.StateElems, tensor.FormatBytes(m.StateBytes()), m.D, m.Crossover)
}

// Memory returns the per-head decoding memory of v for head dimension d and
// elements of bytes bytes (4 for fp32). The crossover solves 2·N·d = state:
// for 2Mamba (order 2, conv 2, softmax norm) N = (d+1)²/4 + 3/2 = 1057.75 at d = 64.
func (v Variant) Memory(d, bytes int) Memory {
	const op = "ssd.Variant.Memory"
	v.Validate()
	if d < 1 || bytes < 1 {
		tensor.Errorf(op, "d, bytes", "(%d, %d), want ≥ 1", d, bytes)
	}
	m := Memory{Variant: v.Name, Bytes: bytes, Crossover: math.Inf(1)}
	conv := 0
	if v.ConvWidth > 1 {
		conv = (v.ConvWidth - 1) * 3 * d
	}
	if v.Exp {
		m.KVPerToken = 2 * d
		m.StateElems = conv
		return m
	}
	m.D = FeatureDim(d, v.Order)
	m.StateElems = m.D*d + conv
	if v.Norm == NormSoftmax {
		m.StateElems += m.D
	}
	m.Crossover = float64(m.StateElems) / float64(2*d)
	return m
}
