package gpu

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/furious-lab/furious/backend"
)

// refAttention is the float64 oracle of SSD with Exp and Norm (softmax attention), straight from the
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

// TestAttention checks SSD with Exp and Norm (softmax attention under the
// decay bias; "auto" picks the quadratic form, the only one with Exp)
// against refAttention.
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
			p := backend.SSDParams{BH: bh, L: L, D: dk, DV: dv, Exp: true, Norm: true, Scale: float32(scale), Form: "auto"}
			if form, err := d.SSD(Y, Q, K, V, ab, p); err != nil || form != "quadratic" {
				t.Fatalf("SSD with Exp, form auto: ran %q, %v; want the quadratic form", form, err)
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

// TestSSDCheck checks that SSD declines the records the shaders have no
// code for with backend.ErrNotImplemented (so that package ssd and nn run
// them on the CPU), and rejects malformed ones with another error, before
// reading any buffer.
func TestSSDCheck(t *testing.T) {
	d := device(t)
	B := upload(t, d, make([]float32, 64))
	defer B.Release()
	ok := backend.SSDParams{BH: 1, L: 4, D: 2, DV: 2, Order: 1, Scale: 1, Form: "chunked", Chunk: 2}
	for _, c := range []struct {
		name   string
		edit   func(*backend.SSDParams)
		notImp bool
	}{
		{"order 3", func(p *backend.SSDParams) { p.Order = 3 }, true},
		{"exp chunked", func(p *backend.SSDParams) { p.Exp, p.Norm = true, true }, true},
		{"exp without norm", func(p *backend.SSDParams) { p.Exp, p.Form = true, "quadratic" }, true},
		{"d 257", func(p *backend.SSDParams) { p.D = 257 }, true},
		{"chunk 0", func(p *backend.SSDParams) { p.Chunk = 0 }, true},
		{"form blockwise", func(p *backend.SSDParams) { p.Form = "blockwise" }, true},
		{"order 0", func(p *backend.SSDParams) { p.Order = 0 }, false},
		{"negative L", func(p *backend.SSDParams) { p.L = -1 }, false},
		{"short buffers", func(p *backend.SSDParams) { p.L = 64 }, false},
	} {
		p := ok
		c.edit(&p)
		_, err := d.SSD(B, B, B, B, nil, p)
		if err == nil || errors.Is(err, backend.ErrNotImplemented) != c.notImp {
			t.Errorf("%s: SSD returned %v, want an error (wrapping ErrNotImplemented: %v)", c.name, err, c.notImp)
		}
	}
	if _, err := d.SSD(B, B, B, B, nil, ok); err != nil {
		t.Errorf("SSD %+v: %v", ok, err)
	}
}
