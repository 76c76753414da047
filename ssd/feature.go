package ssd

import (
	"math"
	"sync"

	"github.com/furious-lab/furious/tensor"
)

// FeatureDim returns the size of the order-p symmetric feature map of a
// d-vector: C(d+p−1, p) (d for p = 1, d(d+1)/2 for p = 2, Eq. 5).
func FeatureDim(d, p int) int {
	if p < 1 {
		tensor.Errorf("ssd.FeatureDim", "p", "is %d, want ≥ 1", p)
	}
	if d < 0 {
		tensor.Errorf("ssd.FeatureDim", "d", "is %d, want ≥ 0", d)
	}
	n := 1.0
	for i := 1; i <= p; i++ {
		n = n * float64(d+i-1) / float64(i)
	}
	if n > math.MaxInt32 {
		tensor.Errorf("ssd.FeatureDim", "p", "C(%d+%d−1, %d) = %.3g features is too many", d, p, p, n)
	}
	return int(math.Round(n))
}

// featMap is the order-p symmetric tensor power: one feature per multiset
// i_1 ≤ … ≤ i_p (lexicographic, so p = 2 is the row-major upper triangle),
// value sqrt(p!/∏ m_c!)·∏ x_{i_r} where m_c counts index c.
type featMap struct {
	d, p, D int
	idx     []int32   // D×p indices
	w       []float64 // D weights
}

var featMaps sync.Map // [2]int{d, p} → *featMap

func getFeatMap(d, p int) *featMap {
	key := [2]int{d, p}
	if f, ok := featMaps.Load(key); ok {
		return f.(*featMap)
	}
	D := FeatureDim(d, p)
	f := &featMap{d: d, p: p, D: D, idx: make([]int32, 0, D*p), w: make([]float64, 0, D)}
	logFact := func(n int) float64 { v, _ := math.Lgamma(float64(n + 1)); return v }
	cur := make([]int32, p)
	var rec func(pos int, lo int32)
	rec = func(pos int, lo int32) {
		if pos == p {
			f.idx = append(f.idx, cur...)
			lw := logFact(p)
			run := 1
			for r := 1; r <= p; r++ {
				if r < p && cur[r] == cur[r-1] {
					run++
					continue
				}
				lw -= logFact(run)
				run = 1
			}
			f.w = append(f.w, math.Sqrt(math.Exp(lw)))
			return
		}
		for c := lo; c < int32(d); c++ {
			cur[pos] = c
			rec(pos+1, c)
		}
	}
	rec(0, 0)
	f.w = f.w[:len(f.w):len(f.w)]
	got, _ := featMaps.LoadOrStore(key, f)
	return got.(*featMap)
}

// featApply writes mult·φ_p(x) (D) for one vector x (d). Since
// φ_p(c·x) = c^p·φ_p(x), a score scale folds into mult as scale^p.
// Order 2 multiplies in T (float32 products are exact to one rounding).
func featApply[T float](f *featMap, x []T, mult float64, out []T) {
	switch f.p {
	case 1:
		m := T(mult)
		for i, v := range x[:f.d] {
			out[i] = m * v
		}
	case 2:
		m, m2 := T(mult), T(mult*math.Sqrt2)
		r := 0
		for i, xi := range x[:f.d] {
			out[r] = m * xi * xi
			r++
			xs := m2 * xi
			rest := x[i+1 : f.d]
			o := out[r : r+len(rest)]
			for j, xj := range rest {
				o[j] = xs * xj
			}
			r += len(rest)
		}
	default:
		for r := 0; r < f.D; r++ {
			v := f.w[r] * mult
			for _, c := range f.idx[r*f.p : (r+1)*f.p] {
				v *= float64(x[c])
			}
			out[r] = T(v)
		}
	}
}

// featRows writes mult(i)·φ_p(x_i) for n rows of x (n×d) into out (n×D);
// mult nil means 1.
func featRows[T float](f *featMap, x []T, n int, mult func(i int) float64, out []T) {
	for i := 0; i < n; i++ {
		m := 1.0
		if mult != nil {
			m = mult(i)
		}
		featApply(f, x[i*f.d:(i+1)*f.d], m, out[i*f.D:(i+1)*f.D])
	}
}

// Feature returns the order-p symmetric feature map φ_p of the last axis:
// x (…, d) → (…, C(d+p−1, p)), with φ_p(x)·φ_p(y) = (x·y)^p. For p = 2 the
// features are the row-major upper triangle x_i x_j (i ≤ j) with √2 off the
// diagonal (the 2Mamba kron kernel); for p = 1 it is a copy.
func Feature(x *tensor.Tensor, p int) *tensor.Tensor {
	const op = "ssd.Feature"
	if x == nil || x.Rank() < 1 {
		tensor.Errorf(op, "x", "must have at least one dimension")
	}
	if p < 1 {
		tensor.Errorf(op, "p", "is %d, want ≥ 1", p)
	}
	shape := x.Shape()
	d := shape[len(shape)-1]
	f := getFeatMap(d, p)
	n := x.Len() / max(d, 1)
	shape[len(shape)-1] = f.D
	out := tensor.New(x.DType(), shape...)
	if x.DType() == tensor.Float64 {
		featRows(f, x.Float64s(), n, nil, out.Float64s())
	} else {
		featRows(f, x.Float32s(), n, nil, out.Float32s())
	}
	return checkFinite(op, out)
}
