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
// Recurrent and Step update a float32 state in float64: the state keeps a
// float64 copy of S (twice S's bytes), and S is that copy rounded to
// float32 after every call, so that decoding in float32 stays within 1e-6 of
// the float64 oracle (see the package's Accuracy section). An element of S
// written since (by Chunked or by hand) replaces its copy.
type State struct {
	Opts         Options
	B, H, Dk, Dv int // batch, heads, key dim d, value dim d_v
	D            int // feature dimension C(d+p−1, p)
	S            *tensor.Tensor
	Tokens       int // tokens consumed since the zero state
	feat         *featMap
	s64          []float64 // float32 states: S in float64 (B·H·D·W) once Recurrent or Step ran
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
// also keeps a float64 copy, twice that again (Footprint).
func (s *State) Bytes() int64 { return s.S.Bytes() }

// Footprint is the memory the state actually holds: Bytes, plus the float64
// copy of a float32 state once Recurrent or Step has updated it (3·Bytes).
func (s *State) Footprint() int64 { return s.S.Bytes() + 8*int64(len(s.s64)) }

// Clone returns a deep copy (to branch a sequence).
func (s *State) Clone() *State {
	c := *s
	c.S = s.S.Clone()
	if s.s64 != nil {
		c.s64 = append([]float64(nil), s.s64...)
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

// recHead runs L steps of one head on its float64 state Sh (D×W), with
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
// acc has the extra column; 0/0 := 0).
func outRow(acc, yt []float64) {
	dv := len(yt)
	if len(acc) > dv {
		den := acc[dv]
		for c := range yt {
			yt[c] = safeDiv(acc[c], den)
		}
		return
	}
	copy(yt, acc[:dv])
}

// recAll32 runs the float32 recurrence over dm.L tokens for every head:
// the float64 recurrence (recHead) on the inputs widened to float64 and on
// the state's float64 copy s.s64, then y and S rounded to float32; one
// token (State.Step) in a single fused pass instead (stepHead32). A float32
// state alone is not enough: φ(q)ᵀS sums D terms of both signs down to
// Σ_j w_j (q·k_j)^p v_j, and where one nearly orthogonal pair carries a
// row's mass (strong decay) the float32 roundings of ψ(k), S and the sum
// each exceed the result (measured up to 1.6 relative error at L = 8192;
// the table is in the package's Accuracy section).
func recAll32(dm dims, q, k, v, a, y *tensor.Tensor, s *State) {
	S := data[float32](s.S)
	D, W := s.D, s.width()
	if s.s64 == nil {
		s.s64 = tensor.New(tensor.Float64, len(S)).Float64s()
	}
	sc := s.Opts.scale(dm.d)
	forHeads[float32](dm, q, k, v, a, y, func(h int, q, k, v []float32, a []float64, y []float32) {
		Sh, Sh64 := S[h*D*W:(h+1)*D*W], s.s64[h*D*W:(h+1)*D*W]
		if dm.L == 1 {
			stepHead32(s.feat, q, k, v, a, dm.d, dm.dv, sc, Sh, Sh64, W, y)
			return
		}
		for i, x := range Sh {
			if float32(Sh64[i]) != x { // S was written since (or never had a copy): S wins
				Sh64[i] = float64(x)
			}
		}
		y64 := make([]float64, len(y))
		recHead(s.feat, f64(q), f64(k), f64(v), a, dm.L, dm.d, dm.dv, sc, Sh64, W, y64)
		for i, x := range y64 {
			y[i] = float32(x)
		}
		for i, x := range Sh64 {
			Sh[i] = float32(x)
		}
	})
	s.Tokens += dm.L
}

// stepHead32 is recHead on the float64 copy for one token (State.Step) in one fused pass over
// the state, so that S is read and written once: per element σ = S64 (or S
// where S was written since) · e^{a} + ψ(k̃)_r x_c, S64 = σ, S = fl32(σ),
// acc_c += ψ(q)_r σ; then y = acc (÷ the softmax column).
func stepHead32(f *featMap, q, k, v []float32, a []float64, d, dv int, scale float64, Sh []float32, Sh64 []float64, W int, y []float32) {
	D := f.D
	fq, fk := make([]float64, D), make([]float64, D)
	featApply(f, f64(k[:d]), ipow(scale, f.p), fk) // ψ(k·scale) = scale^p ψ(k)
	featApply(f, f64(q[:d]), 1, fq)                // ψ(q)
	x := make([]float64, W)                        // [v, 1]
	for c := range x[:dv] {
		x[c] = float64(v[c])
	}
	if W > dv {
		x[dv] = 1
	}
	w := 1.0
	if a != nil {
		w = math.Exp(a[0])
	}
	acc := make([]float64, W)
	for r := 0; r < D; r++ {
		hr, sr := Sh[r*W:(r+1)*W], Sh64[r*W:(r+1)*W]
		sr, ac, xr := sr[:len(hr)], acc[:len(hr)], x[:len(hr)]
		fkr, fqr := fk[r], fq[r]
		for c, h := range hr {
			sg := sr[c]
			if float32(sg) != h {
				sg = float64(h)
			}
			sg = sg*w + fkr*xr[c]
			sr[c], hr[c] = sg, float32(sg)
			ac[c] += fqr * sg
		}
	}
	y64 := make([]float64, dv)
	outRow(acc, y64)
	for c, x := range y64 {
		y[c] = float32(x)
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
