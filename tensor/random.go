package tensor

import (
	"math"
	"sync"
)

// RNG is a small deterministic generator (xoshiro256** seeded by SplitMix64):
// the same seed gives the same numbers on every machine and every backend,
// because random tensors are always drawn on the host in float64 and then
// rounded to their dtype.
type RNG struct{ s [4]uint64 }

// NewRNG returns a generator for seed: NewRNG(s).Randn(shape...) gives the
// same numbers on every call, and successive draws from one RNG continue its
// stream.
func NewRNG(seed uint64) *RNG {
	r := &RNG{}
	x := seed
	for i := range r.s {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		r.s[i] = z ^ (z >> 31)
	}
	return r
}

func rotl(x uint64, k uint) uint64 { return (x << k) | (x >> (64 - k)) }

// Uint64 returns the next 64 random bits.
func (r *RNG) Uint64() uint64 {
	s := &r.s
	out := rotl(s[1]*5, 7) * 9
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = rotl(s[3], 45)
	return out
}

// Float64 returns a uniform number in [0, 1) with 53 random bits.
func (r *RNG) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// Intn returns a uniform integer in [0, n).
func (r *RNG) Intn(n int) int {
	if n <= 0 {
		Errorf("tensor.RNG.Intn", "n", "must be positive, got %d", n)
	}
	return int(r.Uint64() % uint64(n))
}

// Normal returns a standard normal number (Box–Muller, one value per call).
func (r *RNG) Normal() float64 {
	u1 := r.Float64()
	for u1 == 0 {
		u1 = r.Float64()
	}
	u2 := r.Float64()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// Randn returns a float32 tensor of the given shape filled with standard
// normal numbers from r, placed on the device SetDevice chose. The numbers
// are the float32 roundings of what Randn64 would draw from the same state;
// r's stream advances by one Normal per element, in row-major order.
func (r *RNG) Randn(shape ...int) *Tensor { return placed(r.randn(Float32, shape)) }

// Randn64 returns a float64 tensor of the given shape filled with standard
// normal numbers from r (on the host, like every float64 tensor).
func (r *RNG) Randn64(shape ...int) *Tensor { return r.randn(Float64, shape) }

// Rand returns a float32 tensor of the given shape uniform in [lo, hi):
// x = lo + (hi − lo)·u with u = r.Float64(), placed on the device SetDevice
// chose.
func (r *RNG) Rand(lo, hi float64, shape ...int) *Tensor {
	return placed(r.randu(Float32, lo, hi, shape))
}

// Rand64 returns a float64 tensor of the given shape uniform in [lo, hi).
func (r *RNG) Rand64(lo, hi float64, shape ...int) *Tensor {
	return r.randu(Float64, lo, hi, shape)
}

// randn fills a new host tensor of dtype with r.Normal() in row-major order.
func (r *RNG) randn(dtype DType, shape []int) *Tensor {
	t := New(dtype, shape...)
	for i := 0; i < t.Len(); i++ {
		t.setFlat(i, r.Normal())
	}
	return t
}

// randu fills a new host tensor of dtype with lo + (hi − lo)·r.Float64().
func (r *RNG) randu(dtype DType, lo, hi float64, shape []int) *Tensor {
	t := New(dtype, shape...)
	for i := 0; i < t.Len(); i++ {
		t.setFlat(i, lo+(hi-lo)*r.Float64())
	}
	return t
}

// DefaultSeed seeds the session's default generator, the one the
// package-level Randn, Randn64, Rand and Rand64 draw from, at start-up and
// whenever ManualSeed is not called: a fresh process gives the same numbers
// as NewRNG(DefaultSeed).
const DefaultSeed uint64 = 0

// defaultRNG is the session's default generator; mu serialises its use so
// that cells and goroutines never see a torn state.
var defaultRNG = struct {
	sync.Mutex
	r *RNG
}{r: NewRNG(DefaultSeed)}

// ManualSeed resets the session's default generator to NewRNG(seed): the
// package-level Randn, Randn64, Rand and Rand64 then repeat the numbers a
// fresh NewRNG(seed) would give, call after call.
func ManualSeed(seed uint64) {
	defaultRNG.Lock()
	defaultRNG.r = NewRNG(seed)
	defaultRNG.Unlock()
}

// withDefault runs f with the session's default generator held.
func withDefault(f func(r *RNG) *Tensor) *Tensor {
	defaultRNG.Lock()
	defer defaultRNG.Unlock()
	return f(defaultRNG.r)
}

// Randn returns a float32 tensor of the given shape of standard normal
// numbers from the session's default generator (see ManualSeed and
// DefaultSeed), placed on the device SetDevice chose. For numbers that do
// not depend on what ran before, draw from an explicit generator:
// NewRNG(seed).Randn(shape...).
func Randn(shape ...int) *Tensor {
	return withDefault(func(r *RNG) *Tensor { return r.Randn(shape...) })
}

// Randn64 returns a float64 tensor of the given shape of standard normal
// numbers from the session's default generator.
func Randn64(shape ...int) *Tensor {
	return withDefault(func(r *RNG) *Tensor { return r.Randn64(shape...) })
}

// Rand returns a float32 tensor of the given shape uniform in [lo, hi) from
// the session's default generator, placed on the device SetDevice chose.
func Rand(lo, hi float64, shape ...int) *Tensor {
	return withDefault(func(r *RNG) *Tensor { return r.Rand(lo, hi, shape...) })
}

// Rand64 returns a float64 tensor of the given shape uniform in [lo, hi)
// from the session's default generator.
func Rand64(lo, hi float64, shape ...int) *Tensor {
	return withDefault(func(r *RNG) *Tensor { return r.Rand64(lo, hi, shape...) })
}
