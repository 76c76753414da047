package tensor

import (
	"errors"
	"slices"
	"testing"
)

func TestPermuteAndTranspose(t *testing.T) {
	bothDTypes(t, func(t *testing.T, d DType) {
		x := randnOf(d, 5, 2, 3, 4, 5)
		for _, perm := range [][]int{{0, 1, 2, 3}, {0, 2, 1, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}, {-1, 0, 1, 2}} {
			y := x.Permute(perm...)
			for i := 0; i < y.Len(); i++ {
				idx := unravel(i, y.shape)
				src := make([]int, 4)
				for k, a := range perm {
					src[(a+4)%4] = idx[k]
				}
				if y.flat(i) != x.At(src...) {
					t.Fatalf("perm %v at %v: %g want %g", perm, idx, y.flat(i), x.At(src...))
				}
			}
		}
		tr := x.Transpose(-1, -2)
		if !slices.Equal(tr.shape, []int{2, 3, 5, 4}) || tr.At(1, 2, 4, 3) != x.At(1, 2, 3, 4) {
			t.Fatalf("Transpose(-1,-2): %v", tr.shape)
		}
		tr.Set(99, 0, 0, 0, 0)
		if x.At(0, 0, 0, 0) == 99 {
			t.Fatal("Transpose shares data")
		}
	})
	// Larger than one 32×32 tile, with a size-1 axis.
	x := NewRNG(3).Randn(3, 1, 70, 45)
	for _, perm := range [][]int{{0, 1, 3, 2}, {3, 1, 0, 2}, {2, 3, 1, 0}, {1, 0, 3, 2}} {
		y := x.Permute(perm...)
		for i := 0; i < y.Len(); i++ {
			idx := unravel(i, y.shape)
			src := make([]int, 4)
			for k, a := range perm {
				src[a] = idx[k]
			}
			if y.flat(i) != x.At(src...) {
				t.Fatalf("perm %v at %v: %g want %g", perm, idx, y.flat(i), x.At(src...))
			}
		}
	}
	if err := Catch(func() { Zeros(2, 3).Permute(0, 0) }); err == nil {
		t.Fatal("repeated axis accepted")
	}
	if err := Catch(func() { Zeros(2, 3).Permute(0) }); err == nil {
		t.Fatal("short perm accepted")
	}
}

func TestSliceConcatCumsum(t *testing.T) {
	bothDTypes(t, func(t *testing.T, d DType) {
		x := randnOf(d, 9, 2, 6, 3)
		s := x.Slice(1, 1, 4)
		if !slices.Equal(s.shape, []int{2, 3, 3}) || s.At(1, 2, 1) != x.At(1, 3, 1) {
			t.Fatalf("Slice(1,1,4): %v", s.shape)
		}
		if n := x.Slice(-2, -2, 100); !slices.Equal(n.shape, []int{2, 2, 3}) || n.At(0, 0, 2) != x.At(0, 4, 2) {
			t.Fatalf("negative slice: %v", n.shape)
		}
		if e := x.Slice(1, 3, 3); e.Len() != 0 {
			t.Fatal("empty slice is not empty")
		}
		c := Concat(1, x.Slice(1, 0, 2), x.Slice(1, 2, 3), x.Slice(1, 3, 6))
		if MaxAbsDiff(c, x) != 0 {
			t.Fatal("concatenated slices differ from the whole")
		}
		c0 := Concat(-1, x, x)
		if !slices.Equal(c0.shape, []int{2, 6, 6}) || c0.At(1, 5, 4) != x.At(1, 5, 1) {
			t.Fatalf("Concat(-1): %v", c0.shape)
		}
		cs := Cumsum(x, 1)
		for i := 0; i < 2; i++ {
			for k := 0; k < 3; k++ {
				acc := 0.0
				for j := 0; j < 6; j++ {
					acc += x.At(i, j, k)
					want := acc
					if d == Float32 {
						want = float64(float32(acc))
					}
					if cs.At(i, j, k) != want {
						t.Fatalf("Cumsum at %d,%d,%d: %g want %g", i, j, k, cs.At(i, j, k), want)
					}
				}
			}
		}
	})
	if err := Catch(func() { Zeros(2, 3).Slice(1, 2, 1) }); !errors.Is(err, ErrShape) {
		t.Fatalf("bad slice range: %v", err)
	}
	err := Catch(func() { Concat(0, Zeros(2, 3), Zeros(2, 4)) })
	if !errors.Is(err, ErrShape) || err.Error() != "tensor.Concat: ts[1] has shape (2,4), want (?,3) (same as ts[0] except axis 0)" {
		t.Fatalf("concat shape error: %v", err)
	}
	if err := Catch(func() { Concat(0, Zeros(2), Zeros64(2)) }); err == nil {
		t.Fatal("mixed dtypes concatenated")
	}
}

func TestUnsqueezeSqueeze(t *testing.T) {
	x := NewRNG(1).Randn(2, 3)
	for axis, want := range map[int][]int{0: {1, 2, 3}, 1: {2, 1, 3}, 2: {2, 3, 1}, -1: {2, 3, 1}, -3: {1, 2, 3}} {
		u := x.Unsqueeze(axis)
		if !slices.Equal(u.shape, want) {
			t.Fatalf("Unsqueeze(%d): %v want %v", axis, u.shape, want)
		}
		back := u.Squeeze(map[int]int{0: 0, 1: 1, 2: 2, -1: -1, -3: 0}[axis])
		if !slices.Equal(back.shape, x.shape) || MaxAbsDiff(back, x) != 0 {
			t.Fatalf("Squeeze after Unsqueeze(%d): %v", axis, back.shape)
		}
	}
	y := Mul(Ones(2, 3, 4), NewRNG(2).Randn(2, 3).Unsqueeze(-1)) // (B, L, d) ⊙ (B, L, 1)
	if y.At(1, 2, 3) != float64(NewRNG(2).Randn(2, 3).Float32s()[5]) {
		t.Fatal("Unsqueeze(-1) does not broadcast over the new axis")
	}
	if err := Catch(func() { x.Squeeze(0) }); !errors.Is(err, ErrShape) {
		t.Fatalf("Squeeze of a size-2 axis: %v", err)
	}
	if err := Catch(func() { x.Unsqueeze(4) }); !errors.Is(err, ErrShape) {
		t.Fatalf("Unsqueeze(4) on rank 2: %v", err)
	}
}
