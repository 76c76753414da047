package ssd

import (
	"math"

	"github.com/furious-lab/furious/tensor"
)

// DefaultChunk is the chunk length Auto uses for the chunked form.
const DefaultChunk = 64

// Chunked is the chunked SSD form (spec §e.3, the fast path): the sequence is
// cut into chunks of `chunk` steps (the last one may be shorter; any L ≥ 1),
// and per chunk c with the within-chunk cumulative log-decay cs_i:
//
//  1. Y_diag = (f(Q_c K_cᵀ·scale) ⊙ exp(cs_i − cs_j) ⊙ M) V_c      (f(s) = s^p directly, d per pair)
//  2. Y_off  = diag(exp(cs_i)) ψ(Q_c) S                             (S = state entering the chunk)
//  3. S     ← exp(cs_last)·S + Σ_j exp(cs_last − cs_j) ψ(k_j·scale) v_jᵀ
//
// q, k (B, H, L, d), v (B, H, L, d_v), a (B, H, L) or nil, s0 the initial
// state (nil: zero; not modified) → y (B, H, L, d_v) and the final state, so
// that Chunked on a prefix followed by State.Step on the rest equals the whole
// sequence. Softmax norm appends a ones column to V: its output is Σ_j P_ij.
// Cost O(L·(chunk·d + D·d_v)) per head.
//
// On a device (see "Devices" in doc.go) the form runs from the zero state
// only: with s0 == nil the output and the final state are computed there
// (the state from k, v, a in one pass, spec §e.2, not chunk by chunk), and
// both are resident when an input was; with s0 != nil the CPU runs it,
// after tensor's one-time notice.
func Chunked(q, k, v, a *tensor.Tensor, o Options, chunk int, s0 *State) (*tensor.Tensor, *State) {
	return chunked("ssd.Chunked", "chunked", q, k, v, a, o, chunk, s0, true)
}

// chunked is Chunked; without withState a device run skips the final state
// and returns nil for it (Variant.Core and Auto discard it). form is the
// device form: "chunked", or "auto" to let the backend choose between the
// chunked and quadratic forms (then withState must be false).
func chunked(op, form string, q, k, v, a *tensor.Tensor, o Options, chunk int, s0 *State, withState bool) (*tensor.Tensor, *State) {
	o.check(op)
	if o.Exp {
		tensor.Errorf(op, "Exp", "exp attention has no finite state: use Quadratic or Blockwise")
	}
	if chunk <= 0 {
		tensor.Errorf(op, "chunk", "is %d, want ≥ 1", chunk)
	}
	dm := checkInputs(op, q, k, v, a)
	if s0 == nil {
		if y, s := chunkedDevice(op, form, q, k, v, a, o, dm, chunk, withState); y != nil {
			return y, s // on a device (device.go)
		}
	} else if b := deviceFor(q, k, v, a); b != nil {
		deviceNotice(op, b, "an initial state s0 has no device form")
	}
	s := startState(op, s0, dm, o, q.DType())
	y := tensor.New(q.DType(), dm.B, dm.H, dm.L, dm.dv)
	if q.DType() == tensor.Float64 {
		chunkAll[float64](dm, q, k, v, a, y, s, chunk)
	} else {
		chunkAll[float32](dm, q, k, v, a, y, s, chunk)
	}
	finishOutputNorm(y, o)
	return checkFinite(op, y).OnDeviceOf(q, k, v, a), s.onDeviceOf(q, k, v, a)
}

func chunkAll[T float](dm dims, q, k, v, a, y *tensor.Tensor, s *State, chunk int) {
	S := data[T](s.S)
	D, W := s.D, s.width()
	chunk = min(chunk, max(dm.L, 1))
	forHeads[T](dm, q, k, v, a, y, func(h int, q, k, v []T, a []float64, y []T) {
		chunkHead(s.feat, q, k, v, a, dm.L, dm.d, dm.dv, s.Opts, chunk, S[h*D*W:(h+1)*D*W], W, y)
	})
	s.Tokens += dm.L
}

// chunkHead runs the chunked algorithm for one head, updating its state Sh (D×W).
func chunkHead[T float](f *featMap, q, k, v []T, a []float64, L, d, dv int, o Options, Q int, Sh []T, W int, y []T) {
	D, sc, sm := f.D, o.scale(d), W > dv
	G := alloc[T](Q * Q)  // scores of the diagonal block
	Fq := alloc[T](Q * D) // ψ(q_i)·exp(cs_i)
	Fk := alloc[T](Q * D) // ψ(k_j·scale)·exp(cs_last − cs_j)
	var Vaug, Yaug []T
	if sm {
		Vaug, Yaug = alloc[T](Q*W), alloc[T](Q*W)
	}
	cs := make([]float64, Q)  // within-chunk cumulative log-decay
	ecs := make([]float64, Q) // exp(cs)
	iecs := make([]float64, Q)
	for c0 := 0; c0 < L; c0 += Q {
		tensor.CheckInterrupt("ssd.Chunked")
		n := min(Q, L-c0)
		qc, kc := q[c0*d:(c0+n)*d], k[c0*d:(c0+n)*d] // (n, d)
		Vc, Yc := v[c0*dv:(c0+n)*dv], y[c0*dv:(c0+n)*dv]
		if sm { // X = [V, 1]  (n, dv+1)
			for i := 0; i < n; i++ {
				copy(Vaug[i*W:i*W+dv], Vc[i*dv:(i+1)*dv])
				Vaug[i*W+dv] = 1
			}
			Vc, Yc = Vaug[:n*W], Yaug[:n*W]
		}
		lo, hi := 0.0, 0.0
		acc := 0.0
		for i := 0; i < n; i++ {
			if a != nil {
				acc += a[c0+i]
			}
			cs[i] = acc
			ecs[i] = math.Exp(acc)
			lo, hi = math.Min(lo, acc), math.Max(hi, acc)
		}
		ratio := lo > -600 && hi < 600 // exp(cs_i − cs_j) = ecs_i/ecs_j stays accurate

		// 1. diagonal block: G = f(Q_c K_cᵀ·scale) ⊙ exp(cs_i − cs_j) ⊙ M  (n, n)
		gemm(false, true, n, n, d, sc, qc, d, kc, d, 0, G, n)
		if ratio {
			for j := 0; j < n; j++ {
				iecs[j] = 1 / ecs[j]
			}
		}
		for i := 0; i < n; i++ {
			row := G[i*n : (i+1)*n]
			switch {
			case a == nil:
				if o.Order > 1 {
					for j := 0; j <= i; j++ {
						row[j] = T(ipow(float64(row[j]), o.Order))
					}
				}
			case ratio:
				ei := ecs[i]
				for j, x := range row[:i+1] {
					row[j] = flush[T](ipow(float64(x), o.Order) * (ei * iecs[j])) // s^p·exp(cs_i − cs_j)
				}
			default:
				for j, x := range row[:i+1] {
					row[j] = flush[T](ipow(float64(x), o.Order) * math.Exp(cs[i]-cs[j]))
				}
			}
			for j := i + 1; j < n; j++ {
				row[j] = 0
			}
		}
		gemm(false, false, n, W, n, 1, G[:n*n], n, Vc, W, 0, Yc, W) // Y_c = G X_c

		// 2. contribution of the entering state: Y_c += diag(exp(cs)) ψ(Q_c) S
		if c0 > 0 || !allZero(Sh) {
			featRows(f, qc, n, func(i int) float64 { return flushW[T](ecs[i]) }, Fq)
			gemm(false, false, n, W, D, 1, Fq[:n*D], D, Sh, W, 1, Yc, W)
		}

		// 3. state passing: S ← exp(cs_last)·S + (ψ(K̃_c) ⊙ exp(cs_last − cs_j))ᵀ X_c
		last, scp := cs[n-1], ipow(sc, f.p)
		featRows(f, kc, n, func(j int) float64 {
			if ratio {
				return flushW[T](scp * ecs[n-1] * iecs[j])
			}
			return flushW[T](scp * math.Exp(last-cs[j]))
		}, Fk)
		gemm(true, false, D, W, n, 1, Fk[:n*D], D, Vc, W, flushW[T](math.Exp(last)), Sh, W)

		if sm {
			divAug(Yc, n, dv, y[c0*dv:(c0+n)*dv])
		}
	}
}

func allZero[T float](x []T) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}
