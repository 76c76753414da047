package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestElementwise(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 7, 255, 257, 100003} {
		x, y := randFloats(r, n), randFloats(r, n)
		for i := range y {
			if math.Abs(float64(y[i])) < 0.1 {
				y[i] = 0.5 // keep Div away from tiny denominators
			}
			x[i] *= 10 // reach softplus's shortcut above 20
		}
		A, B := upload(t, d, x), upload(t, d, y)
		cases := []struct {
			name string
			run  func(out *Buffer) error
			ref  func(a, b float64) float64
		}{
			{"Add", func(o *Buffer) error { return d.Add(o, A, B) }, func(a, b float64) float64 { return a + b }},
			{"Sub", func(o *Buffer) error { return d.Sub(o, A, B) }, func(a, b float64) float64 { return a - b }},
			{"Mul", func(o *Buffer) error { return d.Mul(o, A, B) }, func(a, b float64) float64 { return a * b }},
			{"Div", func(o *Buffer) error { return d.Div(o, A, B) }, func(a, b float64) float64 { return a / b }},
			{"Scale", func(o *Buffer) error { return d.Scale(o, A, -1.5, 0.25) }, func(a, b float64) float64 { return -1.5*a + 0.25 }},
			{"Exp", func(o *Buffer) error { return d.Exp(o, A) }, func(a, b float64) float64 { return math.Exp(a) }},
			{"Softplus", func(o *Buffer) error { return d.Softplus(o, A) }, func(a, b float64) float64 { return math.Log1p(math.Exp(a)) }},
		}
		for _, c := range cases {
			o := poisoned(t, d, n)
			if err := c.run(o); err != nil {
				t.Fatal(err)
			}
			want := make([]float64, n)
			for i := range want {
				want[i] = c.ref(float64(x[i]), float64(y[i]))
			}
			compare(t, fmt.Sprintf("%s n=%d", c.name, n), download(t, o), want, nil, 1e-5)
			o.Release()
		}
		A.Release()
		B.Release()
	}
}

func TestReduceRows(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewPCG(11, 12))
	for _, s := range [][2]int{{1, 1}, {3, 1}, {1, 1000}, {5, 257}, {70000, 3}} {
		rows, cols := s[0], s[1]
		x := randFloats(r, rows*cols)
		A := upload(t, d, x)
		sum := poisoned(t, d, rows)
		if err := d.SumRows(sum, A, rows, cols); err != nil {
			t.Fatal(err)
		}
		wantS, scale := make([]float64, rows), make([]float64, rows)
		for i := 0; i < rows; i++ {
			for j := 0; j < cols; j++ {
				v := float64(x[i*cols+j])
				wantS[i] += v
				scale[i] += math.Abs(v)
			}
		}
		compare(t, fmt.Sprintf("SumRows %d×%d", rows, cols), download(t, sum), wantS, scale, 1e-5)
		A.Release()
		sum.Release()
	}
}

func TestChunkSums(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewPCG(13, 14))
	for _, s := range [][3]int{{1, 1, 1}, {2, 7, 3}, {3, 100, 16}, {2, 300, 300}, {1, 600, 1000}, {4, 333, 64}, {1, 9, 257}} {
		rows, L, chunk := s[0], s[1], s[2]
		a := randFloats(r, rows*L)
		for i := range a {
			a[i] = -float32(math.Log1p(math.Exp(float64(a[i])))) // a = −softplus(x) ≤ 0, as the decay
		}
		A := upload(t, d, a)
		cs := poisoned(t, d, rows*L)
		if err := d.ChunkCumsum(cs, A, rows, L, chunk); err != nil {
			t.Fatal(err)
		}
		want, scale := make([]float64, rows*L), make([]float64, rows*L)
		for i := 0; i < rows; i++ {
			acc, abs := 0.0, 0.0
			for u := 0; u < L; u++ {
				if u%chunk == 0 {
					acc, abs = 0, 0
				}
				acc += float64(a[i*L+u])
				abs += math.Abs(float64(a[i*L+u]))
				want[i*L+u], scale[i*L+u] = acc, abs
			}
		}
		compare(t, fmt.Sprintf("ChunkCumsum rows=%d L=%d chunk=%d", rows, L, chunk), download(t, cs), want, scale, 1e-5)
		cs.Release()
		A.Release()
	}
}

func TestFeatureMap2(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewPCG(15, 16))
	for _, s := range [][2]int{{1, 1}, {3, 2}, {5, 7}, {2, 64}, {1, 129}, {70001, 3}} {
		rows, dim := s[0], s[1]
		D := FeatureMapDim(dim)
		x := randFloats(r, rows*dim)
		sc := float32(1 / math.Sqrt(float64(dim)))
		X := upload(t, d, x)
		out := poisoned(t, d, rows*D)
		if err := d.FeatureMap2(out, X, rows, dim, sc); err != nil {
			t.Fatal(err)
		}
		want := make([]float64, rows*D)
		for i := 0; i < rows; i++ {
			refPhi2(want[i*D:(i+1)*D], x[i*dim:(i+1)*dim], float64(sc))
		}
		got := download(t, out)
		compare(t, fmt.Sprintf("FeatureMap2 rows=%d d=%d", rows, dim), got, want, nil, 1e-5)
		// The identity the map exists for: φ(sx)·φ(sy) = s⁴(x·y)².
		if rows >= 2 {
			dot, xy, xya := 0.0, 0.0, 0.0
			for p := 0; p < D; p++ {
				dot += float64(got[p]) * float64(got[D+p])
			}
			for a := 0; a < dim; a++ {
				xy += float64(x[a]) * float64(x[dim+a])
				xya += math.Abs(float64(x[a]) * float64(x[dim+a]))
			}
			s4 := math.Pow(float64(sc), 4) // Σ_p |φ_p(x)φ_p(y)| = s⁴(Σ|x_a y_a|)² bounds the rounding
			compare(t, fmt.Sprintf("φ·φ = s⁴(x·y)² d=%d", dim), []float32{float32(dot)}, []float64{s4 * xy * xy}, []float64{s4 * xya * xya}, 1e-4)
		}
		X.Release()
		out.Release()
	}
}

// refPhi2 writes the order-2 feature map of s·x into dst, in float64:
// s²·x_a·x_b for a ≤ b, times √2 off the diagonal (FeatureMapDim(len(x))
// entries, the order FeatureMap2 uses).
func refPhi2(dst []float64, x []float32, s float64) {
	p := 0
	for a := range x {
		for b := a; b < len(x); b++ {
			c := math.Sqrt2
			if a == b {
				c = 1
			}
			dst[p] = c * s * float64(x[a]) * s * float64(x[b])
			p++
		}
	}
}
