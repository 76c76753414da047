package ssd

import (
	"math"

	"github.com/furious-lab/furious/tensor"
)

// RMSNorm normalises y (B, H, L, d_v) over the merged heads, as the 2Mamba
// out_norm does after (B, H, L, d_v) → (B, L, H·d_v):
// y_{b,l} ← y_{b,l} / sqrt(mean(y_{b,l}²) + eps) ⊙ weight, weight (H·d_v) or nil (ones).
// It returns a new tensor.
func RMSNorm(y, weight *tensor.Tensor, eps float64) *tensor.Tensor {
	const op = "ssd.RMSNorm"
	if y == nil || y.Rank() != 4 {
		var s []int
		if y != nil {
			s = y.Shape()
		}
		tensor.CheckShape(op, "y", s, "(B, H, L, d_v)", -1, -1, -1, -1)
	}
	var w []float64
	if weight != nil {
		tensor.CheckShape(op, "weight", weight.Shape(), "(H·d_v of y)", y.Dim(1)*y.Dim(3))
		w = weight.Data()
	}
	if eps < 0 || math.IsNaN(eps) {
		tensor.Errorf(op, "eps", "is %v, want ≥ 0", eps)
	}
	out := y.Clone()
	if out.DType() == tensor.Float64 {
		rmsNormHeads(out.Float64s(), out.Dim(0), out.Dim(1), out.Dim(2), out.Dim(3), eps, w)
	} else {
		rmsNormHeads(out.Float32s(), out.Dim(0), out.Dim(1), out.Dim(2), out.Dim(3), eps, w)
	}
	return checkFinite(op, out)
}

// rmsNormHeads normalises y (B, H, L, dv) in place over (H, dv) for every (b, l).
func rmsNormHeads[T float](y []T, B, H, L, dv int, eps float64, w []float64) {
	for b := 0; b < B; b++ {
		for l := 0; l < L; l++ {
			ss := 0.0
			for h := 0; h < H; h++ {
				for _, x := range y[((b*H+h)*L+l)*dv : ((b*H+h)*L+l+1)*dv] {
					ss += float64(x) * float64(x)
				}
			}
			r := 1 / math.Sqrt(ss/float64(H*dv)+eps)
			for h := 0; h < H; h++ {
				row := y[((b*H+h)*L+l)*dv : ((b*H+h)*L+l+1)*dv]
				for c := range row {
					g := r
					if w != nil {
						g *= w[h*dv+c]
					}
					row[c] = T(float64(row[c]) * g)
				}
			}
		}
	}
}

// safeDiv is the softmax-norm division with the package's zero-denominator
// policy: 0 when the denominator is exactly 0.
func safeDiv(num, den float64) float64 {
	if den == 0 {
		return 0
	}
	return num / den
}

// divAug copies n rows of the augmented output yaug (n×(dv+1), the last
// column holding Σ_j P_ij) into y (n×dv) divided by that column.
func divAug[T float](yaug []T, n, dv int, y []T) {
	W := dv + 1
	for i := 0; i < n; i++ {
		den := float64(yaug[i*W+dv])
		for c := 0; c < dv; c++ {
			y[i*dv+c] = T(safeDiv(float64(yaug[i*W+c]), den))
		}
	}
}

// finishOutputNorm applies the unit-weight output RMSNorm when o asks for it.
func finishOutputNorm(y *tensor.Tensor, o Options) {
	if o.Norm != NormOutput {
		return
	}
	s := y.Shape()
	if y.DType() == tensor.Float64 {
		rmsNormHeads(y.Float64s(), s[0], s[1], s[2], s[3], o.Eps, nil)
	} else {
		rmsNormHeads(y.Float32s(), s[0], s[1], s[2], s[3], o.Eps, nil)
	}
}
