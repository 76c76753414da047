package ssd

import (
	"math"

	"github.com/furious-lab/furious/tensor"
)

// Quadratic is the attention (quadratic) form, the oracle of every other form:
// q, k (B, H, L, d), v (B, H, L, d_v), a (B, H, L) log-decays or nil (no decay) →
// y (B, H, L, d_v) = norm(P V), P = f(Q Kᵀ·scale) ⊙ AM ⊙ M,
// AM_ij = exp(Σ_{u=j+1}^{i} a_u), f(s) = s^p or exp(s).
// With Exp and NormSoftmax this is softmax(Q Kᵀ·scale + segsum(a)) V (FoX).
// Cost O(L²·d) time, O(L²) memory per head.
func Quadratic(q, k, v, a *tensor.Tensor, o Options) *tensor.Tensor {
	const op = "ssd.Quadratic"
	o.check(op)
	dm := checkInputs(op, q, k, v, a)
	if y := quadraticDevice(op, q, k, v, a, o, dm); y != nil {
		return y // on a device (device.go)
	}
	y := tensor.New(q.DType(), dm.B, dm.H, dm.L, dm.dv)
	if q.DType() == tensor.Float64 {
		forHeads[float64](dm, q, k, v, a, y, func(_ int, q, k, v []float64, a []float64, y []float64) {
			quadHead(q, k, v, a, dm.L, dm.d, dm.dv, o, y)
		})
	} else {
		forHeads[float32](dm, q, k, v, a, y, func(_ int, q, k, v []float32, a []float64, y []float32) {
			quadHead(q, k, v, a, dm.L, dm.d, dm.dv, o, y)
		})
	}
	finishOutputNorm(y, o)
	return checkFinite(op, y).OnDeviceOf(q, k, v, a)
}

// forHeads runs fn for every (b, h) in parallel with that head's slices; the
// log-decays are passed as float64 (nil when a is nil).
func forHeads[T float](dm dims, q, k, v, a, y *tensor.Tensor, fn func(i int, q, k, v []T, a []float64, y []T)) {
	qs, ks, vs, ys := data[T](q), data[T](k), data[T](v), data[T](y)
	var as []T
	if a != nil {
		as = data[T](a)
	}
	L, d, dv := dm.L, dm.d, dm.dv
	parallel(dm.B*dm.H, func(i int) {
		var ah []float64
		if as != nil {
			ah = f64(as[i*L : (i+1)*L])
		}
		fn(i, qs[i*L*d:(i+1)*L*d], ks[i*L*d:(i+1)*L*d], vs[i*L*dv:(i+1)*L*dv], ah, ys[i*L*dv:(i+1)*L*dv])
	})
}

// quadHead computes one head of the quadratic form into y (L×dv).
func quadHead[T float](q, k, v []T, a []float64, L, d, dv int, o Options, y []T) {
	P := alloc[T](L * L)
	gemm(false, true, L, L, d, o.scale(d), q, d, k, d, 0, P, L) // S = Q Kᵀ·scale  (L, L)
	den := make([]float64, L)
	seg := make([]float64, L)
	for i := 0; i < L; i++ {
		if i%256 == 0 {
			tensor.CheckInterrupt("ssd.Quadratic")
		}
		row := P[i*L : (i+1)*L]
		s := 0.0 // seg_ij = Σ_{u=j+1}^{i} a_u, accumulated directly
		for j := i; j >= 0; j-- {
			seg[j] = s
			if a != nil {
				s += a[j]
			}
		}
		sum := 0.0
		switch {
		case o.Exp && o.Norm == NormSoftmax:
			m := math.Inf(-1)
			for j := 0; j <= i; j++ {
				seg[j] += float64(row[j])
				m = math.Max(m, seg[j])
			}
			for j := 0; j <= i; j++ {
				p := math.Exp(seg[j] - m) // exp(s_ij + seg_ij − m_i)
				row[j] = flush[T](p)
				sum += p
			}
		case o.Exp:
			for j := 0; j <= i; j++ {
				p := math.Exp(float64(row[j]) + seg[j])
				row[j] = flush[T](p)
				sum += p
			}
		default:
			for j := 0; j <= i; j++ {
				p := ipow(float64(row[j]), o.Order)
				if a != nil {
					p *= math.Exp(seg[j])
				}
				row[j] = flush[T](p)
				sum += p
			}
		}
		for j := i + 1; j < L; j++ {
			row[j] = 0
		}
		den[i] = sum
	}
	gemm(false, false, L, dv, L, 1, P, L, v, dv, 0, y, dv) // Y = P V  (L, dv)
	if o.Norm == NormSoftmax {
		for i := 0; i < L; i++ {
			for c := 0; c < dv; c++ {
				y[i*dv+c] = T(safeDiv(float64(y[i*dv+c]), den[i]))
			}
		}
	}
}
