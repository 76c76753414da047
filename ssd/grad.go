package ssd

import (
	"math"

	"github.com/furious-lab/furious/tensor"
)

// Grads are the gradients of one core-attention call (Quadratic or Chunked)
// for an output gradient dy (spec §f): DQ, DK (B, H, L, d), DV (B, H, L, d_v),
// and, when the call had a log-decay a, DA (B, H, L) w.r.t. the per-step a.
// QuadraticBackward also returns the query- and key-side gradients w.r.t. the
// cumsum Acs, DAN and DAM (B, H, L), and DAcs = DAN + DAM, so that
// DA = reverse-cumsum(DAcs); ChunkedBackward leaves those three nil.
type Grads struct {
	DQ, DK, DV     *tensor.Tensor
	DA             *tensor.Tensor
	DAN, DAM, DAcs *tensor.Tensor
}

// QuadraticBackward returns the gradients of Quadratic(q, k, v, a, o) for the
// output gradient dy (B, H, L, d_v), by the formulas of spec §f generalised to
// any order p (c the scale, M the causal mask, AM the A-mask, G = dy Vᵀ):
//
//	no norm:      E = G ⊙ M,  W = P,  dV = Wᵀ dy,  dlogAM = E ⊙ P
//	softmax norm: W = Y_N = P / Σ_j P,  G' = (G − Σ_j Y_N ⊙ G) ⊙ M,  E = G' / Σ_j P,
//	              dV = Y_Nᵀ dy,  dlogAM = Y_N ⊙ G'
//	dS = E ⊙ f'(s) ⊙ AM  (f' = p·s^{p−1}; for exp dS = dlogAM),  dQ = c·dS K,  dK = c·dSᵀ Q
//	dA^N_i = Σ_j dlogAM_ij,  dA^M_j = −Σ_i dlogAM_ij,  DA = revcumsum(dA^N + dA^M)
//
// These are C.1–C.4, C.5 as corrected in the spec, and C.6 (p = 1, 2, exp).
// With the output norm (NormOutput) the gradient first goes back through the
// unit-weight RMSNorm over the merged heads. The whole L×L matrices of a head
// are recomputed from the inputs (O(L²) memory per head), heads in parallel.
// A softmax-norm row whose Σ_j P_ij is exactly 0 outputs the constant 0 (the
// package's policy), so its gradient is 0. Always on the CPU.
func QuadraticBackward(q, k, v, a *tensor.Tensor, o Options, dy *tensor.Tensor) Grads {
	return backward("ssd.QuadraticBackward", FormQuadratic, q, k, v, a, o, 0, dy)
}

// ChunkedBackward returns the gradients of Chunked(q, k, v, a, o, chunk, nil)
// (zero initial state) for dy (B, H, L, d_v): DQ, DK, DV and DA (DAN, DAM and
// DAcs are not formed). Per head it replays the forward chunk by chunk to keep
// the state entering every chunk and the un-normalised output [Y, Σ_j P_ij],
// then runs backwards: the state gradient flows in reverse,
// dS_n = exp(B_n)·dS_{n+1} + Σ_i exp(b_i) ψ(q_i) dY_iᵀ (b the within-chunk
// cumsum, B its last value, ψ the order-p feature map of feature.go), and the
// diagonal blocks use the quadratic backward restricted to the chunk. Cost
// O(L·(chunk·d + D·d_v)) per head, D = C(d+p−1, p). Equal to
// QuadraticBackward up to rounding (tests: ≤ 1e-10 in float64). Exp has no
// chunked form.
func ChunkedBackward(q, k, v, a *tensor.Tensor, o Options, chunk int, dy *tensor.Tensor) Grads {
	const op = "ssd.ChunkedBackward"
	if o.Exp {
		tensor.Errorf(op, "Exp", "exp attention has no chunked form: use QuadraticBackward")
	}
	if chunk <= 0 {
		tensor.Errorf(op, "chunk", "is %d, want ≥ 1", chunk)
	}
	return backward(op, FormChunked, q, k, v, a, o, chunk, dy)
}

// backward checks the call, takes the output norm back, and runs the form's
// per-head backward pass.
func backward(op string, form Form, q, k, v, a *tensor.Tensor, o Options, chunk int, dy *tensor.Tensor) Grads {
	o.check(op)
	dm := checkInputs(op, q, k, v, a)
	if dy == nil {
		tensor.Errorf(op, "dy", "must not be nil")
	}
	tensor.CheckShape(op, "dy", dy.Shape(), "(the output's shape (B, H, L, d_v))", dm.B, dm.H, dm.L, dm.dv)
	sameDType(op, q, []string{"dy"}, dy)
	if o.Norm == NormOutput {
		o.Norm = NormNone
		y := cpuForward(form, dm, q, k, v, a, o, chunk)
		dy = rmsNormBack(y, dy, o.Eps)
	}
	gr := Grads{DQ: tensor.New(q.DType(), q.Shape()...), DK: tensor.New(q.DType(), k.Shape()...), DV: tensor.New(q.DType(), v.Shape()...)}
	if a != nil {
		gr.DA = tensor.New(q.DType(), a.Shape()...)
		if form == FormQuadratic {
			gr.DAN, gr.DAM, gr.DAcs = tensor.New(q.DType(), a.Shape()...), tensor.New(q.DType(), a.Shape()...), tensor.New(q.DType(), a.Shape()...)
		}
	}
	sp := headSpec{p: o.Order, exp: o.Exp, norm: o.Norm == NormSoftmax, masked: a != nil, c: o.scale(dm.d), L: dm.L, d: dm.d, dv: dm.dv}
	if q.DType() == tensor.Float64 {
		backHeads[float64](form, sp, chunk, dm, q, k, v, a, dy, &gr)
	} else {
		backHeads[float32](form, sp, chunk, dm, q, k, v, a, dy, &gr)
	}
	return gr
}

// cpuForward is the form's output on the CPU (o without the output norm).
func cpuForward(form Form, dm dims, q, k, v, a *tensor.Tensor, o Options, chunk int) *tensor.Tensor {
	y := tensor.New(q.DType(), dm.B, dm.H, dm.L, dm.dv)
	if form == FormChunked {
		s := startState("ssd.ChunkedBackward", nil, dm, o, q.DType())
		if q.DType() == tensor.Float64 {
			chunkAll[float64](dm, q, k, v, a, y, s, chunk)
		} else {
			chunkAll[float32](dm, q, k, v, a, y, s, chunk)
		}
		return y
	}
	if q.DType() == tensor.Float64 {
		forHeads[float64](dm, q, k, v, a, y, func(_ int, q, k, v []float64, a []float64, y []float64) {
			quadHead(q, k, v, a, dm.L, dm.d, dm.dv, o, y)
		})
	} else {
		forHeads[float32](dm, q, k, v, a, y, func(_ int, q, k, v []float32, a []float64, y []float32) {
			quadHead(q, k, v, a, dm.L, dm.d, dm.dv, o, y)
		})
	}
	return y
}

// rmsNormBack returns the gradient w.r.t. x of the unit-weight RMSNorm over the
// merged heads (RMSNorm in norm.go) for its output gradient g, x and g
// (B, H, L, d_v): per (b, l) over the N = H·d_v values, with r = 1/√(mean x² + eps),
// dx = r·g − r³·x·(Σ g·x)/N.
func rmsNormBack(x, g *tensor.Tensor, eps float64) *tensor.Tensor {
	s := x.Shape()
	B, H, L, dv := s[0], s[1], s[2], s[3]
	xd, gd := x.Data(), g.Data()
	out := make([]float64, len(xd))
	n := float64(H * dv)
	for b := 0; b < B; b++ {
		for l := 0; l < L; l++ {
			var ss, gx float64
			for h := 0; h < H; h++ {
				o := ((b*H+h)*L + l) * dv
				for c := 0; c < dv; c++ {
					ss += xd[o+c] * xd[o+c]
					gx += xd[o+c] * gd[o+c]
				}
			}
			r := 1 / math.Sqrt(ss/n+eps)
			for h := 0; h < H; h++ {
				o := ((b*H+h)*L + l) * dv
				for c := 0; c < dv; c++ {
					out[o+c] = r*gd[o+c] - r*r*r*xd[o+c]*gx/n
				}
			}
		}
	}
	t := tensor.FromFloat64(out, s...)
	return t.As(x.DType())
}

// headSpec describes one head's problem for the per-head kernels.
type headSpec struct {
	p        int  // order (ignored when exp)
	exp      bool // f(s) = exp(s)
	norm     bool // softmax norm
	masked   bool // a log-decay is given
	c        float64
	L, d, dv int
}

// headGrads are the per-head outputs of the backward kernels; dan and dam
// (the query- and key-side gradients w.r.t. the cumsum) may be nil.
type headGrads[T float] struct {
	dq, dk, dv []T
	dan, dam   []float64
}

// backHeads runs the backward kernel of the form for every (b, h) in parallel
// (heads write disjoint slices), then forms DAcs and DA of the quadratic form.
func backHeads[T float](form Form, sp headSpec, chunk int, dm dims, q, k, v, a, dy *tensor.Tensor, gr *Grads) {
	L, d, dv := dm.L, dm.d, dm.dv
	qs, ks, vs, ds := data[T](q), data[T](k), data[T](v), data[T](dy)
	dq, dk, dvv := data[T](gr.DQ), data[T](gr.DK), data[T](gr.DV)
	var as, da, dan, dam, dacs []T
	if a != nil {
		as, da = data[T](a), data[T](gr.DA)
		if gr.DAN != nil {
			dan, dam, dacs = data[T](gr.DAN), data[T](gr.DAM), data[T](gr.DAcs)
		}
	}
	parallel(dm.B*dm.H, func(bh int) {
		var ah []float64
		if as != nil {
			ah = f64(as[bh*L : (bh+1)*L])
		}
		qh, kh, vh := qs[bh*L*d:(bh+1)*L*d], ks[bh*L*d:(bh+1)*L*d], vs[bh*L*dv:(bh+1)*L*dv]
		dyh := ds[bh*L*dv : (bh+1)*L*dv]
		g := headGrads[T]{dq: dq[bh*L*d : (bh+1)*L*d], dk: dk[bh*L*d : (bh+1)*L*d], dv: dvv[bh*L*dv : (bh+1)*L*dv]}
		if ah != nil {
			g.dan, g.dam = make([]float64, L), make([]float64, L)
		}
		if form == FormChunked {
			var dah []T
			if ah != nil {
				dah = da[bh*L : (bh+1)*L]
			}
			chunkBackHead(sp, chunk, qh, kh, vh, ah, dyh, &g, dah)
			return
		}
		quadBackHead(sp, qh, kh, vh, ah, nil, dyh, &g)
		if ah == nil {
			return
		}
		acc := 0.0 // DA = reverse cumsum of DAcs, in float64
		for t := L - 1; t >= 0; t-- {
			x := g.dan[t] + g.dam[t]
			dan[bh*L+t], dam[bh*L+t], dacs[bh*L+t] = T(g.dan[t]), T(g.dam[t]), T(x)
			acc += x
			da[bh*L+t] = T(acc)
		}
	})
}

// quadBackHead runs the quadratic backward pass of one head from dO into g
// (overwriting g.dq, g.dk, g.dv and, when masked, g.dan, g.dam). It recomputes
// P (the backward needs the whole matrix); with dO nil it instead writes
// y = W V (W = P, or Y_N with softmax norm), which the chunked backward uses to
// rebuild its diagonal blocks. P follows quadHead's conventions: for exp with
// softmax norm the row maximum of s + log AM is subtracted first.
func quadBackHead[T float](sp headSpec, qh, kh, vh []T, a []float64, y, dO []T, g *headGrads[T]) {
	L, d, dv := sp.L, sp.d, sp.dv
	s := make([]T, L*L) // s_ij = c·q_i·k_j
	gemm(false, true, L, L, d, sp.c, qh, d, kh, d, 0, s, L)
	// seg[j] = log AM_ij = Σ_{u=j+1}^{i} a_u (j ≤ i) for the current row i,
	// accumulated directly (0 without a mask); one row at a time.
	seg := make([]float64, L)
	segRow := func(i int) {
		if !sp.masked {
			return
		}
		var acc float64
		for j := i; j >= 0; j-- {
			seg[j] = acc
			acc += a[j]
		}
	}
	// w = P (no norm) or Y_N = P/S (norm); den_i = S_i (1 without norm).
	w, den := make([]T, L*L), make([]float64, L)
	for i := 0; i < L; i++ {
		segRow(i)
		off := 0.0
		if sp.exp && sp.norm {
			off = math.Inf(-1)
			for j := 0; j <= i; j++ {
				off = math.Max(off, float64(s[i*L+j])+seg[j])
			}
		}
		var sum float64
		for j := 0; j <= i; j++ {
			sv := float64(s[i*L+j])
			var p float64
			switch {
			case sp.exp:
				p = math.Exp(sv + seg[j] - off)
			case sp.p == 1:
				p = sv * math.Exp(seg[j])
			case sp.p == 2:
				p = sv * sv * math.Exp(seg[j])
			default:
				p = ipow(sv, sp.p) * math.Exp(seg[j])
			}
			w[i*L+j] = T(p)
			sum += p
		}
		den[i] = 1
		switch {
		case sp.norm && sum == 0: // y_i = 0/0 := 0 (the package's policy), a constant: no gradient
			den[i] = math.Inf(1)
			for j := 0; j <= i; j++ {
				w[i*L+j] = 0
			}
		case sp.norm:
			den[i] = sum
			for j := 0; j <= i; j++ {
				w[i*L+j] = T(float64(w[i*L+j]) / sum)
			}
		}
	}
	if dO == nil {
		gemm(false, false, L, dv, L, 1, w, L, vh, dv, 0, y, dv) // y = W V
		return
	}
	gemm(true, false, L, dv, L, 1, w, L, dO, dv, 0, g.dv, dv) // dV = Wᵀ dO
	gm := make([]T, L*L)                                      // G = dO Vᵀ
	gemm(false, true, L, L, dv, 1, dO, dv, vh, dv, 0, gm, L)
	ds := gm // dS overwrites G entry by entry (G_ij is read first); zero above the diagonal
	if sp.masked {
		clear(g.dam)
	}
	pf := float64(sp.p)
	for i := 0; i < L; i++ {
		segRow(i)
		for j := i + 1; j < L; j++ {
			ds[i*L+j] = 0
		}
		var r float64 // Σ_j Y_N_ij G_ij = dO_i·y_i
		if sp.norm {
			for j := 0; j <= i; j++ {
				r += float64(w[i*L+j]) * float64(gm[i*L+j])
			}
		}
		var dan float64
		for j := 0; j <= i; j++ {
			gt := float64(gm[i*L+j]) - r // G' (or G without norm)
			wv := float64(w[i*L+j])
			dl := gt * wv // dlogAM_ij = E ⊙ P
			var dsv float64
			switch {
			case sp.exp:
				dsv = dl
			case sp.p == 1:
				dsv = gt * math.Exp(seg[j]) / den[i]
			case sp.p == 2:
				dsv = gt * 2 * float64(s[i*L+j]) * math.Exp(seg[j]) / den[i]
			default:
				dsv = gt * pf * ipow(float64(s[i*L+j]), sp.p-1) * math.Exp(seg[j]) / den[i]
			}
			ds[i*L+j] = T(dsv)
			if sp.masked {
				dan += dl
				g.dam[j] -= dl
			}
		}
		if sp.masked {
			g.dan[i] = dan
		}
	}
	gemm(false, false, L, d, L, sp.c, ds, L, kh, d, 0, g.dq, d) // dQ = c·dS K
	gemm(true, false, L, d, L, sp.c, ds, L, qh, d, 0, g.dk, d)  // dK = c·dSᵀ Q
}

// segA returns a[off:off+m], or nil without a mask.
func segA(a []float64, off, m int) []float64 {
	if a == nil {
		return nil
	}
	return a[off : off+m]
}

// chunkBackHead runs the chunked backward pass of one head from dO, adding
// into g.dq, g.dk, g.dv (zero on entry) and writing da (the per-step
// log-decay gradient of the head, nil without a mask). It first replays the
// forward (the forward proper is Chunked) to keep the state entering every
// chunk and the un-normalised output [numerator, Σ_j P_ij]. Per head, with ψ
// the order-p feature map, k̃ = k·c, b the inclusive cumsum of a within the
// chunk and B its value at the chunk's last step:
//
//	diagonal: Y_i += Σ_{j ≤ i in chunk} f(q_i·k̃_j)·exp(b_i − b_j)·v'_j
//	off:      Y_i += exp(b_i)·ψ(q_i)ᵀ S            (S the state entering the chunk)
//	state:    S ← exp(B)·S + Σ_j exp(B − b_j)·ψ(k̃_j) v'_jᵀ   (D × w)
//
// with v' = [v, 1] (w = d_v + 1) under softmax norm, else v' = v (w = d_v).
func chunkBackHead[T float](sp headSpec, Q int, qh, kh, vh []T, a []float64, dO []T, g *headGrads[T], da []T) {
	L, d, dv := sp.L, sp.d, sp.dv
	Q = min(Q, max(L, 1))
	f := getFeatMap(d, sp.p)
	D := f.D
	w := dv
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
	fq, fk := make([]T, L*D), make([]T, L*D) // ψ(q), ψ(k·c) = c^p·ψ(k): (L, D)
	featRows(f, qh, L, nil, fq)
	cp := ipow(sp.c, sp.p)
	featRows(f, kh, L, func(int) float64 { return cp }, fk)
	b := make([]float64, L) // inclusive cumsum of a within each chunk
	if sp.masked {
		for s0 := 0; s0 < L; s0 += Q {
			acc := 0.0
			for t := s0; t < min(s0+Q, L); t++ {
				acc += a[t]
				b[t] = acc
			}
		}
	}
	N := (L + Q - 1) / Q
	states := make([][]T, N) // S_n entering chunk n, (D, w)
	S := make([]T, D*w)
	Y := make([]T, L*w)
	tmp := make([]T, Q*w)
	kd := make([]T, Q*D)
	sub := sp
	sub.dv, sub.norm = w, false
	for n := 0; n < N; n++ {
		s0, s1 := n*Q, min((n+1)*Q, L)
		m := s1 - s0
		states[n] = append([]T(nil), S...)
		// Diagonal block: the quadratic form restricted to the chunk.
		sub.L = m
		quadBackHead(sub, qh[s0*d:s1*d], kh[s0*d:s1*d], vp[s0*w:s1*w], segA(a, s0, m), Y[s0*w:s1*w], nil, nil)
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
		for j := 0; j < m; j++ {
			e := math.Exp(B - b[s0+j])
			for c := 0; c < D; c++ {
				kd[j*D+c] = T(e * float64(fk[(s0+j)*D+c]))
			}
		}
		gemm(true, false, D, w, m, 1, kd[:m*D], D, vp[s0*w:s1*w], w, 1, S, w)
	}
	chunkBack(sp, f, Q, qh, kh, vp, a, fq, fk, b, states, Y, dO, g, da, w)
}

// chunkBack is the backward pass of chunkBackHead, chunk by chunk in reverse.
// Y is the forward's un-normalised output (L, w), states[n] the state
// entering chunk n.
func chunkBack[T float](sp headSpec, f *featMap, Q int, qh, kh, vp []T, a []float64, fq, fk []T, b []float64, states [][]T, Y, dO []T, gr *headGrads[T], da []T, w int) {
	L, d, dv, D := sp.L, sp.d, sp.dv, f.D
	dY := make([]T, L*w) // gradient w.r.t. Y = [numerator, denominator]
	for t := 0; t < L; t++ {
		if !sp.norm {
			copy(dY[t*w:(t+1)*w], dO[t*dv:(t+1)*dv])
			continue
		}
		den := float64(Y[t*w+dv])
		if den == 0 { // y_t = 0/0 := 0 (the package's policy), a constant: dY_t = 0
			continue
		}
		var s float64 // Σ_c (dy_c/den)·(Y_c/den)
		for c := 0; c < dv; c++ {
			g := float64(dO[t*dv+c]) / den
			dY[t*w+c] = T(g)
			s += g * float64(Y[t*w+c]) / den
		}
		dY[t*w+dv] = T(-s)
	}
	dvp, dfq, dfk := make([]T, L*w), make([]T, L*D), make([]T, L*D)
	db := make([]float64, L) // gradient w.r.t. the within-chunk cumsum b
	dS := make([]T, D*w)     // gradient w.r.t. the state after chunk n
	U := make([]T, Q*D)
	kd := make([]T, Q*D)
	gq := make([]T, Q*D)
	fo := make([]T, Q*w)
	qd := make([]T, Q*D)
	g := headGrads[T]{dq: make([]T, Q*d), dk: make([]T, Q*d), dv: make([]T, Q*w)}
	if sp.masked {
		g.dan, g.dam = make([]float64, Q), make([]float64, Q)
	}
	sub := sp
	sub.dv, sub.norm = w, false
	for n := len(states) - 1; n >= 0; n-- {
		s0, s1 := n*Q, min((n+1)*Q, L)
		m := s1 - s0
		Sn := states[n]
		B := b[s1-1]
		eB := math.Exp(B)
		// State: S_{n+1} = e^B S_n + Σ_j e^{B−b_j} ψ(k̃_j) v'_jᵀ.
		gemm(false, true, m, D, w, 1, vp[s0*w:s1*w], w, dS, w, 0, U, D) // U_j = dS v'_j
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
				fv := float64(fk[(s0+j)*D+c])
				kd[j*D+c] = T(e * fv)
				wj += fv * float64(U[j*D+c])
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
		gemm(false, false, m, w, D, 1, kd[:m*D], D, dS, w, 1, dvp[s0*w:s1*w], w) // dV' += diag(e) ψ(k̃) dS
		// Off-diagonal: Yoff_i = e^{b_i} ψ(q_i)ᵀ S_n.
		dYn := dY[s0*w : s1*w]
		gemm(false, true, m, D, w, 1, dYn, w, Sn, w, 0, gq, D)            // dY_i S_nᵀ
		gemm(false, false, m, w, D, 1, fq[s0*D:s1*D], D, Sn, w, 0, fo, w) // ψ(q_i)ᵀ S_n
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
		gemm(true, false, D, w, m, 1, qd[:m*D], D, dYn, w, 1, dS, w)
		// Diagonal block: the quadratic backward restricted to the chunk.
		sub.L = m
		cg := headGrads[T]{dq: g.dq[:m*d], dk: g.dk[:m*d], dv: g.dv[:m*w]}
		if sp.masked {
			cg.dan, cg.dam = g.dan[:m], g.dam[:m]
		}
		quadBackHead(sub, qh[s0*d:s1*d], kh[s0*d:s1*d], vp[s0*w:s1*w], segA(a, s0, m), nil, dYn, &cg)
		for i := 0; i < m*d; i++ {
			gr.dq[s0*d+i] += cg.dq[i]
			gr.dk[s0*d+i] += cg.dk[i]
		}
		for i := range cg.dv {
			dvp[s0*w+i] += cg.dv[i]
		}
		if sp.masked {
			for i := 0; i < m; i++ {
				db[s0+i] += cg.dan[i] + cg.dam[i]
			}
		}
	}
	if sp.masked { // a → b is a cumsum within each chunk: reverse cumsum back
		for s0 := 0; s0 < L; s0 += Q {
			acc := 0.0
			for t := min(s0+Q, L) - 1; t >= s0; t-- {
				acc += db[t]
				da[t] = T(acc)
			}
		}
	}
	featBack(f, gr.dq, qh, dfq, L, 1)
	featBack(f, gr.dk, kh, dfk, L, ipow(sp.c, sp.p))
	for t := 0; t < L; t++ {
		for c := 0; c < dv; c++ {
			gr.dv[t*dv+c] += dvp[t*w+c]
		}
	}
}

// featBack adds to dx (L, d) the gradient through x ↦ mult·ψ(x) (the order-p
// feature map of feature.go) given dF (L, D): for feature r = w_r·∏_t x_{i_t},
// ∂/∂x_c = w_r·Σ_{t: i_t = c} ∏_{s≠t} x_{i_s}. Orders 1 and 2 have direct
// loops (order 2: dx_i = 2·g_(i,i)·x_i + √2·Σ_{j≠i} g_(i,j)·x_j).
func featBack[T float](f *featMap, dx, x, dF []T, L int, mult float64) {
	d, D := f.d, f.D
	switch f.p {
	case 1:
		for i := range dx[:L*d] {
			dx[i] += T(mult * float64(dF[i]))
		}
		return
	case 2:
		acc := make([]float64, d)
		for t := 0; t < L; t++ {
			xr, g, o := x[t*d:(t+1)*d], dF[t*D:(t+1)*D], dx[t*d:(t+1)*d]
			clear(acc)
			p := 0
			for i := 0; i < d; i++ {
				xi := float64(xr[i])
				acc[i] += 2 * float64(g[p]) * xi
				p++
				for j := i + 1; j < d; j++ {
					gs := math.Sqrt2 * float64(g[p])
					acc[i] += gs * float64(xr[j])
					acc[j] += gs * xi
					p++
				}
			}
			for i := range acc {
				o[i] += T(mult * acc[i])
			}
		}
		return
	}
	pre := make([]float64, f.p+1)
	acc := make([]float64, d)
	for t := 0; t < L; t++ {
		xr, g := x[t*d:(t+1)*d], dF[t*D:(t+1)*D]
		clear(acc)
		for r := 0; r < D; r++ {
			gw := float64(g[r]) * f.w[r]
			if gw == 0 {
				continue
			}
			idx := f.idx[r*f.p : (r+1)*f.p]
			pre[0] = 1
			for s, c := range idx {
				pre[s+1] = pre[s] * float64(xr[c])
			}
			suf := 1.0
			for s := f.p - 1; s >= 0; s-- {
				acc[idx[s]] += gw * pre[s] * suf
				suf *= float64(xr[idx[s]])
			}
		}
		for i := range acc {
			dx[t*d+i] += T(mult * acc[i])
		}
	}
}
