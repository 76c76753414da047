package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refAttention is the float64 oracle of Attention, straight from the
// formula: b_ij summed term by term, softmax with its row maximum removed.
func refAttention(q, k, v, a []float32, bh, L, dk, dv int, scale float64) []float64 {
	y := make([]float64, bh*L*dv)
	s := make([]float64, L)
	for h := 0; h < bh; h++ {
		for i := 0; i < L; i++ {
			m := math.Inf(-1)
			for j := 0; j <= i; j++ {
				dot := 0.0
				for c := 0; c < dk; c++ {
					dot += float64(q[(h*L+i)*dk+c]) * float64(k[(h*L+j)*dk+c])
				}
				b := 0.0
				if a != nil {
					for u := j + 1; u <= i; u++ {
						b += float64(a[h*L+u])
					}
				}
				s[j] = scale*dot + b
				m = math.Max(m, s[j])
			}
			den := 0.0
			for j := 0; j <= i; j++ {
				p := math.Exp(s[j] - m)
				den += p
				for c := 0; c < dv; c++ {
					y[(h*L+i)*dv+c] += p * float64(v[(h*L+j)*dv+c])
				}
			}
			for c := 0; c < dv; c++ {
				y[(h*L+i)*dv+c] /= den
			}
		}
	}
	return y
}

func TestAttention(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewPCG(17, 18))
	for _, s := range [][4]int{{1, 1, 1, 1}, {2, 5, 3, 2}, {1, 33, 8, 5}, {3, 70, 16, 16}, {1, 129, 64, 64}} {
		bh, L, dk, dv := s[0], s[1], s[2], s[3]
		q, k, v := randFloats(r, bh*L*dk), randFloats(r, bh*L*dk), randFloats(r, bh*L*dv)
		a := randFloats(r, bh*L)
		for i := range a {
			a[i] = -float32(math.Log1p(math.Exp(float64(a[i])))) // −softplus(x)
		}
		scale := 1 / math.Sqrt(float64(dk))
		Q, K, V, A := upload(t, d, q), upload(t, d, k), upload(t, d, v), upload(t, d, a)
		for _, bias := range []bool{false, true} {
			Y := poisoned(t, d, bh*L*dv)
			var ab *Buffer
			var ar []float32
			if bias {
				ab, ar = A, a
			}
			if err := d.Attention(Y, Q, K, V, ab, bh, L, dk, dv, float32(scale)); err != nil {
				t.Fatal(err)
			}
			want := refAttention(q, k, v, ar, bh, L, dk, dv, scale)
			// y is a convex combination of the v_j: |v| ≤ ~4 sets the scale.
			compare(t, fmt.Sprintf("Attention bh=%d L=%d dk=%d dv=%d bias=%v", bh, L, dk, dv, bias), download(t, Y), want, nil, 1e-4)
			Y.Release()
		}
		Q.Release()
		K.Release()
		V.Release()
		A.Release()
	}
}
