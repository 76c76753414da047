package ssd

import (
	"fmt"
	"math"

	"github.com/furious-lab/furious/tensor"
)

// State is the finite recurrent state of a order-p core attention (spec §e.2):
// per head the numerator S ∈ R^{D×d_v}, D = C(d+p−1, p), and with softmax
// norm the denominator z ∈ R^D. Both live in one tensor S of shape
// (B, H, D, W): W = d_v, or d_v + 1 with NormSoftmax, column d_v being z.
// The zero state is the state before the first token.
//
// A float32 state updated by Recurrent or Step is kept as an unevaluated
// sum S + lo of two float32 arrays (about 48 bits of mantissa): S is the
// state rounded to float32, lo the rounding residual, so that decoding in
// float32 stays within 1e-5 of the float64 oracle (see the package's
// Accuracy section). Chunked, the device and writes to S itself drop lo.
type State struct {
	Opts         Options
	B, H, Dk, Dv int // batch, heads, key dim d, value dim d_v
	D            int // feature dimension C(d+p−1, p)
	S            *tensor.Tensor
	Tokens       int // tokens consumed since the zero state
	feat         *featMap
	lo           []float32 // float32 states: S's rounding residual (B·H·D·W), nil = zero
}

// onDeviceOf moves the state's tensor to the device of the resident
// tensors among ts (a CPU form run for resident inputs), and returns s.
func (s *State) onDeviceOf(ts ...*tensor.Tensor) *State {
	s.S = s.S.OnDeviceOf(ts...)
	return s
}

// NewState returns the zero state for q, k (B, H, ·, d), v (B, H, ·, dv).
func NewState(dtype tensor.DType, B, H, d, dv int, o Options) *State {
	const op = "ssd.NewState"
	o.check(op)
	if o.Exp {
		tensor.Errorf(op, "Exp", "exp attention has no finite state; use NewKVCache")
	}
	if B < 0 || H < 0 || d < 1 || dv < 0 {
		tensor.Errorf(op, "B, H, d, dv", "(%d, %d, %d, %d) invalid", B, H, d, dv)
	}
	f := getFeatMap(d, o.Order)
	W := dv
	if o.Norm == NormSoftmax {
		W++
	}
	return &State{Opts: o, B: B, H: H, Dk: d, Dv: dv, D: f.D, S: tensor.New(dtype, B, H, f.D, W), feat: f}
}

// width is the number of columns of S (d_v, +1 with softmax norm).
func (s *State) width() int { return s.S.Dim(3) }

// Bytes is the memory of the state in the paper's accounting: B·H·D·W
// elements of its dtype. A float32 state that Recurrent or Step updated
// also keeps its rounding residual lo, the same size again (Footprint).
func (s *State) Bytes() int64 { return s.S.Bytes() }

// Footprint is the memory the state actually holds: Bytes, plus the float32
// residual lo once Recurrent or Step has updated a float32 state.
func (s *State) Footprint() int64 { return s.S.Bytes() + 4*int64(len(s.lo)) }

// Clone returns a deep copy (to branch a sequence).
func (s *State) Clone() *State {
	c := *s
	c.S = s.S.Clone()
	if s.lo != nil {
		c.lo = append([]float32(nil), s.lo...)
	}
	return &c
}

func (s *State) String() string {
	return fmt.Sprintf("ssd.State{%s, B=%d H=%d d=%d d_v=%d D=%d, %d tokens, %s}",
		s.Opts, s.B, s.H, s.Dk, s.Dv, s.D, s.Tokens, tensor.FormatBytes(s.Bytes()))
}

// checkCompatible panics unless the state fits the call.
func (s *State) checkCompatible(op string, dm dims, o Options, dtype tensor.DType) {
	if s.S.DType() != dtype {
		tensor.Errorf(op, "state", "is %s but q is %s", s.S.DType(), dtype)
	}
	if s.B != dm.B || s.H != dm.H || s.Dk != dm.d || s.Dv != dm.dv {
		tensor.ShapeMismatch(op, "state", []int{s.B, s.H, s.Dk, s.Dv}, []int{dm.B, dm.H, dm.d, dm.dv},
			"(B, H, d, d_v of the state vs q and v)")
	}
	if s.Opts.Order != o.Order || (s.Opts.Norm == NormSoftmax) != (o.Norm == NormSoftmax) || s.Opts.scale(s.Dk) != o.scale(dm.d) {
		tensor.Errorf(op, "state", "was made for %s, the call uses %s", s.Opts, o)
	}
}

// Step consumes one token per (b, h): q, k (B, H, d), v (B, H, d_v), a (B, H)
// or nil, and returns y (B, H, d_v):
// S_t = e^{a_t}·S_{t−1} + ψ(k_t·scale) v_tᵀ, z_t = e^{a_t}·z_{t−1} + ψ(k_t·scale),
// y_t = ψ(q_t)ᵀ S_t [/ ψ(q_t)ᵀ z_t].
func (s *State) Step(q, k, v, a *tensor.Tensor) *tensor.Tensor {
	const op = "ssd.State.Step"
	if q == nil || k == nil || v == nil {
		tensor.Errorf(op, "q, k, v", "must not be nil")
	}
	tensor.CheckShape(op, "q", q.Shape(), "(B, H, d of the state)", s.B, s.H, s.Dk)
	tensor.CheckShape(op, "k", k.Shape(), "(same as q)", s.B, s.H, s.Dk)
	tensor.CheckShape(op, "v", v.Shape(), "(B, H, d_v of the state)", s.B, s.H, s.Dv)
	if a != nil {
		tensor.CheckShape(op, "a", a.Shape(), "(B, H)", s.B, s.H)
	}
	sameDType(op, q, []string{"k", "v", "a"}, k, v, a)
	if q.DType() != s.S.DType() {
		tensor.Errorf(op, "state", "is %s but q is %s", s.S.DType(), q.DType())
	}
	y := tensor.New(q.DType(), s.B, s.H, 1, s.Dv)
	dm := dims{B: s.B, H: s.H, L: 1, d: s.Dk, dv: s.Dv}
	if q.DType() == tensor.Float64 {
		recAll(dm, q, k, v, a, y, s)
	} else {
		recAll32(dm, q, k, v, a, y, s)
	}
	finishOutputNorm(y, s.Opts)
	return checkFinite(op, y).Reshape(s.B, s.H, s.Dv)
}

// Recurrent is the recurrent form: one Step per token from the state s0 (nil:
// the zero state). q, k (B, H, L, d), v (B, H, L, d_v), a (B, H, L) or nil →
// y (B, H, L, d_v) and the state after the last token (s0 is not modified).
// Cost O(L·D·d_v), memory O(D·d_v) per head.
func Recurrent(q, k, v, a *tensor.Tensor, o Options, s0 *State) (*tensor.Tensor, *State) {
	const op = "ssd.Recurrent"
	o.check(op)
	residentNotice(op, q, k, v, a)
	if o.Exp {
		tensor.Errorf(op, "Exp", "exp attention has no finite state: use Quadratic, Blockwise or a KVCache")
	}
	dm := checkInputs(op, q, k, v, a)
	s := startState(op, s0, dm, o, q.DType())
	y := tensor.New(q.DType(), dm.B, dm.H, dm.L, dm.dv)
	if q.DType() == tensor.Float64 {
		recAll(dm, q, k, v, a, y, s)
	} else {
		recAll32(dm, q, k, v, a, y, s)
	}
	finishOutputNorm(y, o)
	return checkFinite(op, y).OnDeviceOf(q, k, v, a), s.onDeviceOf(q, k, v, a)
}

// recAll runs the float64 recurrence over dm.L tokens for every head, updating s.
func recAll(dm dims, q, k, v, a, y *tensor.Tensor, s *State) {
	S := data[float64](s.S)
	D, W := s.D, s.width()
	sc := s.Opts.scale(dm.d)
	forHeads[float64](dm, q, k, v, a, y, func(h int, q, k, v []float64, a []float64, y []float64) {
		recHead(s.feat, q, k, v, a, dm.L, dm.d, dm.dv, sc, S[h*D*W:(h+1)*D*W], W, y)
	})
	s.Tokens += dm.L
}

// recHead runs L float64 steps of one head on its state Sh (D×W), with
// three BLAS calls per step over the contiguous state:
// S ← e^{a_t}·S (scal), S += ψ(k̃_t) x_tᵀ (ger), y_t = Sᵀ ψ(q_t) (gemv).
func recHead(f *featMap, q, k, v []float64, a []float64, L, d, dv int, scale float64, Sh []float64, W int, y []float64) {
	D := f.D
	fq, fk := make([]float64, D), make([]float64, D)
	x := make([]float64, W) // [v_t, 1]
	acc := make([]float64, W)
	scp := ipow(scale, f.p)
	for t := 0; t < L; t++ {
		if t%256 == 0 {
			tensor.CheckInterrupt("ssd.Recurrent")
		}
		featApply(f, k[t*d:(t+1)*d], scp, fk) // ψ(k_t·scale) = scale^p ψ(k_t)
		featApply(f, q[t*d:(t+1)*d], 1, fq)   // ψ(q_t)
		if a != nil && a[t] != 0 {
			scal(math.Exp(a[t]), Sh) // S_t = e^{a_t} S_{t−1} …
		}
		copy(x, v[t*dv:(t+1)*dv])
		if W > dv {
			x[dv] = 1 // … and z_t = e^{a_t} z_{t−1} + ψ(k̃_t) as the last column
		}
		ger(D, W, fk, x, Sh)     // … + ψ(k̃_t) x_tᵀ
		gemvT(D, W, Sh, fq, acc) // ψ(q_t)ᵀ S_t
		outRow(acc, y[t*dv:(t+1)*dv])
	}
}

// outRow writes y_t = acc[:d_v] (÷ acc[d_v], the softmax denominator, when
// acc has the extra column; 0/0 := 0), rounding to T.
func outRow[T float](acc []float64, yt []T) {
	dv := len(yt)
	if len(acc) > dv {
		den := acc[dv]
		for c := range yt {
			yt[c] = T(safeDiv(acc[c], den))
		}
		return
	}
	for c := range yt {
		yt[c] = T(acc[c])
	}
}

// recAll32 runs the float32 recurrence over dm.L tokens for every head,
// updating s and its residual s.lo (allocated at the first update).
func recAll32(dm dims, q, k, v, a, y *tensor.Tensor, s *State) {
	S := data[float32](s.S)
	D, W := s.D, s.width()
	if s.lo == nil {
		s.lo = tensor.New(tensor.Float32, len(S)).Float32s()
	}
	sc := s.Opts.scale(dm.d)
	forHeads[float32](dm, q, k, v, a, y, func(h int, q, k, v []float32, a []float64, y []float32) {
		recHead32(s.feat, q, k, v, a, dm.L, dm.d, dm.dv, sc, S[h*D*W:(h+1)*D*W], s.lo[h*D*W:(h+1)*D*W], W, y)
	})
	s.Tokens += dm.L
}

// recHead32 runs L float32 steps of one head on its state S + lo (D×W each),
// in float64 arithmetic, one fused pass over the state per step:
//
//	σ = (S + lo)·e^{a_t} + ψ(k̃_t) x_tᵀ    (float64, ψ from the float32 inputs)
//	S = fl32(σ), lo = fl32(σ − S)          (the state to ~48 bits)
//	y_t = ψ(q_t)ᵀ σ [/ ψ(q_t)ᵀ σ_z]         (summed in float64)
//
// A float32 state alone is not enough: φ(q)ᵀS sums D terms of both signs
// down to Σ_j w_j (q·k_j)^p v_j, and when one nearly orthogonal pair
// carries a row's mass (strong decay) the float32 roundings of ψ(k), S and
// the sum are each larger than the result (measured up to 0.42 relative
// error at L = 2048; the table is in the package's Accuracy section).
func recHead32(f *featMap, q, k, v []float32, a []float64, L, d, dv int, scale float64, Sh, lo []float32, W int, y []float32) {
	D := f.D
	fq, fk := make([]float64, D), make([]float64, D)
	qt, kt := make([]float64, d), make([]float64, d)
	x := make([]float64, W) // [v_t, 1]
	acc := make([]float64, W)
	scp := ipow(scale, f.p)
	for t := 0; t < L; t++ {
		if t%256 == 0 {
			tensor.CheckInterrupt("ssd.Recurrent")
		}
		for i := range kt {
			kt[i], qt[i] = float64(k[t*d+i]), float64(q[t*d+i])
		}
		featApply(f, kt, scp, fk) // ψ(k_t·scale) = scale^p ψ(k_t), in float64
		featApply(f, qt, 1, fq)   // ψ(q_t)
		for c := range x[:dv] {
			x[c] = float64(v[t*dv+c])
		}
		if W > dv {
			x[dv] = 1 // z_t = e^{a_t} z_{t−1} + ψ(k̃_t) as the last column
		}
		w := 1.0
		if a != nil {
			w = flushW[float32](math.Exp(a[t]))
		}
		clear(acc)
		for r := 0; r < D; r++ {
			hr, lr := Sh[r*W:(r+1)*W], lo[r*W:(r+1)*W]
			fkr, fqr := fk[r], fq[r]
			ac := acc[:len(hr)]
			xr := x[:len(hr)]
			lr = lr[:len(hr)]
			for c, h := range hr {
				sg := (float64(h)+float64(lr[c]))*w + fkr*xr[c]
				h32 := float32(sg)
				hr[c] = h32
				lr[c] = float32(sg - float64(h32))
				ac[c] += fqr * sg
			}
		}
		outRow(acc, y[t*dv:(t+1)*dv])
	}
}

// startState returns the state a form starts from: a zero state when s0 is
// nil, else a copy of s0 (checked against the inputs) that the form updates.
func startState(op string, s0 *State, dm dims, o Options, dtype tensor.DType) *State {
	if s0 == nil {
		return NewState(dtype, dm.B, dm.H, dm.d, dm.dv, o)
	}
	s0.checkCompatible(op, dm, o, dtype)
	s := s0.Clone()
	s.Opts = o
	return s
}
