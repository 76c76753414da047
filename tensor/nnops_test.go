package tensor

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// The model operations (nnops.go, conv.go, loss.go) against naive float64
// loops over the same inputs: float64 to 1e-12 relative, float32 to 1e-5.

func nnTol(d DType) float64 {
	if d == Float64 {
		return 1e-12
	}
	return 1e-5
}

// closeTo fails unless got matches the float64 reference want elementwise
// to tol relative to max(1, |want|).
func closeTo(t *testing.T, what string, got *Tensor, want []float64, tol float64) {
	t.Helper()
	g := got.Data()
	if len(g) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(g), len(want))
	}
	for i := range g {
		if d := math.Abs(g[i] - want[i]); !(d <= tol*math.Max(1, math.Abs(want[i]))) {
			t.Fatalf("%s[%d] = %g, want %g (diff %g > %g)", what, i, g[i], want[i], d, tol)
		}
	}
}

// wantShapeErr runs f and checks it panics with a shape or argument *Error
// naming op and containing every fragment.
func wantErr(t *testing.T, op string, f func(), frags ...string) {
	t.Helper()
	err := Catch(f)
	var te *Error
	if !errors.As(err, &te) || te.Op != op {
		t.Fatalf("%s: got %v, want an *Error of %s", op, err, op)
	}
	for _, s := range frags {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("%s: error %q lacks %q", op, err, s)
		}
	}
}

func TestGatherScatterAdd(t *testing.T) {
	bothDTypes(t, func(t *testing.T, d DType) {
		x := randnOf(d, 1, 2, 5, 3)
		idx := []int{4, 0, 4, 2}
		xd := x.Data()
		want := make([]float64, 2*4*3)
		for o := 0; o < 2; o++ {
			for j, id := range idx {
				for i := 0; i < 3; i++ {
					want[(o*4+j)*3+i] = xd[(o*5+id)*3+i]
				}
			}
		}
		y := Gather(x, 1, idx)
		if s := y.Shape(); s[0] != 2 || s[1] != 4 || s[2] != 3 {
			t.Fatalf("Gather shape %v", s)
		}
		closeTo(t, "Gather", y, want, 0)
		g := randnOf(d, 2, 2, 4, 3)
		gd := g.Data()
		wantS := make([]float64, 2*5*3)
		for o := 0; o < 2; o++ {
			for j, id := range idx {
				for i := 0; i < 3; i++ {
					wantS[(o*5+id)*3+i] += gd[(o*4+j)*3+i]
				}
			}
		}
		closeTo(t, "ScatterAdd", ScatterAdd(g, 1, idx, 5), wantS, nnTol(d))
		// rows of an embedding table
		tab := randnOf(d, 3, 6, 4)
		closeTo(t, "Gather rows", Gather(tab, 0, []int{5, 1}), append(tab.Data()[20:24:24], tab.Data()[4:8]...), 0)
	})
	wantErr(t, "tensor.Gather", func() { Gather(Zeros(3, 2), 0, []int{3}) }, "idx[0] = 3", "(3,2)")
	wantErr(t, "tensor.ScatterAdd", func() { ScatterAdd(Zeros(3, 2), 0, []int{1}, 4) }, "g has shape (3,2)", "want (1,2)")
}

func softmaxRef(x []float64, n int, log bool) []float64 {
	y := make([]float64, len(x))
	for r := 0; r < len(x)/n; r++ {
		row := x[r*n : (r+1)*n]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, v)
		}
		s := 0.0
		for _, v := range row {
			s += math.Exp(v - m)
		}
		for i, v := range row {
			if log {
				y[r*n+i] = v - m - math.Log(s)
			} else {
				y[r*n+i] = math.Exp(v-m) / s
			}
		}
	}
	return y
}

func TestSoftmaxLogSoftmax(t *testing.T) {
	bothDTypes(t, func(t *testing.T, d DType) {
		x := Scale(randnOf(d, 4, 3, 4, 7), 3)
		g := randnOf(d, 5, 3, 4, 7)
		xd, gd := x.Data(), g.Data()
		for _, log := range []bool{false, true} {
			var y, dx *Tensor
			if log {
				y = LogSoftmax(x)
				dx = LogSoftmaxBackward(g, y)
			} else {
				y = Softmax(x)
				dx = SoftmaxBackward(g, y)
			}
			yd := softmaxRef(xd, 7, log)
			closeTo(t, "softmax", y, yd, nnTol(d))
			want := make([]float64, len(xd))
			for r := 0; r < 12; r++ {
				s := 0.0
				for i := 0; i < 7; i++ {
					if log {
						s += gd[r*7+i]
					} else {
						s += gd[r*7+i] * yd[r*7+i]
					}
				}
				for i := 0; i < 7; i++ {
					k := r*7 + i
					if log {
						want[k] = gd[k] - math.Exp(yd[k])*s
					} else {
						want[k] = yd[k] * (gd[k] - s)
					}
				}
			}
			closeTo(t, "softmax backward", dx, want, 10*nnTol(d))
		}
	})
	wantErr(t, "tensor.SoftmaxBackward", func() { SoftmaxBackward(Zeros(2, 3), Zeros(2, 4)) }, "g has shape (2,3)", "want (2,4)")
}

func TestCrossEntropy(t *testing.T) {
	bothDTypes(t, func(t *testing.T, d DType) {
		logits := randnOf(d, 6, 2, 3, 5)
		lp := LogSoftmax(logits)
		tg := []int{1, -100, 4, 0, -100, 2}
		ld := softmaxRef(logits.Data(), 5, true)
		want, cnt := 0.0, 0
		for r, c := range tg {
			if c != -100 {
				want -= ld[r*5+c]
				cnt++
			}
		}
		want /= float64(cnt)
		if got := CrossEntropy(lp, tg, -100); math.Abs(got-want) > nnTol(d) {
			t.Fatalf("CrossEntropy = %g, want %g", got, want)
		}
		gw := make([]float64, len(ld))
		for r, c := range tg {
			if c == -100 {
				continue
			}
			for i := 0; i < 5; i++ {
				gw[r*5+i] = 0.7 * math.Exp(ld[r*5+i]) / float64(cnt)
			}
			gw[r*5+c] -= 0.7 / float64(cnt)
		}
		closeTo(t, "CrossEntropyGrad", CrossEntropyGrad(lp, tg, -100, 0.7), gw, nnTol(d))
	})
	if CrossEntropy(LogSoftmax(Zeros(2, 3)), []int{-1, -1}, -1) != 0 {
		t.Fatal("all rows ignored: loss should be 0")
	}
	wantErr(t, "tensor.CrossEntropy", func() { CrossEntropy(Zeros(2, 3), []int{0, 3}, -100) }, "targets[1] = 3")
	wantErr(t, "tensor.CrossEntropy", func() { CrossEntropy(Zeros(2, 3), []int{0}, -100) }, "(2,3) has 2 rows")
}

func TestCumsumReverse(t *testing.T) {
	bothDTypes(t, func(t *testing.T, d DType) {
		x := randnOf(d, 7, 3, 6, 2)
		xd := x.Data()
		want := make([]float64, len(xd))
		for o := 0; o < 3; o++ {
			for i := 0; i < 2; i++ {
				s := 0.0
				for j := 5; j >= 0; j-- {
					s += xd[(o*6+j)*2+i]
					want[(o*6+j)*2+i] = s
				}
			}
		}
		closeTo(t, "CumsumReverse", CumsumReverse(x, 1), want, nnTol(d))
		// adjoint of Cumsum: <Cumsum(x), g> = <x, CumsumReverse(g)>
		g := randnOf(d, 8, 3, 6, 2)
		a, b := SumAll(Mul(Cumsum(x, 1), g)), SumAll(Mul(x, CumsumReverse(g, 1)))
		if math.Abs(a-b) > 10*nnTol(d)*math.Max(1, math.Abs(a)) {
			t.Fatalf("adjoint: %g vs %g", a, b)
		}
	})
}

func TestRMSNorm(t *testing.T) {
	bothDTypes(t, func(t *testing.T, d DType) {
		const n, eps = 6, 1e-5
		x, w, g := randnOf(d, 9, 4, n), randnOf(d, 10, n), randnOf(d, 11, 4, n)
		xd, wd, gd := x.Data(), w.Data(), g.Data()
		for _, withW := range []bool{true, false} {
			var wt *Tensor
			if withW {
				wt = w
			}
			y, r := RMSNorm(x, wt, eps)
			dx, dw := RMSNormBackward(g, x, wt, r)
			wy, wdx, wdw := make([]float64, len(xd)), make([]float64, len(xd)), make([]float64, n)
			for row := 0; row < 4; row++ {
				ss := 0.0
				for i := 0; i < n; i++ {
					ss += xd[row*n+i] * xd[row*n+i]
				}
				rr := 1 / math.Sqrt(ss/n+eps)
				dot := 0.0
				wi := func(i int) float64 {
					if withW {
						return wd[i]
					}
					return 1
				}
				for i := 0; i < n; i++ {
					k := row*n + i
					wy[k] = xd[k] * rr * wi(i)
					dot += gd[k] * wi(i) * xd[k] * rr
					wdw[i] += gd[k] * xd[k] * rr
				}
				for i := 0; i < n; i++ {
					k := row*n + i
					wdx[k] = rr * (gd[k]*wi(i) - xd[k]*rr*dot/n)
				}
			}
			closeTo(t, "RMSNorm", y, wy, nnTol(d))
			closeTo(t, "RMSNorm dx", dx, wdx, 10*nnTol(d))
			if withW {
				closeTo(t, "RMSNorm dw", dw, wdw, 10*nnTol(d))
			} else if dw != nil {
				t.Fatal("dw without w")
			}
		}
	})
	wantErr(t, "tensor.RMSNorm", func() { RMSNorm(Zeros(2, 3), Zeros(4), 1e-5) }, "w has shape (4)", "want (3)")
}

func TestRotary(t *testing.T) {
	bothDTypes(t, func(t *testing.T, d DType) {
		const L, dd = 5, 4
		x := randnOf(d, 12, 2, L, dd)
		ang := NewRNG(13).Rand64(-3, 3, L, dd/2)
		cos, sin := Apply(ang, math.Cos).As(d), Apply(ang, math.Sin).As(d)
		xd, cd, sd := x.Data(), cos.Data(), sin.Data()
		want := make([]float64, len(xd))
		for r := 0; r < 2*L; r++ {
			tt := r % L
			for i := 0; i < dd/2; i++ {
				c, s := cd[tt*dd/2+i], sd[tt*dd/2+i]
				x1, x2 := xd[r*dd+2*i], xd[r*dd+2*i+1]
				want[r*dd+2*i], want[r*dd+2*i+1] = x1*c-x2*s, x1*s+x2*c
			}
		}
		y := Rotary(x, cos, sin)
		closeTo(t, "Rotary", y, want, nnTol(d))
		closeTo(t, "Rotary inverse", Rotary(y, cos, Neg(sin)), xd, nnTol(d))
	})
	wantErr(t, "tensor.Rotary", func() { Rotary(Zeros(2, 3), Zeros(2, 1), Zeros(2, 1)) }, "x has shape (2,3)")
}

func TestUnaryGrad(t *testing.T) {
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	fwd := map[string]func(*Tensor) *Tensor{"neg": Neg, "scale": func(x *Tensor) *Tensor { return Scale(x, 1.5) },
		"square": Square, "abs": Abs, "relu": ReLU, "exp": Exp, "log": Log, "sqrt": Sqrt, "softplus": Softplus,
		"sigmoid": Sigmoid, "logsigmoid": LogSigmoid, "silu": SiLU}
	der := map[string]func(x float64) float64{
		"neg": func(float64) float64 { return -1 }, "scale": func(float64) float64 { return 1.5 },
		"square": func(x float64) float64 { return 2 * x }, "abs": func(x float64) float64 { return math.Copysign(1, x) },
		"relu": func(x float64) float64 { return math.Max(math.Copysign(1, x), 0) }, "exp": math.Exp,
		"log": func(x float64) float64 { return 1 / x }, "sqrt": func(x float64) float64 { return 0.5 / math.Sqrt(x) },
		"softplus": sig, "sigmoid": func(x float64) float64 { return sig(x) * (1 - sig(x)) },
		"logsigmoid": func(x float64) float64 { return sig(-x) },
		"silu":       func(x float64) float64 { return sig(x) * (1 + x*(1-sig(x))) },
	}
	bothDTypes(t, func(t *testing.T, d DType) {
		for _, op := range UnaryGradNames {
			x := randnOf(d, 14, 3, 5)
			if op == "log" || op == "sqrt" {
				x = AddScalar(Abs(x), 0.1)
			}
			g := randnOf(d, 15, 3, 5)
			xd, gd := x.Data(), g.Data()
			want := make([]float64, len(xd))
			for i := range xd {
				want[i] = gd[i] * der[op](xd[i])
			}
			closeTo(t, op, UnaryGrad(op, g, x, fwd[op](x), 1.5), want, 10*nnTol(d))
		}
	})
	wantErr(t, "tensor.UnaryGrad", func() { UnaryGrad("exp", Zeros(2), Zeros(2), nil, 0) }, "y: is nil")
	wantErr(t, "tensor.UnaryGrad", func() { UnaryGrad("log", Zeros(2), Zeros(3), nil, 0) }, "x has shape (3)", "want (2)")
}

func TestSumToBroadcastTo(t *testing.T) {
	bothDTypes(t, func(t *testing.T, d DType) {
		g := randnOf(d, 16, 2, 3, 4, 5)
		gd := g.Data()
		for _, shape := range [][]int{{5}, {4, 1}, {3, 1, 5}, {2, 1, 4, 1}, {1}, {1, 3, 4, 5}, {2, 3, 4, 5}} {
			want := make([]float64, numel("", shape))
			full := append(make([]int, 4-len(shape)), shape...)
			for i := range full[:4-len(shape)] {
				full[i] = 1
			}
			st := bstrides(full, []int{2, 3, 4, 5})
			for i, v := range gd {
				idx := unravel(i, []int{2, 3, 4, 5})
				o := 0
				for k, j := range idx {
					o += j * st[k]
				}
				want[o] += v
			}
			s := SumTo(g, shape...)
			closeTo(t, "SumTo "+ShapeString(shape), s, want, 10*nnTol(d))
			// adjoint: <SumTo(g), x> = <g, BroadcastTo(x)>
			x := randnOf(d, 17, shape...)
			b := BroadcastTo(x, 2, 3, 4, 5)
			for i := range gd {
				idx := unravel(i, []int{2, 3, 4, 5})
				if w := broadcastAt(x, idx); b.Data()[i] != w {
					t.Fatalf("BroadcastTo %s at %v: %g, want %g", ShapeString(shape), idx, b.Data()[i], w)
				}
			}
		}
	})
	wantErr(t, "tensor.SumTo", func() { SumTo(Zeros(2, 3), 2) }, "(2)", "(2,3)")
	wantErr(t, "tensor.BroadcastTo", func() { BroadcastTo(Zeros(2, 3), 4, 3) }, "(2,3)", "(4,3)")
}

func TestAxpy(t *testing.T) {
	bothDTypes(t, func(t *testing.T, d DType) {
		x, y := randnOf(d, 18, 3, 4), randnOf(d, 19, 3, 4)
		xd, yd := x.Data(), y.Data()
		for i := range yd {
			yd[i] += -0.25 * xd[i]
		}
		Axpy(-0.25, x, y)
		closeTo(t, "Axpy", y, yd, nnTol(d))
	})
	wantErr(t, "tensor.Axpy", func() { Axpy(1, Zeros(2), Zeros(3)) }, "x has shape (2)")
}

func TestCausalConv1d(t *testing.T) {
	bothDTypes(t, func(t *testing.T, d DType) {
		const B, L, C, W = 2, 7, 3, 4
		x, w, b, g := randnOf(d, 20, B, L, C), randnOf(d, 21, C, W), randnOf(d, 22, C), randnOf(d, 23, B, L, C)
		xd, wd, bd, gd := x.Data(), w.Data(), b.Data(), g.Data()
		want := make([]float64, len(xd))
		dx, dw, db := make([]float64, len(xd)), make([]float64, len(wd)), make([]float64, C)
		for bb := 0; bb < B; bb++ {
			for tt := 0; tt < L; tt++ {
				for c := 0; c < C; c++ {
					k0 := (bb*L+tt)*C + c
					want[k0] = bd[c]
					db[c] += gd[k0]
					for k := 0; k < W; k++ {
						if u := tt - (W - 1) + k; u >= 0 {
							want[k0] += wd[c*W+k] * xd[(bb*L+u)*C+c]
							dx[(bb*L+u)*C+c] += wd[c*W+k] * gd[k0]
							dw[c*W+k] += xd[(bb*L+u)*C+c] * gd[k0]
						}
					}
				}
			}
		}
		closeTo(t, "CausalConv1d", CausalConv1d(x, w, b), want, nnTol(d))
		gx, gw, gb := CausalConv1dBackward(g, x, w, true)
		closeTo(t, "dx", gx, dx, nnTol(d))
		closeTo(t, "dw", gw, dw, nnTol(d))
		closeTo(t, "db", gb, db, nnTol(d))
		if _, _, n := CausalConv1dBackward(g, x, w, false); n != nil {
			t.Fatal("db without bias")
		}
	})
	wantErr(t, "tensor.CausalConv1d", func() { CausalConv1d(Zeros(2, 5, 3), Zeros(4, 2), nil) }, "w has shape (4,2)", "(2,5,3)")
}

func TestAdamW(t *testing.T) {
	for _, pd := range []DType{Float32, Float64} {
		for _, md := range []DType{pd, Float64} {
			p, g := randnOf(pd, 24, 3, 4), randnOf(pd, 25, 3, 4)
			m, v := New(md, 3, 4), New(md, 3, 4)
			pw, gd := p.Data(), g.Data()
			mw, vw := make([]float64, 12), make([]float64, 12)
			const lr, b1, b2, eps, wd = 1e-2, 0.9, 0.95, 1e-8, 0.1
			for step := 1; step <= 3; step++ {
				AdamW(p, g, m, v, lr, b1, b2, eps, wd, step)
				bc1, bc2 := 1-math.Pow(b1, float64(step)), 1-math.Pow(b2, float64(step))
				for j := range pw {
					pw[j] -= lr * wd * pw[j]
					mw[j] = b1*mw[j] + (1-b1)*gd[j]
					vw[j] = b2*vw[j] + (1-b2)*gd[j]*gd[j]
					pw[j] -= lr * (mw[j] / bc1) / (math.Sqrt(vw[j]/bc2) + eps)
				}
			}
			closeTo(t, "AdamW p "+pd.String()+"/"+md.String(), p, pw, nnTol(pd))
			closeTo(t, "AdamW m", m, mw, nnTol(md))
		}
	}
	wantErr(t, "tensor.AdamW", func() { AdamW(Zeros(2), Zeros(2), Zeros(3), Zeros(2), 1, 0.9, 0.9, 1e-8, 0, 1) }, "m has shape (3)")
}

// TestPad checks Pad against ScatterAdd over the index range it stands for,
// on every axis, float32 and float64, with empty pads and an empty axis.
func TestPad(t *testing.T) {
	for _, x := range []*Tensor{NewRNG(1).Randn(2, 3, 4), NewRNG(2).Randn64(2, 3, 4), New(Float32, 2, 0, 3)} {
		for ax := 0; ax < 3; ax++ {
			for _, pa := range [][2]int{{0, 0}, {1, 0}, {0, 2}, {3, 1}} {
				m := x.Dim(ax)
				idx := make([]int, m)
				for i := range idx {
					idx[i] = pa[0] + i
				}
				want := ScatterAdd(x, ax, idx, pa[0]+m+pa[1])
				got := Pad(x, ax-3, pa[0], pa[1]) // a negative axis too
				if !reflect.DeepEqual(got.Shape(), want.Shape()) || (got.Len() > 0 && MaxAbsDiff(got, want) != 0) {
					t.Errorf("Pad(%v, axis %d, %d, %d) = %v, want %v", x.Shape(), ax, pa[0], pa[1], got, want)
				}
			}
		}
	}
	if err := Catch(func() { Pad(NewRNG(1).Randn(2), 0, -1, 0) }); err == nil || !strings.Contains(err.Error(), "before") {
		t.Errorf("Pad with a negative pad: %v, want an error naming it", err)
	}
}
