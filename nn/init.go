package nn

import (
	"math"

	"github.com/furious-lab/furious/tensor"
)

// Init hands out initial parameter values from one seed: every call draws
// from the next sub-seed (seed, seed+1, ...), so a model built in the same
// order is identical on every machine and backend. DType is Float32 unless
// set.
type Init struct {
	Seed  uint64
	DType tensor.DType
	n     uint64
}

// NewInit returns an initialiser for seed producing dtype tensors.
func NewInit(seed uint64, dtype tensor.DType) *Init { return &Init{Seed: seed, DType: dtype} }

func (in *Init) next() uint64 {
	s := in.Seed*0x9e3779b97f4a7c15 + in.n
	in.n++
	return s
}

// Normal returns N(0, std²) values of shape.
func (in *Init) Normal(std float64, shape ...int) *tensor.Tensor {
	t := tensor.NewRNG(in.next()).Randn64(shape...)
	return tensor.Scale(t, std).As(in.DType)
}

// Uniform returns U(−bound, bound) values of shape.
func (in *Init) Uniform(bound float64, shape ...int) *tensor.Tensor {
	return tensor.NewRNG(in.next()).Rand64(-bound, bound, shape...).As(in.DType)
}

// Linear returns a (fanIn, fanOut) weight U(−1/√fanIn, 1/√fanIn), PyTorch's
// nn.Linear default (kaiming_uniform with a = √5).
func (in *Init) Linear(fanIn, fanOut int) *tensor.Tensor {
	return in.Uniform(1/math.Sqrt(float64(fanIn)), fanIn, fanOut)
}

// Xavier returns a (fanIn, fanOut) weight U(±√(6/(fanIn+fanOut))).
func (in *Init) Xavier(fanIn, fanOut int) *tensor.Tensor {
	return in.Uniform(math.Sqrt(6/float64(fanIn+fanOut)), fanIn, fanOut)
}

// Full returns a tensor of shape filled with v.
func (in *Init) Full(v float64, shape ...int) *tensor.Tensor {
	return tensor.New(in.DType, shape...).Fill(v)
}

// fromData returns a host tensor of dtype and shape holding data (copied,
// rounded to dtype).
func fromData(dt tensor.DType, data []float64, shape []int) *tensor.Tensor {
	t := tensor.FromFloat64(data, shape...)
	if dt == tensor.Float64 {
		return t
	}
	return t.As(dt)
}
