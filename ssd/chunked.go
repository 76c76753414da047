package ssd

import (
	"math"
	"sync"
	"sync/atomic"

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
	var finite bool
	if q.DType() == tensor.Float64 {
		finite = chunkAll[float64](dm, q, k, v, a, y, s, chunk)
	} else {
		finite = chunkAll[float32](dm, q, k, v, a, y, s, chunk)
	}
	finishOutputNorm(y, o)
	if !finite || o.Norm == NormOutput { // checkFinite's scan names the first bad value
		checkFinite(op, y)
	}
	return y.OnDeviceOf(q, k, v, a), s.onDeviceOf(q, k, v, a)
}

// chunkAll runs every head (b, h) of the chunked form into y and s, and
// reports whether all of y is finite (checked chunk by chunk while in cache).
func chunkAll[T float](dm dims, q, k, v, a, y *tensor.Tensor, s *State, chunk int) bool {
	S := data[T](s.S)
	D, W := s.D, s.width()
	chunk = min(chunk, max(dm.L, 1))
	var bad atomic.Bool
	forHeads[T](dm, q, k, v, a, y, func(h int, q, k, v []T, a []float64, y []T) {
		if !chunkHead(s.feat, q, k, v, a, dm.L, dm.d, dm.dv, s.Opts, chunk, S[h*D*W:(h+1)*D*W], W, y) {
			bad.Store(true)
		}
	})
	s.Tokens += dm.L
	return !bad.Load()
}

// chunkHead runs the chunked algorithm for one head, updating its state Sh
// (D×W). Order 1 takes the fused path (chunkFused1) on the longest prefix of
// each chunk whose log-decays cs stay within ±fusedRange[T] (any chunking is
// exact); when that prefix is shorter than half the chunk (strong decay),
// and for orders p > 1, the chunk takes chunkGeneral. Scratch is allocated
// once per head. It reports whether y is finite.
func chunkHead[T float](f *featMap, q, k, v []T, a []float64, L, d, dv int, o Options, Q int, Sh []T, W int, y []T) bool {
	D, sc, sm := f.D, o.scale(d), W > dv
	cs := make([]float64, Q)  // within-chunk cumulative log-decay
	ecs := make([]float64, Q) // exp(cs)
	g := getChunkScratch[T]()
	defer putChunkScratch(g)
	S := Sh
	if f.p == 1 {
		// [Q̂ | G] (n×(d+n)) times [S; X̃] ((d+n)×W) in chunkFused1: the
		// state lives in the first d rows of X during the sweep.
		g.A, g.X, g.Kt = grow(g.A, Q*(d+Q)), grow(g.X, (d+Q)*W), grow(g.Kt, d*Q)
		copy(g.X, Sh)
		S = g.X[:D*W]
	}
	var Yaug []T
	if sm {
		g.Yaug = grow(g.Yaug, Q*W)
		Yaug = g.Yaug
	}
	r, finite := fusedRange[T](), true
	for c0 := 0; c0 < L; {
		tensor.CheckInterrupt("ssd.Chunked")
		n := min(Q, L-c0)
		fit, acc := n, 0.0
		for i := 0; i < n; i++ {
			if a != nil {
				acc += a[c0+i]
			}
			cs[i] = acc
			ecs[i] = math.Exp(acc)
			if (acc < -r || acc > r) && fit == n {
				fit = i
			}
		}
		fused := f.p == 1 && 2*fit >= n
		if fused {
			n = fit
		}
		qc, kc := q[c0*d:(c0+n)*d], k[c0*d:(c0+n)*d] // (n, d)
		Vc, Yc := v[c0*dv:(c0+n)*dv], y[c0*dv:(c0+n)*dv]
		if sm {
			Yc = Yaug[:n*W]
		}
		if fused {
			chunkFused1(g, qc, kc, Vc, ecs[:n], n, d, dv, W, sc, S, Yc)
		} else {
			chunkGeneral(g, f, qc, kc, Vc, a, cs[:n], ecs[:n], n, d, dv, W, o, sc, c0 > 0, S, Yc)
		}
		if sm {
			divAug(Yc, n, dv, y[c0*dv:(c0+n)*dv])
		}
		finite = finite && allFinite(y[c0*dv:(c0+n)*dv])
		c0 += n
	}
	if f.p == 1 { // the state lived in g.X
		copy(Sh, S)
	}
	return finite
}

// chunkScratch is one head's scratch for chunkHead, taken from a pool
// (getChunkScratch) and grown on first use: a loop of calls allocates
// nothing but its outputs. Every part is written before it is read.
type chunkScratch[T float] struct {
	A, X, Kt  []T // fused order 1: [Q̂ | G], [S; X_c], K̃ᵀ
	G, Fq, Fk []T // general: scores, ψ(q_i)·exp(cs_i), ψ(k_j·scale)·exp(cs_last − cs_j)
	Vaug      []T // general, softmax norm: [V_c, 1]
	Yaug      []T // softmax norm: [Y_c, denominator]
	iecs      []float64
}

// chunkScratchPools hold *chunkScratch[float32] and [float64] between
// calls: each call of ssd.Chunked at 4 heads, d = 64 made 256 KB of
// scratch garbage besides its output; pooled, order 1 at L = 512 took
// 0.70-0.75 ms a call against 0.79-0.88 (2 cores, 2026-12-06; at L = 2048
// within the machine's noise, 1.87-2.04 ms either way).
var chunkScratchPools [2]sync.Pool

func chunkScratchPool[T float]() *sync.Pool {
	var z T
	if _, ok := any(z).(float64); ok {
		return &chunkScratchPools[1]
	}
	return &chunkScratchPools[0]
}

// getChunkScratch takes a scratch from the pool, or a new empty one.
func getChunkScratch[T float]() *chunkScratch[T] {
	if g, ok := chunkScratchPool[T]().Get().(*chunkScratch[T]); ok {
		return g
	}
	return new(chunkScratch[T])
}

// putChunkScratch returns g to the pool.
func putChunkScratch[T float](g *chunkScratch[T]) { chunkScratchPool[T]().Put(g) }

// grow returns s resliced to n elements, or a new slice of n where its
// capacity is short (contents unspecified either way).
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// fusedRange bounds the within-chunk log-decays cs for chunkFused1, which
// scales q by exp(cs) and v by exp(−cs): float32 stays in its normal range
// for entries within 1e±12 (e^60 ≈ 1.1e26), and every weight exp(cs_i) ≥
// e^−60 is above tinyFloat32, so none needs flushing.
func fusedRange[T float]() float64 {
	var z T
	if _, ok := any(z).(float32); ok {
		return 60
	}
	return 300
}

// chunkFused1 is one chunk of order 1 in three GEMMs, the decay folded into
// the operands, exp(cs_i − cs_j) = exp(cs_i)·exp(−cs_j):
//
//	Q̂ = diag(exp(cs)) Q_c                 (n, d)
//	K̃ᵀ = (diag(exp(−cs)·scale) K_c)ᵀ      (d, n)
//	G = (Q̂ K̃ᵀ) ⊙ M                        (n, n)
//	Y_c = [Q̂ | G] [S; X_c]      (steps 1 and 2 in one product, k = d + n)
//	S ← exp(cs_last)·(S + K̃ᵀ X_c)         (step 3)
//
// S (d×W) is X's first d rows, X_c the n rows after it: V_c, with a ones
// column under the softmax norm (W = dv + 1). K̃ is stored transposed so
// that all three products take A and B as stored: OpenBLAS 0.3.21's
// small-matrix kernels take those, while K_cᵀ X̃ (A transposed) went through
// its packing path, a quarter of the call's CPU time. BenchmarkChunkedOrder1
// (4 heads, d 64, 2 cores, 2026-12-06, four alternating runs): L 2048
// 1.95-2.06 → 1.81-1.94 ms, L 8192 6.86-7.94 → 6.46-7.11 ms; a second set
// 0.86-1.00x at 2048, 0.91-0.96x at 8192 run by run
// (bench/results/cpu-chunked-order1-ktransposed-2026-12-06.txt). ecs (n)
// is exp(cs), cs within ±fusedRange.
func chunkFused1[T float](g *chunkScratch[T], qc, kc, Vc []T, ecs []float64, n, d, dv, W int, sc float64, S, Yc []T) {
	lda := d + n
	A, X, Kt := g.A[:n*lda], g.X[:(d+n)*W], g.Kt[:d*n]
	Xc := X[d*W:]
	for i := 0; i < n; i++ {
		scaleTo(A[i*lda:i*lda+d], T(ecs[i]), qc[i*d:(i+1)*d])
		copy(Xc[i*W:i*W+dv], Vc[i*dv:(i+1)*dv])
		if W > dv {
			Xc[i*W+dv] = 1 // the ones column of X_c = [V_c, 1]
		}
	}
	scaleTransposeTo(Kt, kc, n, d, sc, ecs)
	gemm(false, false, n, n, d, 1, A, lda, Kt, n, 0, A[d:], lda) // G = Q̂ K̃ᵀ, beside Q̂ in A
	for i := 0; i < n-1; i++ {
		clear(A[i*lda+d+i+1 : (i+1)*lda]) // causal mask M: j > i
	}
	gemm(false, false, n, W, lda, 1, A, lda, X, W, 0, Yc, W) // Y_c = [Q̂ | G] [S; X_c]
	last := ecs[n-1]
	gemm(false, false, d, W, n, last, Kt, n, Xc, W, last, S, W) // S ← e^{cs_last}(S + K̃ᵀ X_c)
}

// chunkGeneral is one chunk of any order p (spec §e.3, steps 1-3 with the
// feature map ψ): cs (n) the within-chunk cumulative log-decay, ecs = exp(cs),
// a the head's log-decays (nil: none), started false for the first chunk
// (the entering state is then zero unless s0 was given).
func chunkGeneral[T float](g *chunkScratch[T], f *featMap, qc, kc, Vc []T, a, cs, ecs []float64, n, d, dv, W int, o Options, sc float64, started bool, S, Yc []T) {
	D, Q := f.D, cap(cs) // cs is a prefix of the head's chunk-length buffer
	g.G, g.Fq, g.Fk, g.iecs = grow(g.G, Q*Q), grow(g.Fq, Q*D), grow(g.Fk, Q*D), grow(g.iecs, Q)
	if W > dv {
		g.Vaug = grow(g.Vaug, Q*W)
	}
	G, iecs := g.G[:n*n], g.iecs[:n]
	if W > dv { // X = [V, 1]  (n, dv+1)
		for i := 0; i < n; i++ {
			copy(g.Vaug[i*W:i*W+dv], Vc[i*dv:(i+1)*dv])
			g.Vaug[i*W+dv] = 1
		}
		Vc = g.Vaug[:n*W]
	}
	lo, hi := 0.0, 0.0
	for _, x := range cs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	ratio := lo > -600 && hi < 600 // exp(cs_i − cs_j) = ecs_i/ecs_j stays accurate

	// 1. diagonal block: G = f(Q_c K_cᵀ·scale) ⊙ exp(cs_i − cs_j) ⊙ M  (n, n)
	gemm(false, true, n, n, d, sc, qc, d, kc, d, 0, G, n)
	if ratio {
		for j := range iecs {
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
		clear(row[i+1:])
	}
	gemm(false, false, n, W, n, 1, G, n, Vc, W, 0, Yc, W) // Y_c = G X_c

	// 2. contribution of the entering state: Y_c += diag(exp(cs)) ψ(Q_c) S
	if started || !allZero(S) {
		featRows(f, qc, n, func(i int) float64 { return flushW[T](ecs[i]) }, g.Fq)
		gemm(false, false, n, W, D, 1, g.Fq[:n*D], D, S, W, 1, Yc, W)
	}

	// 3. state passing: S ← exp(cs_last)·S + (ψ(K̃_c) ⊙ exp(cs_last − cs_j))ᵀ X_c
	last, scp := cs[n-1], ipow(sc, f.p)
	featRows(f, kc, n, func(j int) float64 {
		if ratio {
			return flushW[T](scp * ecs[n-1] * iecs[j])
		}
		return flushW[T](scp * math.Exp(last-cs[j]))
	}, g.Fk)
	gemm(true, false, D, W, n, 1, g.Fk[:n*D], D, Vc, W, flushW[T](math.Exp(last)), S, W)
}

// scaleTransposeTo writes dst (c×r) = (diag(sc/e) x)ᵀ for x (r×c) and
// e (r), four rows of x a step so that each step writes four adjacent
// floats of a row of dst.
func scaleTransposeTo[T float](dst, x []T, r, c int, sc float64, e []float64) {
	dst = dst[:r*c]
	i := 0
	for ; i+4 <= r; i += 4 {
		w0, w1, w2, w3 := T(sc/e[i]), T(sc/e[i+1]), T(sc/e[i+2]), T(sc/e[i+3])
		x0 := x[i*c : (i+1)*c]
		x1, x2, x3 := x[(i+1)*c : (i+2)*c][:len(x0)], x[(i+2)*c : (i+3)*c][:len(x0)], x[(i+3)*c : (i+4)*c][:len(x0)]
		for j, v := range x0 {
			o := dst[j*r+i : j*r+i+4 : j*r+i+4]
			o[0], o[1], o[2], o[3] = w0*v, w1*x1[j], w2*x2[j], w3*x3[j]
		}
	}
	for ; i < r; i++ {
		wi := T(sc / e[i])
		for j, v := range x[i*c : (i+1)*c] {
			dst[j*r+i] = wi * v
		}
	}
}

// scaleTo writes dst = alpha·x (len(dst) == len(x)).
func scaleTo[T float](dst []T, alpha T, x []T) {
	dst = dst[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		d, s := dst[i:i+4:i+4], x[i:i+4:i+4]
		d[0], d[1], d[2], d[3] = alpha*s[0], alpha*s[1], alpha*s[2], alpha*s[3]
	}
	for ; i < len(x); i++ {
		dst[i] = alpha * x[i]
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
