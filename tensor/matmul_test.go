package tensor

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// naiveMatMul is the oracle: loops over the broadcast batch with At.
func naiveMatMul(a, b *Tensor, ta, tb bool) *Tensor {
	if ta {
		a = a.Transpose(-1, -2)
	}
	if tb {
		b = b.Transpose(-1, -2)
	}
	ra, rb := a.Rank(), b.Rank()
	m, k, n := a.shape[ra-2], a.shape[ra-1], b.shape[rb-1]
	batch := BroadcastShape("naive", a.shape[:ra-2], b.shape[:rb-2])
	y := New(Float64, append(append([]int{}, batch...), m, n)...)
	for i := 0; i < y.Len(); i++ {
		idx := unravel(i, y.shape)
		s := 0.0
		for p := 0; p < k; p++ {
			ia := append(append([]int{}, idx[:len(batch)]...), idx[len(batch)], p)
			ib := append(append([]int{}, idx[:len(batch)]...), p, idx[len(batch)+1])
			s += broadcastAt(a, ia) * broadcastAt(b, ib)
		}
		y.setFlat(i, s)
	}
	return y
}

func TestMatMulMatchesNaive(t *testing.T) {
	cases := []struct{ a, b []int }{
		{[]int{3, 4}, []int{4, 5}},
		{[]int{2, 3, 4}, []int{2, 4, 5}},
		{[]int{2, 3, 7, 4}, []int{4, 6}},    // shared B: one stacked GEMM
		{[]int{4, 6}, []int{2, 3, 6, 5}},    // shared A
		{[]int{2, 1, 3, 4}, []int{3, 4, 2}}, // batch axes broadcast
		{[]int{1, 1}, []int{1, 1}},
		{[]int{2, 0, 3}, []int{2, 3, 4}},
		{[]int{2, 3, 0}, []int{2, 0, 4}},
	}
	bothDTypes(t, func(t *testing.T, d DType) {
		for ci, c := range cases {
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					as, bs := append([]int{}, c.a...), append([]int{}, c.b...)
					if ta {
						as[len(as)-1], as[len(as)-2] = as[len(as)-2], as[len(as)-1]
					}
					if tb {
						bs[len(bs)-1], bs[len(bs)-2] = bs[len(bs)-2], bs[len(bs)-1]
					}
					a, b := randnOf(d, uint64(ci), as...), randnOf(d, uint64(ci+50), bs...)
					got := MatMulT(a, b, ta, tb)
					want := naiveMatMul(a, b, ta, tb)
					if !slices.Equal(got.shape, want.shape) || got.dtype != d {
						t.Fatalf("%v·%v ta=%v tb=%v: shape %v want %v", as, bs, ta, tb, got.shape, want.shape)
					}
					if diff := MaxAbsDiff(got, want); diff > 10*tolOf(d) {
						t.Fatalf("%v·%v ta=%v tb=%v: max |diff| %g", as, bs, ta, tb, diff)
					}
				}
			}
		}
	})
}

func TestMatMulManySmallProductsInParallel(t *testing.T) {
	a, b := NewRNG(1).Randn(64, 8, 16), NewRNG(2).Randn(64, 16, 8)
	if d := MaxAbsDiff(MatMul(a, b), naiveMatMul(a, b, false, false)); d > 1e-5 {
		t.Fatalf("batched small products differ by %g", d)
	}
	x, y := NewRNG(3).Randn64(2, 130, 70), NewRNG(4).Randn64(70, 90)
	if d := MaxAbsDiff(MatMul(x, y), naiveMatMul(x, y, false, false)); d > 1e-11 {
		t.Fatalf("large products differ by %g", d)
	}
}

func TestMatMulErrorsNameBothShapes(t *testing.T) {
	err := Catch(func() { MatMul(Zeros(2, 3, 4), Zeros(5, 6)) })
	if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "(2,3,4)") || !strings.Contains(err.Error(), "(5,6)") {
		t.Fatalf("inner mismatch: %v", err)
	}
	err = Catch(func() { MatMul(Zeros(2, 3, 4), Zeros(3, 4, 5)) })
	if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "(2,3,4)") || !strings.Contains(err.Error(), "(3,4,5)") {
		t.Fatalf("batch mismatch: %v", err)
	}
	if err := Catch(func() { MatMul(Zeros(3), Zeros(3, 1)) }); !errors.Is(err, ErrShape) {
		t.Fatalf("rank-1 operand: %v", err)
	}
	if err := Catch(func() { MatMul(Zeros(3, 3), Zeros64(3, 3)) }); err == nil || !strings.Contains(err.Error(), "float64") {
		t.Fatalf("dtype mismatch: %v", err)
	}
	if v := MatMul(Ones(1, 3), Ones(3, 1)).At(0, 0); math.Abs(v-3) > 0 {
		t.Fatalf("ones·ones = %g", v)
	}
}
