package nn

import (
	"math"

	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// ChunkedAttention is the chunked (SSD) form of Attention for orders 1
// and 2 (spec §e.3), with its own whole-tensor backward pass. Per head,
// with ψ = id (order 1) or φ = KronFeature (order 2, D = d(d+1)/2),
// k̃ = k/√d, chunks of Q steps and b_t the inclusive cumsum of a within
// the chunk (B = b at the chunk's last step):
//
//	diagonal: Y_i += Σ_{j ≤ i in chunk} f(q_i·k̃_j)·exp(b_i − b_j)·v_j
//	off:      Y_i += exp(b_i)·ψ(q_i)ᵀ S            (S = state entering the chunk)
//	state:    S ← exp(B)·S + Σ_j exp(B − b_j)·ψ(k̃_j) v_jᵀ   (D × dv)
//
// With smNorm a ones column is appended to V and the output is divided by
// it. Shapes, arguments and results are those of Attention:
// q, k (B, H, L, d), v (B, H, L, dv), a (B, H, L) or nil → (B, H, L, dv);
// L need not be a multiple of chunk. The exponents are ≤ 0 for a ≤ 0.
// It equals Attention up to rounding (tests: ≤ 1e-13 in float64) and
// costs O(L·Q·d + L·D·dv) instead of O(L²·d).
//
// In float32, when the active backend is not the CPU and implements
// backend.Attentioner, the forward and backward run there in the quadratic
// form (the same function up to rounding), as for Attention.
func ChunkedAttention(q, k, v, a *Var, order int, smNorm bool, chunk int) *Var {
	chunkCheck(order, chunk)
	at := valueOf(a)
	return attention("nn.ChunkedAttention", q, k, v, a, order, smNorm, func() *tensor.Tensor {
		return ChunkedAttentionForward(q.Value, k.Value, v.Value, at, order, smNorm, chunk)
	}, func(g *tensor.Tensor) AttnGrads {
		return ChunkedAttentionBackward(q.Value, k.Value, v.Value, at, order, smNorm, chunk, g)
	})
}

// ChunkedAttentionForward is ChunkedAttention on plain tensors, without a
// graph: ssd.Chunked with AttnOptions(order, smNorm) from a zero state.
func ChunkedAttentionForward(q, k, v, a *tensor.Tensor, order int, smNorm bool, chunk int) *tensor.Tensor {
	chunkCheck(order, chunk)
	attnCheck(q, k, v, a, order, nil)
	y, _ := ssd.Chunked(q, k, v, a, AttnOptions(order, smNorm), chunk, nil)
	return y
}

// ChunkedAttentionBackward returns dQ, dK, dV and the per-step DA for the
// output gradient dO (B, H, L, dv), computed chunk by chunk in reverse (the
// state gradient dS flows backwards: dS_n = exp(B_n)·dS_{n+1} + Σ_i exp(b_i) ψ(q_i) dY_iᵀ).
// DAN, DAM and DAcs are not formed (nil).
func ChunkedAttentionBackward(q, k, v, a *tensor.Tensor, order int, smNorm bool, chunk int, dO *tensor.Tensor) AttnGrads {
	gr := AttnGrads{DQ: zerosLike(q), DK: zerosLike(k), DV: zerosLike(v)}
	if a != nil {
		gr.DA = zerosLike(a)
	}
	chunkCheck(order, chunk)
	attnBackRun(q, k, v, a, order, smNorm, dO, &gr, chunk)
	return gr
}

func chunkCheck(order, chunk int) {
	if order != OrderLinear && order != OrderSquared {
		tensor.Errorf("nn.ChunkedAttention", "order", "%d has no finite feature map: use OrderLinear (1) or OrderSquared (2), or Attention for OrderExp", order)
	}
	if chunk < 1 {
		tensor.Errorf("nn.ChunkedAttention", "chunk", "%d must be ≥ 1", chunk)
	}
}

// chunkHead runs the backward pass of the chunked form for one (batch,
// head) slice bh from dO into gr. It first replays the forward (the forward
// proper is ssd.Chunked) to keep what the backward needs: the state
// entering every chunk and the un-normalised output [numerator, Σ_j P_ij].
func chunkHead[T float](sp attnSpec, Q, bh int, q, k, v, a, fqAll, fkAll, dO []T, gr *gradSlices[T]) {
	L, d, dv := sp.L, sp.d, sp.dv
	qh, kh, vh := q[bh*L*d:(bh+1)*L*d], k[bh*L*d:(bh+1)*L*d], v[bh*L*dv:(bh+1)*L*dv]
	D := d
	if sp.order == OrderSquared {
		D = d * (d + 1) / 2
	}
	w := dv // V' = [V, 1] with smNorm
	if sp.norm {
		w = dv + 1
	}
	vp := make([]T, L*w)
	for t := 0; t < L; t++ {
		copy(vp[t*w:t*w+dv], vh[t*dv:(t+1)*dv])
		if sp.norm {
			vp[t*w+dv] = 1
		}
	}
	fq, fk := fqAll[bh*L*D:(bh+1)*L*D], fkAll[bh*L*D:(bh+1)*L*D] // ψ(q), ψ(k/√d): (L, D)
	b := make([]float64, L)                                      // inclusive cumsum of a within each chunk
	if sp.masked {
		ah := a[bh*L : (bh+1)*L]
		for s0 := 0; s0 < L; s0 += Q {
			acc := 0.0
			for t := s0; t < min(s0+Q, L); t++ {
				acc += float64(ah[t])
				b[t] = acc
			}
		}
	}
	N := (L + Q - 1) / Q
	states := make([][]T, N) // S_n entering chunk n, (D, w)
	S := make([]T, D*w)
	Y := make([]T, L*w)
	tmp := make([]T, Q*w)
	for n := 0; n < N; n++ {
		s0, s1 := n*Q, min((n+1)*Q, L)
		m := s1 - s0
		states[n] = append([]T(nil), S...)
		// Diagonal block: the quadratic form restricted to the chunk.
		sub := sp
		sub.L, sub.dv, sub.norm = m, w, false
		attnHead(sub, 0, qh[s0*d:s1*d], kh[s0*d:s1*d], vp[s0*w:s1*w], segA(a, bh*L+s0, m), Y[s0*w:s1*w], nil, nil)
		// Off-diagonal: Y_i += exp(b_i)·ψ(q_i)ᵀ S.
		gemm(false, false, m, w, D, 1, fq[s0*D:s1*D], D, S, w, 0, tmp, w)
		for i := 0; i < m; i++ {
			e := math.Exp(b[s0+i])
			for c := 0; c < w; c++ {
				Y[(s0+i)*w+c] += T(e * float64(tmp[i*w+c]))
			}
		}
		// State: S ← exp(B)·S + (diag(exp(B − b)) ψ(k̃))ᵀ V'.
		B := b[s1-1]
		eB := math.Exp(B)
		for i := range S {
			S[i] = T(eB * float64(S[i]))
		}
		kd := make([]T, m*D)
		for j := 0; j < m; j++ {
			e := math.Exp(B - b[s0+j])
			for c := 0; c < D; c++ {
				kd[j*D+c] = T(e * float64(fk[(s0+j)*D+c]))
			}
		}
		gemm(true, false, D, w, m, 1, kd, D, vp[s0*w:s1*w], w, 1, S, w)
	}
	chunkBack(sp, Q, bh, qh, kh, vp, a, fq, fk, b, states, Y, dO, gr, D, w)
}

// segA returns a[off:off+m] of the flattened log-decays, or nil.
func segA[T float](a []T, off, m int) []T {
	if a == nil {
		return nil
	}
	return a[off : off+m]
}

// featBack adds to dx (L, d) the gradient through x ↦ ψ(scale·x) (ssd.Feature
// of order 1 or 2) given dF (L, D).
func featBack[T float](dx, x, dF []T, L, d, order int, scale float64) {
	if order == OrderLinear {
		for i := range dx[:L*d] {
			dx[i] += T(scale * float64(dF[i]))
		}
		return
	}
	D := d * (d + 1) / 2
	for t := 0; t < L; t++ {
		xr, g, o := x[t*d:(t+1)*d], dF[t*D:(t+1)*D], dx[t*d:(t+1)*d]
		acc := make([]float64, d)
		p := 0
		for i := 0; i < d; i++ {
			xi := scale * float64(xr[i])
			acc[i] += 2 * float64(g[p]) * xi
			p++
			for j := i + 1; j < d; j++ {
				xj := scale * float64(xr[j])
				acc[i] += math.Sqrt2 * float64(g[p]) * xj
				acc[j] += math.Sqrt2 * float64(g[p]) * xi
				p++
			}
		}
		for i := range acc {
			o[i] += T(scale * acc[i])
		}
	}
}

// chunkBack is the backward pass of chunkHead, chunk by chunk in reverse.
// Y is the forward's un-normalised output (L, w), states[n] the state
// entering chunk n.
func chunkBack[T float](sp attnSpec, Q, bh int, qh, kh, vp, a, fq, fk []T, b []float64, states [][]T, Y, dO []T, gr *gradSlices[T], D, w int) {
	L, d, dv := sp.L, sp.d, sp.dv
	dOh := dO[bh*L*dv : (bh+1)*L*dv]
	dY := make([]T, L*w) // gradient w.r.t. Y = [numerator, denominator]
	for t := 0; t < L; t++ {
		if !sp.norm {
			copy(dY[t*w:(t+1)*w], dOh[t*dv:(t+1)*dv])
			continue
		}
		den := float64(Y[t*w+dv])
		if den == 0 { // y_t = 0/0 := 0 (ssd's policy), a constant: dY_t = 0
			continue
		}
		var s float64 // Σ_c (dy_c/den)·(Y_c/den)
		for c := 0; c < dv; c++ {
			g := float64(dOh[t*dv+c]) / den
			dY[t*w+c] = T(g)
			s += g * float64(Y[t*w+c]) / den
		}
		dY[t*w+dv] = T(-s)
	}
	dvp, dfq, dfk := make([]T, L*w), make([]T, L*D), make([]T, L*D)
	db := make([]float64, L) // gradient w.r.t. the within-chunk cumsum b
	dS := make([]T, D*w)     // gradient w.r.t. the state after chunk n
	for n := len(states) - 1; n >= 0; n-- {
		s0, s1 := n*Q, min((n+1)*Q, L)
		m := s1 - s0
		Sn := states[n]
		B := b[s1-1]
		eB := math.Exp(B)
		// State: S_{n+1} = e^B S_n + Σ_j e^{B−b_j} ψ(k̃_j) v'_jᵀ.
		U := make([]T, m*D) // U_j = dS v'_j
		gemm(false, true, m, D, w, 1, vp[s0*w:s1*w], w, dS, w, 0, U, D)
		kd := make([]T, m*D) // e^{B−b_j} ψ(k̃_j)
		dB := 0.0
		if sp.masked {
			for i := range Sn {
				dB += float64(Sn[i]) * float64(dS[i])
			}
			dB *= eB
		}
		for j := 0; j < m; j++ {
			e := math.Exp(B - b[s0+j])
			var wj float64
			for c := 0; c < D; c++ {
				f := float64(fk[(s0+j)*D+c])
				kd[j*D+c] = T(e * f)
				wj += f * float64(U[j*D+c])
				dfk[(s0+j)*D+c] += T(e * float64(U[j*D+c]))
			}
			if sp.masked {
				dB += e * wj
				db[s0+j] -= e * wj
			}
		}
		if sp.masked {
			db[s1-1] += dB
		}
		gemm(false, false, m, w, D, 1, kd, D, dS, w, 1, dvp[s0*w:s1*w], w) // dV' += diag(e) ψ(k̃) dS
		// Off-diagonal: Yoff_i = e^{b_i} ψ(q_i)ᵀ S_n.
		dYn := dY[s0*w : s1*w]
		gq := make([]T, m*D) // dY_i S_nᵀ
		gemm(false, true, m, D, w, 1, dYn, w, Sn, w, 0, gq, D)
		fo := make([]T, m*w) // ψ(q_i)ᵀ S_n
		gemm(false, false, m, w, D, 1, fq[s0*D:s1*D], D, Sn, w, 0, fo, w)
		qd := make([]T, m*D) // e^{b_i} ψ(q_i)
		for i := 0; i < m; i++ {
			e := math.Exp(b[s0+i])
			for c := 0; c < D; c++ {
				dfq[(s0+i)*D+c] += T(e * float64(gq[i*D+c]))
				qd[i*D+c] = T(e * float64(fq[(s0+i)*D+c]))
			}
			if sp.masked {
				var s float64
				for c := 0; c < w; c++ {
					s += float64(fo[i*w+c]) * float64(dYn[i*w+c])
				}
				db[s0+i] += e * s
			}
		}
		for i := range dS { // dS_n = e^B dS_{n+1} + (diag(e^b) ψ(q))ᵀ dY
			dS[i] = T(eB * float64(dS[i]))
		}
		gemm(true, false, D, w, m, 1, qd, D, dYn, w, 1, dS, w)
		// Diagonal block: the quadratic backward restricted to the chunk.
		sub := sp
		sub.L, sub.dv, sub.norm = m, w, false
		g := &gradSlices[T]{dq: make([]T, m*d), dk: make([]T, m*d), dv: make([]T, m*w)}
		if sp.masked {
			g.dan, g.dam = make([]T, m), make([]T, m)
		}
		attnHead(sub, 0, qh[s0*d:s1*d], kh[s0*d:s1*d], vp[s0*w:s1*w], segA(a, bh*L+s0, m), nil, dYn, g)
		for i := 0; i < m*d; i++ {
			gr.dq[bh*L*d+s0*d+i] += g.dq[i]
			gr.dk[bh*L*d+s0*d+i] += g.dk[i]
		}
		for i := range g.dv {
			dvp[s0*w+i] += g.dv[i]
		}
		if sp.masked {
			for i := 0; i < m; i++ {
				db[s0+i] += float64(g.dan[i]) + float64(g.dam[i])
			}
		}
	}
	if sp.masked { // a → b is a cumsum within each chunk: reverse cumsum back
		for s0 := 0; s0 < L; s0 += Q {
			acc := 0.0
			for t := min(s0+Q, L) - 1; t >= s0; t-- {
				acc += db[t]
				gr.da[bh*L+t] = T(acc)
			}
		}
	}
	featBack(gr.dq[bh*L*d:(bh+1)*L*d], qh, dfq, L, d, sp.order, 1)
	featBack(gr.dk[bh*L*d:(bh+1)*L*d], kh, dfk, L, d, sp.order, sp.c)
	for t := 0; t < L; t++ {
		for c := 0; c < dv; c++ {
			gr.dv[bh*L*dv+t*dv+c] += dvp[t*w+c]
		}
	}
}
