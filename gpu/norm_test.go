package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func silu(x float64) float64 { return x / (1 + math.Exp(-x)) }

func TestRMSNorm(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewPCG(23, 24))
	for _, s := range [][2]int{{1, 1}, {3, 5}, {2, 257}, {70000, 3}, {1, 1000}} {
		rows, n := s[0], s[1]
		x, z, w := randFloats(r, rows*n), randFloats(r, rows*n), randFloats(r, n)
		X, Z, Wt := upload(t, d, x), upload(t, d, z), upload(t, d, w)
		for _, gated := range []bool{false, true} {
			for _, weighted := range []bool{false, true} {
				Y := poisoned(t, d, rows*n)
				var zb, wb *Buffer
				if gated {
					zb = Z
				}
				if weighted {
					wb = Wt
				}
				const eps = 1e-5
				if err := d.RMSNorm(Y, nil, X, zb, wb, rows, n, eps); err != nil {
					t.Fatal(err)
				}
				want := make([]float64, rows*n)
				for i := 0; i < rows; i++ {
					u := make([]float64, n)
					ss := 0.0
					for c := range u {
						u[c] = float64(x[i*n+c])
						if gated {
							u[c] *= silu(float64(z[i*n+c]))
						}
						ss += u[c] * u[c]
					}
					inv := 1 / math.Sqrt(ss/float64(n)+eps)
					for c := range u {
						want[i*n+c] = u[c] * inv
						if weighted {
							want[i*n+c] *= float64(w[c])
						}
					}
				}
				compare(t, fmt.Sprintf("RMSNorm rows=%d n=%d gated=%v weighted=%v", rows, n, gated, weighted), download(t, Y), want, nil, 1e-5)
				Y.Release()
			}
		}
		X.Release()
		Z.Release()
		Wt.Release()
	}
}

func TestConv1D(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewPCG(25, 26))
	for _, s := range [][4]int{{1, 1, 1, 1}, {2, 3, 5, 4}, {1, 10, 70, 2}, {3, 17, 3, 4}} {
		B, L, C, W := s[0], s[1], s[2], s[3]
		x, w, bias := randFloats(r, B*L*C), randFloats(r, C*W), randFloats(r, C)
		X, Wt, Bs := upload(t, d, x), upload(t, d, w), upload(t, d, bias)
		for _, withBias := range []bool{false, true} {
			for _, act := range []bool{false, true} {
				Y := poisoned(t, d, B*L*C)
				var bb *Buffer
				if withBias {
					bb = Bs
				}
				if err := d.Conv1D(Y, X, Wt, bb, B, L, C, W, act); err != nil {
					t.Fatal(err)
				}
				want := make([]float64, B*L*C)
				for b := 0; b < B; b++ {
					for tt := 0; tt < L; tt++ {
						for c := 0; c < C; c++ {
							acc := 0.0
							if withBias {
								acc = float64(bias[c])
							}
							for i := 0; i < W; i++ {
								if src := tt - W + 1 + i; src >= 0 {
									acc += float64(w[c*W+i]) * float64(x[(b*L+src)*C+c])
								}
							}
							if act {
								acc = silu(acc)
							}
							want[(b*L+tt)*C+c] = acc
						}
					}
				}
				compare(t, fmt.Sprintf("Conv1D B=%d L=%d C=%d W=%d bias=%v silu=%v", B, L, C, W, withBias, act), download(t, Y), want, nil, 1e-5)
				Y.Release()
			}
		}
		X.Release()
		Wt.Release()
		Bs.Release()
	}
}
