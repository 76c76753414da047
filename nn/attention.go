package nn

import (
	"math"

	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// Orders of the score feature map f(s) in Attention.
const (
	OrderLinear  = 1  // f(s) = s            (linear attention, Mamba-2)
	OrderSquared = 2  // f(s) = s²           (2Mamba)
	OrderExp     = -1 // f(s) = eˢ           (2Mamba-E; with SMNorm and a mask = FoX)
)

// AttnGrads are the gradients of one Attention call (spec §f).
// DAN and DAM are the query-side and key-side gradients w.r.t. the A-mask
// cumsum Acs (B, H, L); DAcs = DAN + DAM; DA = reverse-cumsum(DAcs) is the
// gradient w.r.t. the per-step log-decays a. The D* of a maskless call are nil.
type AttnGrads struct {
	DQ, DK, DV         *tensor.Tensor // (B, H, L, d), (B, H, L, d), (B, H, L, dv)
	DAN, DAM, DAcs, DA *tensor.Tensor // (B, H, L) each
}

// Attention is the quadratic (attention) form of spec §e, per head:
//
//	s_ij = q_i·k_j / √d,  AM_ij = exp(Σ_{u=j+1}^{i} a_u) (1 without a mask),
//	P_ij = f(s_ij)·AM_ij for j ≤ i, 0 for j > i,
//	y_i  = Σ_j P_ij v_j            (no norm)
//	y_i  = Σ_j P_ij v_j / Σ_j P_ij (smNorm: softmax-like normalisation)
//
// q, k (B, H, L, d), v (B, H, L, dv), a (B, H, L) per-step log-decay or nil
// (no A-mask) → y (B, H, L, dv). order is OrderLinear, OrderSquared or
// OrderExp. The forward is ssd.Quadratic (the package's oracle; its
// conventions hold here: scale 1/√d, segment sums for the mask, a row whose
// normaliser Σ_j P_ij is exactly 0 outputs 0). The backward pass is
// AttentionBackward (whole L×L matrices per head, recomputed from the
// inputs, GEMMs through blas). In float32, when the active backend is not
// the CPU and implements backend.Attentioner (package gpu, L ≤ 2048), the
// forward and backward run there instead (accel.go); AttentionForward and
// AttentionBackward always run on the CPU.
func Attention(q, k, v, a *Var, order int, smNorm bool) *Var {
	at := valueOf(a)
	return attention("nn.Attention", q, k, v, a, order, smNorm, func() *tensor.Tensor {
		return AttentionForward(q.Value, k.Value, v.Value, at, order, smNorm)
	}, func(g *tensor.Tensor) AttnGrads {
		return AttentionBackward(q.Value, k.Value, v.Value, at, order, smNorm, g)
	})
}

// attention is the graph node of Attention and ChunkedAttention: forward
// and backward on the active backend where it takes them, else cpuFwd and
// cpuBack (each pass decides for itself).
func attention(op string, q, k, v, a *Var, order int, smNorm bool, cpuFwd func() *tensor.Tensor, cpuBack func(g *tensor.Tensor) AttnGrads) *Var {
	at := valueOf(a)
	y := attnForwardAccel(op, q.Value, k.Value, v.Value, at, order, smNorm)
	if y == nil {
		y = cpuFwd()
	}
	return NewOp(y, []*Var{q, k, v, a}, func(g *tensor.Tensor) []*tensor.Tensor {
		gr, ok := attnBackwardAccel(op, q.Value, k.Value, v.Value, at, order, smNorm, g)
		if !ok {
			gr = cpuBack(g)
		}
		return []*tensor.Tensor{gr.DQ, gr.DK, gr.DV, gr.DA}
	})
}

// AttentionForward is Attention on plain tensors, without a graph:
// ssd.Quadratic with AttnOptions(order, smNorm).
func AttentionForward(q, k, v, a *tensor.Tensor, order int, smNorm bool) *tensor.Tensor {
	attnCheck(q, k, v, a, order, nil)
	return ssd.Quadratic(q, k, v, a, AttnOptions(order, smNorm))
}

// AttnOptions returns the ssd.Options of an nn attention call: f(s) = s^order
// (or eˢ for OrderExp), scale 1/√d, NormSoftmax when smNorm, else NormNone.
func AttnOptions(order int, smNorm bool) ssd.Options {
	o := ssd.Options{Order: order}
	if order == OrderExp {
		o = ssd.Options{Exp: true}
	}
	if smNorm {
		o.Norm = ssd.NormSoftmax
	}
	return o
}

func valueOf(v *Var) *tensor.Tensor {
	if v == nil {
		return nil
	}
	return v.Value
}

// AttentionBackward returns the gradients of Attention for the output
// gradient dO (B, H, L, dv), by the formulas of spec §f (scale c = 1/√d,
// M the causal mask, AM the A-mask, G = dO Vᵀ):
//
//	no norm:  E = G ⊙ M,  dV = Pᵀ dO,  dlogAM = E ⊙ P
//	smNorm:   Y_N = P / Σ_j P,  G' = (G − Σ_j Y_N ⊙ G) ⊙ M,  E = G' / Σ_j P,
//	          dV = Y_Nᵀ dO,  dlogAM = Y_N ⊙ G'
//	dS = E ⊙ f'(s) ⊙ AM (f' = 1, 2s, eˢ),  dQ = c·dS K,  dK = c·dSᵀ Q
//	dA^N_i = Σ_j dlogAM_ij,  dA^M_j = −Σ_i dlogAM_ij,  da = revcumsum(dA^N + dA^M)
//
// These are C.1 (linear), C.2 (linear + softmax norm), C.3 (A-gated),
// C.4 (squared + A-mask), C.5 as corrected in the spec (squared + A-mask +
// softmax norm: D = 2·s ⊙ AM ⊙ G'/S) and C.6 (exp + softmax norm:
// D = Y_N ⊙ G'). With smNorm, dA^N = Σ_j Y_N ⊙ G' = dO·y − dO·y = 0.
func AttentionBackward(q, k, v, a *tensor.Tensor, order int, smNorm bool, dO *tensor.Tensor) AttnGrads {
	gr := AttnGrads{DQ: zerosLike(q), DK: zerosLike(k), DV: zerosLike(v)}
	if a != nil {
		gr.DAN, gr.DAM = zerosLike(a), zerosLike(a)
	}
	attnBackRun(q, k, v, a, order, smNorm, dO, &gr, 0)
	if a != nil {
		gr.DAcs = addNew(gr.DAN, gr.DAM)
		s := a.Shape()
		L := s[len(s)-1]
		gr.DA = cumsumT(gr.DAcs, numel(s)/max(L, 1), L, 1, true)
	}
	return gr
}

// attnCheck panics naming nn.Attention unless q, k (B, H, L, d), v
// (B, H, L, dv), a (B, H, L) or nil and dO (B, H, L, dv) or nil agree in
// shape and dtype and order is one of the three orders.
func attnCheck(q, k, v, a *tensor.Tensor, order int, dO *tensor.Tensor) {
	const op = "nn.Attention"
	qs := q.Shape()
	tensor.CheckShape(op, "q", qs, "(want (B, H, L, d))", -1, -1, -1, -1)
	B, H, L, d := qs[0], qs[1], qs[2], qs[3]
	tensor.CheckShape(op, "k", k.Shape(), "(same as q)", B, H, L, d)
	tensor.CheckShape(op, "v", v.Shape(), "(want (B, H, L, dv) with q "+tensor.ShapeString(qs)+")", B, H, L, -1)
	if a != nil {
		tensor.CheckShape(op, "a", a.Shape(), "(want (B, H, L) with q "+tensor.ShapeString(qs)+")", B, H, L)
	}
	if dO != nil {
		tensor.CheckShape(op, "dO", dO.Shape(), "(the output's shape)", B, H, L, v.Dim(3))
	}
	if order != OrderLinear && order != OrderSquared && order != OrderExp {
		tensor.Errorf(op, "order", "%d is not OrderLinear (1), OrderSquared (2) or OrderExp (-1)", order)
	}
	for _, t := range []*tensor.Tensor{k, v, a, dO} {
		if t != nil && t.DType() != q.DType() {
			tensor.Errorf(op, "inputs", "mix %s and %s", q.DType(), t.DType())
		}
	}
}

// attnBackRun runs the backward pass from dO into gr for every (batch,
// head): the quadratic form when chunk is 0, the chunked form with chunks
// of that length otherwise.
func attnBackRun(q, k, v, a *tensor.Tensor, order int, smNorm bool, dO *tensor.Tensor, gr *AttnGrads, chunk int) {
	attnCheck(q, k, v, a, order, dO)
	qs := q.Shape()
	B, H, L, d := qs[0], qs[1], qs[2], qs[3]
	sp := attnSpec{order: order, norm: smNorm, masked: a != nil, c: 1 / math.Sqrt(float64(d)), L: L, d: d, dv: v.Dim(3)}
	// The chunked backward needs ψ(q) and ψ(k/√d) (B, H, L, D): ssd's
	// feature map, with the scale folded in as φ_p(c·k) = c^p·φ_p(k).
	var fq, fk *tensor.Tensor
	if chunk > 0 {
		fq, fk = ssd.Feature(q, order), ssd.Feature(k, order)
		fk = scaleNew(fk, math.Pow(sp.c, float64(order)))
	}
	// Heads are independent and write disjoint slices: run them in parallel.
	parallelFor(B*H, func(bh int) {
		switch {
		case q.DType() == tensor.Float64 && chunk > 0:
			chunkHead(sp, chunk, bh, q.Float64s(), k.Float64s(), v.Float64s(), sl64(a), fq.Float64s(), fk.Float64s(), sl64(dO), gr64(gr))
		case q.DType() == tensor.Float64:
			attnHead(sp, bh, q.Float64s(), k.Float64s(), v.Float64s(), sl64(a), nil, sl64(dO), gr64(gr))
		case chunk > 0:
			chunkHead(sp, chunk, bh, q.Float32s(), k.Float32s(), v.Float32s(), sl32(a), fq.Float32s(), fk.Float32s(), sl32(dO), gr32(gr))
		default:
			attnHead(sp, bh, q.Float32s(), k.Float32s(), v.Float32s(), sl32(a), nil, sl32(dO), gr32(gr))
		}
	})
}

func sl64(t *tensor.Tensor) []float64 { return slice64(t) }
func sl32(t *tensor.Tensor) []float32 { return slice32(t) }

type gradSlices[T float] struct{ dq, dk, dv, dan, dam, da []T }

func gr64(g *AttnGrads) *gradSlices[float64] {
	if g == nil {
		return nil
	}
	return &gradSlices[float64]{slice64(g.DQ), slice64(g.DK), slice64(g.DV), slice64(g.DAN), slice64(g.DAM), slice64(g.DA)}
}

func gr32(g *AttnGrads) *gradSlices[float32] {
	if g == nil {
		return nil
	}
	return &gradSlices[float32]{slice32(g.DQ), slice32(g.DK), slice32(g.DV), slice32(g.DAN), slice32(g.DAM), slice32(g.DA)}
}

type attnSpec struct {
	order    int
	norm     bool
	masked   bool
	c        float64 // 1/√d
	L, d, dv int
}

// attnHead runs one (batch, head) slice bh of the backward pass from dO
// into gr. It recomputes P (the backward needs the whole matrix); with gr
// nil it instead writes y = P V, which the chunked backward uses to rebuild
// its diagonal blocks. Its P follows ssd.Quadratic's conventions (the
// forward): a softmax-norm row with Σ_j P_ij = 0 outputs 0, so its
// gradient is 0.
func attnHead[T float](sp attnSpec, bh int, q, k, v, a, y, dO []T, gr *gradSlices[T]) {
	L, d, dv := sp.L, sp.d, sp.dv
	qh, kh, vh := q[bh*L*d:(bh+1)*L*d], k[bh*L*d:(bh+1)*L*d], v[bh*L*dv:(bh+1)*L*dv]
	s := make([]T, L*L) // s_ij = c·q_i·k_j
	gemm(false, true, L, L, d, sp.c, qh, d, kh, d, 0, s, L)
	// seg[j] = log AM_ij = Σ_{u=j+1}^{i} a_u (j ≤ i) for the current row
	// i, accumulated directly as in ssd (0 without a mask); one row at a
	// time rather than an L×L matrix.
	seg := make([]float64, L)
	segRow := func(i int) {
		if !sp.masked {
			return
		}
		ah := a[bh*L : (bh+1)*L]
		var acc float64
		for j := i; j >= 0; j-- {
			seg[j] = acc
			acc += float64(ah[j])
		}
	}
	// w = P (no norm) or Y_N = P/S (norm); den_i = S_i (1 without norm).
	w, den := make([]T, L*L), make([]float64, L)
	for i := 0; i < L; i++ {
		segRow(i)
		off := 0.0
		if sp.order == OrderExp && sp.norm {
			off = math.Inf(-1)
			for j := 0; j <= i; j++ {
				off = math.Max(off, float64(s[i*L+j])+seg[j])
			}
		}
		var sum float64
		for j := 0; j <= i; j++ {
			sv := float64(s[i*L+j])
			var p float64
			switch sp.order {
			case OrderLinear:
				p = sv * math.Exp(seg[j])
			case OrderSquared:
				p = sv * sv * math.Exp(seg[j])
			default:
				p = math.Exp(sv + seg[j] - off)
			}
			w[i*L+j] = T(p)
			sum += p
		}
		den[i] = 1
		switch {
		case sp.norm && sum == 0: // y_i = 0/0 := 0 (ssd's policy), a constant: no gradient
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
	if gr == nil {
		gemm(false, false, L, dv, L, 1, w, L, vh, dv, 0, y[bh*L*dv:], dv) // y = W V
		return
	}
	dOh := dO[bh*L*dv : (bh+1)*L*dv]
	gemm(true, false, L, dv, L, 1, w, L, dOh, dv, 0, gr.dv[bh*L*dv:], dv) // dV = Wᵀ dO
	g := make([]T, L*L)                                                   // G = dO Vᵀ
	gemm(false, true, L, L, dv, 1, dOh, dv, vh, dv, 0, g, L)
	ds := g                   // dS overwrites G entry by entry (G_ij is read first); zero above the diagonal
	dam := make([]float64, L) // key side, accumulated over rows in float64
	for i := 0; i < L; i++ {
		segRow(i)
		for j := i + 1; j < L; j++ {
			ds[i*L+j] = 0
		}
		var r float64 // Σ_j Y_N_ij G_ij = dO_i·y_i
		if sp.norm {
			for j := 0; j <= i; j++ {
				r += float64(w[i*L+j]) * float64(g[i*L+j])
			}
		}
		var dan float64
		for j := 0; j <= i; j++ {
			gt := float64(g[i*L+j]) - r // G' (or G without norm)
			wv := float64(w[i*L+j])
			dl := gt * wv // dlogAM_ij = E ⊙ P
			var dsv float64
			switch sp.order {
			case OrderLinear:
				dsv = gt * math.Exp(seg[j]) / den[i]
			case OrderSquared:
				dsv = gt * 2 * float64(s[i*L+j]) * math.Exp(seg[j]) / den[i]
			default:
				dsv = dl
			}
			ds[i*L+j] = T(dsv)
			if sp.masked {
				dan += dl
				dam[j] -= dl
			}
		}
		if sp.masked {
			gr.dan[bh*L+i] = T(dan)
		}
	}
	if sp.masked {
		for j, x := range dam {
			gr.dam[bh*L+j] = T(x)
		}
	}
	gemm(false, false, L, d, L, sp.c, ds, L, kh, d, 0, gr.dq[bh*L*d:], d) // dQ = c·dS K
	gemm(true, false, L, d, L, sp.c, ds, L, qh, d, 0, gr.dk[bh*L*d:], d)  // dK = c·dSᵀ Q
}
