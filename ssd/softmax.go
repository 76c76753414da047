package ssd

import (
	"fmt"
	"math"

	"github.com/furious-lab/furious/tensor"
)

// Blockwise is the online blockwise form (flash-attention style, spec §c):
// queries and keys are visited in blocks of `block` steps, never materialising
// the (L, L) scores; memory O(block²) per head. It supports every order and
// exp. The segment sums Σ_{u=j+1}^{i} a_u are formed per block (suffix in the
// key block + whole blocks in between + prefix in the query block).
//
// Softmax norm, order p (the 2Mamba square kernel's scheme): per query row a
// running offset m = min(max(m, rowmax(s)), 32) of the unpowered scaled
// scores is subtracted inside the decay exponent; it rescales numerator and
// denominator alike and cancels. Softmax norm, exp: the standard online
// softmax on logits s_ij + seg_ij. Without softmax norm blocks are summed.
// q, k (B, H, L, d), v (B, H, L, d_v), a (B, H, L) or nil → y (B, H, L, d_v).
func Blockwise(q, k, v, a *tensor.Tensor, o Options, block int) *tensor.Tensor {
	const op = "ssd.Blockwise"
	o.check(op)
	residentNotice(op, q, k, v, a)
	if block <= 0 {
		tensor.Errorf(op, "block", "is %d, want ≥ 1", block)
	}
	dm := checkInputs(op, q, k, v, a)
	y := tensor.New(q.DType(), dm.B, dm.H, dm.L, dm.dv)
	block = min(block, max(dm.L, 1))
	if q.DType() == tensor.Float64 {
		forHeads[float64](dm, q, k, v, a, y, func(_ int, q, k, v []float64, a []float64, y []float64) {
			blockHead(q, k, v, a, dm.L, dm.d, dm.dv, o, block, y)
		})
	} else {
		forHeads[float32](dm, q, k, v, a, y, func(_ int, q, k, v []float32, a []float64, y []float32) {
			blockHead(q, k, v, a, dm.L, dm.d, dm.dv, o, block, y)
		})
	}
	finishOutputNorm(y, o)
	return checkFinite(op, y).OnDeviceOf(q, k, v, a)
}

// blockHead computes one head of the blockwise form into y (L×dv).
func blockHead[T float](q, k, v []T, a []float64, L, d, dv int, o Options, Q int, y []T) {
	sc := o.scale(d)
	nb := (L + Q - 1) / Q
	S := alloc[T](Q * Q)
	P := alloc[T](Q * Q)
	PV := alloc[T](Q * dv)
	pre := make([]float64, L) // prefix within the block: Σ_{u=start}^{i} a_u
	suf := make([]float64, L) // suffix within the block: Σ_{u=j+1}^{end−1} a_u
	tot := make([]float64, nb)
	if a != nil {
		for b := 0; b < nb; b++ {
			s0, s1 := b*Q, min((b+1)*Q, L)
			acc := 0.0
			for i := s0; i < s1; i++ {
				acc += a[i]
				pre[i] = acc
			}
			tot[b] = acc
			acc = 0
			for j := s1 - 1; j >= s0; j-- {
				suf[j] = acc
				acc += a[j]
			}
		}
	}
	acc := make([]float64, Q*dv)
	m := make([]float64, Q)
	l := make([]float64, Q)
	sm := o.Norm == NormSoftmax
	for I := 0; I < nb; I++ {
		tensor.CheckInterrupt("ssd.Blockwise")
		i0, i1 := I*Q, min((I+1)*Q, L)
		ni := i1 - i0
		for x := range acc {
			acc[x] = 0
		}
		for i := range m {
			m[i], l[i] = math.Inf(-1), 0
		}
		between := 0.0 // Σ of whole blocks J+1 … I−1
		for J := I; J >= 0; J-- {
			j0, j1 := J*Q, min((J+1)*Q, L)
			nj := j1 - j0
			gemm(false, true, ni, nj, d, sc, q[i0*d:i1*d], d, k[j0*d:j1*d], d, 0, S, nj) // s = Q_I K_Jᵀ·scale
			for i := 0; i < ni; i++ {
				srow, prow := S[i*nj:(i+1)*nj], P[i*nj:(i+1)*nj]
				jmax := nj
				if J == I {
					jmax = i + 1
				}
				// seg_ij = Σ_{u=j+1}^{i} a_u for row i and key j0+jj
				seg := func(jj int) float64 {
					if a == nil {
						return 0
					}
					if J == I {
						return pre[i0+i] - pre[j0+jj]
					}
					return pre[i0+i] + between + suf[j0+jj]
				}
				mNew := m[i]
				switch {
				case o.Exp && sm:
					for jj := 0; jj < jmax; jj++ {
						mNew = math.Max(mNew, float64(srow[jj])+seg(jj))
					}
				case sm:
					rm := 0.0 // masked entries count as 0
					if jmax > 0 {
						rm = math.Inf(-1)
						if jmax < nj {
							rm = 0
						}
						for jj := 0; jj < jmax; jj++ {
							rm = math.Max(rm, float64(srow[jj]))
						}
					}
					mNew = math.Min(math.Max(m[i], rm), 32)
				}
				rowSum := 0.0
				for jj := 0; jj < nj; jj++ {
					p := 0.0
					if jj < jmax {
						switch {
						case o.Exp && sm:
							p = math.Exp(float64(srow[jj]) + seg(jj) - mNew)
						case o.Exp:
							p = math.Exp(float64(srow[jj]) + seg(jj))
						case sm:
							p = ipow(float64(srow[jj]), o.Order) * math.Exp(seg(jj)-mNew)
						default:
							p = ipow(float64(srow[jj]), o.Order)
							if a != nil {
								p *= math.Exp(seg(jj))
							}
						}
					}
					prow[jj] = flush[T](p)
					rowSum += p
				}
				if sm {
					r := 0.0
					if !math.IsInf(m[i], -1) {
						r = math.Exp(m[i] - mNew)
					}
					for c := 0; c < dv; c++ {
						acc[i*dv+c] *= r
					}
					l[i] = l[i]*r + rowSum
					m[i] = mNew
				}
			}
			gemm(false, false, ni, dv, nj, 1, P[:ni*nj], nj, v[j0*dv:j1*dv], dv, 0, PV, dv) // P V_J
			for x := 0; x < ni*dv; x++ {
				acc[x] += float64(PV[x])
			}
			if J < I && a != nil {
				between += tot[J]
			}
		}
		for i := 0; i < ni; i++ {
			for c := 0; c < dv; c++ {
				val := acc[i*dv+c]
				if sm {
					val = safeDiv(val, l[i])
				}
				y[(i0+i)*dv+c] = T(val)
			}
		}
	}
}

// KVCache is the decoding state of exp (softmax) attention: the keys and
// values seen so far (per head 2·N·d values, spec §g) and, per cached key,
// the accumulated log-decay Σ_{u=j+1}^{t} a_u (updated by direct summation).
type KVCache struct {
	Opts         Options
	B, H, Dk, Dv int
	N            int // cached tokens
	k, v, g      []float64
	f32          bool
}

// NewKVCache returns an empty cache for q, k (B, H, ·, d), v (B, H, ·, d_v).
func NewKVCache(dtype tensor.DType, B, H, d, dv int, o Options) *KVCache {
	const op = "ssd.NewKVCache"
	o.check(op)
	if !o.Exp {
		tensor.Errorf(op, "Exp", "a KV cache is for exp attention; order %d has a finite State (NewState)", o.Order)
	}
	if B < 0 || H < 0 || d < 1 || dv < 0 {
		tensor.Errorf(op, "B, H, d, dv", "(%d, %d, %d, %d) invalid", B, H, d, dv)
	}
	return &KVCache{Opts: o, B: B, H: H, Dk: d, Dv: dv, f32: dtype == tensor.Float32}
}

// Bytes is the KV-cache memory of the accounting (spec §g): N·(d + d_v)
// elements of the cache's dtype per head (2·N·d when d_v = d). This
// implementation keeps the keys, values and per-key log-decays in float64,
// so its actual footprint is larger for a float32 cache.
func (c *KVCache) Bytes() int64 {
	sz := int64(8)
	if c.f32 {
		sz = 4
	}
	return int64(c.B*c.H*c.N*(c.Dk+c.Dv)) * sz
}

func (c *KVCache) String() string {
	return fmt.Sprintf("ssd.KVCache{%s, B=%d H=%d d=%d d_v=%d, %d tokens, %s}",
		c.Opts, c.B, c.H, c.Dk, c.Dv, c.N, tensor.FormatBytes(c.Bytes()))
}

// grow makes room for one more token per head, allocating through tensor.New.
func (c *KVCache) grow() {
	BH := c.B * c.H
	need := BH * (c.N + 1)
	if need*c.Dk <= len(c.k) {
		return
	}
	ncap := max(2*c.N, 16)
	nk := tensor.New(tensor.Float64, BH*ncap*c.Dk).Float64s()
	nv := tensor.New(tensor.Float64, BH*ncap*c.Dv).Float64s()
	ng := tensor.New(tensor.Float64, BH*ncap).Float64s()
	oldCap := 0
	if BH > 0 {
		oldCap = len(c.g) / BH
	}
	for h := 0; h < BH; h++ {
		copy(nk[h*ncap*c.Dk:], c.k[h*oldCap*c.Dk:h*oldCap*c.Dk+c.N*c.Dk])
		copy(nv[h*ncap*c.Dv:], c.v[h*oldCap*c.Dv:h*oldCap*c.Dv+c.N*c.Dv])
		copy(ng[h*ncap:], c.g[h*oldCap:h*oldCap+c.N])
	}
	c.k, c.v, c.g = nk, nv, ng
}

// Step appends one token per (b, h) and attends over the cache:
// q, k (B, H, d), v (B, H, d_v), a (B, H) or nil → y (B, H, d_v),
// y_t = Σ_{j≤t} exp(q_t·k_j·scale + Σ_{u=j+1}^{t} a_u) v_j [/ Σ_j …].
func (c *KVCache) Step(q, k, v, a *tensor.Tensor) *tensor.Tensor {
	const op = "ssd.KVCache.Step"
	if q == nil || k == nil || v == nil {
		tensor.Errorf(op, "q, k, v", "must not be nil")
	}
	tensor.CheckShape(op, "q", q.Shape(), "(B, H, d of the cache)", c.B, c.H, c.Dk)
	tensor.CheckShape(op, "k", k.Shape(), "(same as q)", c.B, c.H, c.Dk)
	tensor.CheckShape(op, "v", v.Shape(), "(B, H, d_v of the cache)", c.B, c.H, c.Dv)
	if a != nil {
		tensor.CheckShape(op, "a", a.Shape(), "(B, H)", c.B, c.H)
	}
	sameDType(op, q, []string{"k", "v", "a"}, k, v, a)
	if (q.DType() == tensor.Float32) != c.f32 {
		tensor.Errorf(op, "q", "is %s, the cache was made for the other dtype", q.DType())
	}
	c.grow()
	BH := c.B * c.H
	ncap := len(c.g) / max(BH, 1)
	qd, kd, vd := q.Data(), k.Data(), v.Data()
	var ad []float64
	if a != nil {
		ad = a.Data()
	}
	y := tensor.New(q.DType(), c.B, c.H, 1, c.Dv)
	yd := make([]float64, BH*c.Dv)
	sc := c.Opts.scale(c.Dk)
	N := c.N + 1
	parallel(BH, func(h int) {
		K, V, G := c.k[h*ncap*c.Dk:], c.v[h*ncap*c.Dv:], c.g[h*ncap:]
		copy(K[c.N*c.Dk:], kd[h*c.Dk:(h+1)*c.Dk])
		copy(V[c.N*c.Dv:], vd[h*c.Dv:(h+1)*c.Dv])
		G[c.N] = 0
		if ad != nil {
			for j := 0; j < c.N; j++ {
				G[j] += ad[h] // Σ_{u=j+1}^{t} a_u grows by a_t
			}
		}
		qt := qd[h*c.Dk : (h+1)*c.Dk]
		lg := make([]float64, N)
		m := math.Inf(-1)
		for j := 0; j < N; j++ {
			s := 0.0
			for x, kv := range K[j*c.Dk : (j+1)*c.Dk] {
				s += qt[x] * kv
			}
			lg[j] = s*sc + G[j]
			m = math.Max(m, lg[j])
		}
		if c.Opts.Norm != NormSoftmax {
			m = 0
		}
		den := 0.0
		out := yd[h*c.Dv : (h+1)*c.Dv]
		for j := 0; j < N; j++ {
			p := math.Exp(lg[j] - m)
			den += p
			for x, vv := range V[j*c.Dv : (j+1)*c.Dv] {
				out[x] += p * vv
			}
		}
		if c.Opts.Norm == NormSoftmax {
			for x := range out {
				out[x] = safeDiv(out[x], den)
			}
		}
	})
	c.N = N
	flat := y.Reshape(-1)
	for i, x := range yd {
		flat.Set(x, i)
	}
	finishOutputNorm(y, c.Opts)
	return checkFinite(op, y).Reshape(c.B, c.H, c.Dv)
}
