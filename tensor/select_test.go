package tensor

import (
	"errors"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/furious-lab/furious/backend"
)

// The oracles below index element by element in float64 (At, unravel):
// slow, obviously right, and independent of the loops under test.

func TestArangeLinspace(t *testing.T) {
	cases := []struct {
		start, stop, step float64
		want              []float64
	}{
		{0, 5, 1, []float64{0, 1, 2, 3, 4}},
		{1, 2, 0.25, []float64{1, 1.25, 1.5, 1.75}},
		{0, 1, 0.3, []float64{0, 0.3, 0.6, 0.8999999999999999}}, // ⌈1/0.3⌉ = 4 values, i·step in float64
		{5, 0, -2, []float64{5, 3, 1}},
		{0, 0, 1, nil},
		{3, 1, 1, nil}, // stop before start: empty
	}
	for _, c := range cases {
		a64, a32 := Arange64(c.start, c.stop, c.step), Arange(c.start, c.stop, c.step)
		if !slices.Equal(a64.Shape(), []int{len(c.want)}) || !slices.Equal(a32.Shape(), []int{len(c.want)}) {
			t.Fatalf("Arange(%v, %v, %v) has shapes %v, %v, want (%d)", c.start, c.stop, c.step, a64.Shape(), a32.Shape(), len(c.want))
		}
		for i, w := range c.want {
			if a64.At(i) != w || a32.Float32s()[i] != float32(w) {
				t.Fatalf("Arange(%v, %v, %v)[%d] = %v (float32 %v), want %v", c.start, c.stop, c.step, i, a64.At(i), a32.At(i), w)
			}
		}
	}
	if a32 := Arange(0, 3, 1); a32.DType() != Float32 || Arange64(0, 3, 1).DType() != Float64 {
		t.Fatal("Arange is not float32 or Arange64 not float64")
	}
	for n := 0; n <= 6; n++ {
		l := Linspace64(-1, 2, n)
		if l.Len() != n {
			t.Fatalf("Linspace64(-1, 2, %d) has %d values", n, l.Len())
		}
		for i := 0; i < n; i++ {
			want := -1.0
			if n > 1 {
				want = -1 + float64(i)*(3/float64(n-1)) // NumPy: start + i·step
			}
			if i == n-1 && n > 1 {
				want = 2
			}
			if l.At(i) != want || Linspace(-1, 2, n).Float32s()[i] != float32(want) {
				t.Fatalf("Linspace(-1, 2, %d)[%d] = %v, want %v", n, i, l.At(i), want)
			}
		}
	}
	for _, f := range []func(){func() { Arange(0, 1, 0) }, func() { Arange64(0, math.Inf(1), 1) }, func() { Arange(0, 1e30, 1) }, func() { Linspace(0, 1, -1) }} {
		if err := Catch(f); err == nil || !strings.Contains(err.Error(), "tensor.") {
			t.Fatalf("bad range gave %v", err)
		}
	}
}

// triOracle is Tril (lower) or Triu of x over its last two axes, in float64.
func triOracle(x *Tensor, k int, lower bool) []float64 {
	r := x.Rank()
	out := make([]float64, x.Len())
	for f := range out {
		idx := unravel(f, x.shape)
		i, j := idx[r-2], idx[r-1]
		if (lower && j-i <= k) || (!lower && j-i >= k) {
			out[f] = x.At(idx...)
		}
	}
	return out
}

func TestTrilTriu(t *testing.T) {
	bothDTypes(t, func(t *testing.T, d DType) {
		for _, shape := range [][]int{{5, 3}, {3, 5}, {2, 4, 4}, {2, 1, 3, 4}, {1, 1}, {0, 4}, {4, 0}, {2, 0, 3}} {
			x := randnOf(d, 3, shape...)
			for k := -6; k <= 6; k++ {
				lo, up := Tril(x, k), Triu(x, k)
				if !slices.Equal(lo.Shape(), shape) || lo.DType() != d || !slices.Equal(up.Shape(), shape) {
					t.Fatalf("Tril/Triu of %v: shapes %v, %v", shape, lo.Shape(), up.Shape())
				}
				if !slices.Equal(lo.Data(), triOracle(x, k, true)) || !slices.Equal(up.Data(), triOracle(x, k, false)) {
					t.Fatalf("Tril/Triu of %v with k = %d differ from the oracle", shape, k)
				}
			}
		}
	})
	// Kept entries are copied, not multiplied: −Inf stays −Inf and the
	// dropped part is 0, not NaN (a masked score matrix).
	m := Tril(Full(math.Inf(-1), 3, 3), 0)
	if !math.IsInf(m.At(2, 0), -1) || m.At(0, 2) != 0 {
		t.Fatalf("Tril of −Inf: %v", m.Data())
	}
	// The causal mask.
	if got := Tril(Ones(3, 3), 0).Data(); !slices.Equal(got, []float64{1, 0, 0, 1, 1, 0, 1, 1, 1}) {
		t.Fatalf("Tril(Ones(3, 3), 0) = %v", got)
	}
	err := Catch(func() { Triu(Ones(4), 0) })
	if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "tensor.Triu: x has shape (4)") {
		t.Fatalf("Triu of a vector: %v", err)
	}
}

// argOracle is ArgMax (isMax) or ArgMin of x along ax, in float64, NaN first.
func argOracle(x *Tensor, ax int, isMax bool) []float64 {
	shape := reducedShape(x.shape, ax, true)
	out := make([]float64, numel("", shape))
	for f := range out {
		idx := unravel(f, shape)
		best, bj := 0.0, -1
		for j := 0; j < x.shape[ax]; j++ {
			idx[ax] = j
			v := x.At(idx...)
			if math.IsNaN(v) {
				bj = j
				break
			}
			if bj < 0 || (isMax && v > best) || (!isMax && v < best) {
				best, bj = v, j
			}
		}
		out[f] = float64(bj)
	}
	return out
}

func TestArgMaxArgMin(t *testing.T) {
	bothDTypes(t, func(t *testing.T, d DType) {
		x := randnOf(d, 5, 3, 4, 5)
		x.Set(math.NaN(), 1, 2, 3)
		x.Set(x.At(0, 0, 0), 0, 3, 0) // a tie along axis 1
		for _, shape := range [][]int{{3, 4, 5}, {7}, {1, 4}, {4, 1}, {0, 3}, {2, 0, 3}} {
			xs := x
			if !slices.Equal(shape, []int{3, 4, 5}) {
				xs = randnOf(d, 6, shape...)
			}
			for axis := -len(shape); axis < len(shape); axis++ {
				ax := axis
				if ax < 0 {
					ax += len(shape)
				}
				if shape[ax] == 0 {
					err := Catch(func() { ArgMax(xs, axis, false) })
					if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "empty") {
						t.Fatalf("ArgMax over the empty axis %d of %v: %v", axis, shape, err)
					}
					continue
				}
				for _, keep := range []bool{false, true} {
					for _, isMax := range []bool{true, false} {
						f := ArgMin
						if isMax {
							f = ArgMax
						}
						y := f(xs, axis, keep)
						if !slices.Equal(y.Shape(), reducedShape(shape, ax, keep)) || y.DType() != d {
							t.Fatalf("shape %v axis %d keepdim %v: result %v %v", shape, axis, keep, y.Shape(), y.DType())
						}
						if want := argOracle(xs, ax, isMax); !slices.Equal(y.Data(), want) {
							t.Fatalf("shape %v axis %d max %v: %v, want %v", shape, axis, isMax, y.Data(), want)
						}
					}
				}
			}
		}
	})
	if got := ArgMax(FromFloat64([]float64{1, 3, 3, 2}), 0, false); got.Rank() != 0 || got.At() != 1 {
		t.Fatalf("ArgMax with a tie: %v (rank %d), want the first, 1", got.At(), got.Rank())
	}
	if got := ArgMax(FromFloat64([]float64{1, 2, 3, 4}).Reshape(2, 2), -1, false).Ints(); !slices.Equal(got, []int{1, 1}) {
		t.Fatalf("Ints of ArgMax: %v", got)
	}
	if err := Catch(func() { FromFloat64([]float64{1.5}).Ints() }); err == nil || !strings.Contains(err.Error(), "not an integer") {
		t.Fatalf("Ints of 1.5: %v", err)
	}
}

func TestWhere(t *testing.T) {
	bothDTypes(t, func(t *testing.T, d DType) {
		cases := []struct{ c, a, b []int }{
			{[]int{3, 4}, []int{3, 4}, []int{3, 4}},
			{[]int{3, 1}, []int{1, 4}, []int{}},
			{[]int{4}, []int{2, 3, 4}, []int{3, 1}},
			{[]int{2, 1, 1}, []int{1}, []int{3, 4}},
			{[]int{0, 4}, []int{4}, []int{1}},
		}
		for _, c := range cases {
			cond := Apply(NewRNG(1).Randn64(c.c...), func(v float64) float64 { return math.Max(0, math.Round(v)) }) // 0 or a positive integer
			if cond.Len() > 0 {
				cond.Set(math.NaN(), make([]int, len(c.c))...) // NaN counts as true
			}
			a, b := randnOf(d, 2, c.a...), randnOf(d, 3, c.b...)
			y := Where(cond, a, b)
			shape := BroadcastShape("", BroadcastShape("", c.a, c.b), c.c)
			if !slices.Equal(y.Shape(), shape) || y.DType() != d {
				t.Fatalf("Where %v %v %v: shape %v", c.c, c.a, c.b, y.Shape())
			}
			for f := 0; f < y.Len(); f++ {
				idx := unravel(f, shape)
				want := broadcastAt(b, idx)
				if cv := broadcastAt(cond, idx); cv != 0 {
					want = broadcastAt(a, idx)
				}
				if y.At(idx...) != want {
					t.Fatalf("Where %v %v %v at %v: %v, want %v", c.c, c.a, c.b, idx, y.At(idx...), want)
				}
			}
		}
		// cond in the other dtype is allowed.
		if y := Where(Tril(Ones64(2, 2), 0), Full64(1, 2, 2).As(d), Full64(-1).As(d)); !slices.Equal(y.Data(), []float64{1, -1, 1, 1}) {
			t.Fatalf("Where with a Tril mask: %v", y.Data())
		}
	})
	err := Catch(func() { Where(Ones(3, 2), Ones(3, 4), Ones(4)) })
	if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "tensor.Where: cond has shape (3,2), want (3,4)") {
		t.Fatalf("Where with a bad cond: %v", err)
	}
	err = Catch(func() { Where(Ones(3), Ones(3), Ones64(3)) })
	if !errors.Is(err, ErrDType) || !strings.Contains(err.Error(), "b.As(tensor.Float32)") {
		t.Fatalf("Where of float32 and float64: %v", err)
	}
}

func TestStack(t *testing.T) {
	bothDTypes(t, func(t *testing.T, d DType) {
		xs := []*Tensor{randnOf(d, 1, 2, 3), randnOf(d, 2, 2, 3), randnOf(d, 3, 2, 3)}
		for axis := -3; axis <= 2; axis++ {
			ax := axis
			if ax < 0 {
				ax += 3
			}
			y := Stack(axis, xs...)
			want := []int{2, 3}
			want = slices.Insert(want, ax, 3)
			if !slices.Equal(y.Shape(), want) {
				t.Fatalf("Stack at %d: shape %v, want %v", axis, y.Shape(), want)
			}
			for f := 0; f < y.Len(); f++ {
				idx := unravel(f, want)
				k := idx[ax]
				src := slices.Delete(slices.Clone(idx), ax, ax+1)
				if y.At(idx...) != xs[k].At(src...) {
					t.Fatalf("Stack at %d, index %v differs", axis, idx)
				}
			}
		}
		// Scalars stack into a vector; one tensor gains an axis of 1; empty tensors stay empty.
		if s := Stack(0, Full64(1).As(d), Full64(2).As(d)); !slices.Equal(s.Data(), []float64{1, 2}) || s.Rank() != 1 {
			t.Fatalf("Stack of scalars: %v", s)
		}
		if s := Stack(-1, xs[0]); !slices.Equal(s.Shape(), []int{2, 3, 1}) {
			t.Fatalf("Stack of one: %v", s.Shape())
		}
		if s := Stack(1, New(d, 0, 2), New(d, 0, 2)); !slices.Equal(s.Shape(), []int{0, 2, 2}) {
			t.Fatalf("Stack of empty tensors: %v", s.Shape())
		}
	})
	for _, c := range []struct {
		f    func()
		want string
	}{
		{func() { Stack(0, Ones(2, 3), Ones(3, 2)) }, "tensor.Stack: ts[1] has shape (3,2), want (2,3)"},
		{func() { Stack(0, Ones(2), Ones64(2)) }, "ts[1]: is float64 but ts[0] is float32"},
		{func() { Stack(3, Ones(2)) }, "axis 3 out of range"},
		{func() { Stack(0) }, "needs at least one tensor"},
	} {
		if err := Catch(c.f); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("want an error containing %q, got %v", c.want, err)
		}
	}
}

func TestIndexTake(t *testing.T) {
	bothDTypes(t, func(t *testing.T, d DType) {
		x := randnOf(d, 4, 3, 4, 5)
		for axis := -3; axis < 3; axis++ {
			ax := (axis + 3) % 3
			n := x.shape[ax]
			for i := -n; i < n; i++ {
				y := Index(x, axis, i)
				want := slices.Delete(x.Shape(), ax, ax+1)
				if !slices.Equal(y.Shape(), want) {
					t.Fatalf("Index(x, %d, %d) has shape %v", axis, i, y.Shape())
				}
				for f := 0; f < y.Len(); f++ {
					idx := unravel(f, want)
					src := slices.Insert(slices.Clone(idx), ax, (i+n)%n)
					if y.At(idx...) != x.At(src...) {
						t.Fatalf("Index(x, %d, %d) differs at %v", axis, i, idx)
					}
				}
			}
		}
		// Take: an index tensor of any shape (negatives count from the end).
		idx := FromFloat64([]float64{0, -1, 2, 1, 1, 3}, 2, 3)
		y := Take(x, 1, idx)
		if !slices.Equal(y.Shape(), []int{3, 2, 3, 5}) {
			t.Fatalf("Take shape %v", y.Shape())
		}
		ids := []int{0, 3, 2, 1, 1, 3}
		for f := 0; f < y.Len(); f++ {
			i := unravel(f, y.shape)
			if y.At(i...) != x.At(i[0], ids[i[1]*3+i[2]], i[3]) {
				t.Fatalf("Take differs at %v", i)
			}
		}
		if e := Take(x, -1, New(Float64, 0)); !slices.Equal(e.Shape(), []int{3, 4, 0}) {
			t.Fatalf("Take with no indices: %v", e.Shape())
		}
		if s := Take(x, 0, Full64(2)); !slices.Equal(s.Shape(), []int{4, 5}) || MaxAbsDiff(s, Index(x, 0, 2)) != 0 {
			t.Fatalf("Take with a scalar index: %v", s.Shape())
		}
		// ArgMax's indices, as they are.
		v := FromFloat64([]float64{3, 9, -1, 4}).As(d)
		if m := Take(v, 0, ArgMax(v, 0, false)); m.At() != 9 {
			t.Fatalf("Take at ArgMax: %v", m.At())
		}
	})
	for _, c := range []struct {
		f    func()
		want string
	}{
		{func() { Index(Ones(2, 3), 1, 3) }, "index 3 out of range for axis 1 of size 3"},
		{func() { Index(Ones(2, 3), 2, 0) }, "axis 2 out of range"},
		{func() { Take(Ones(2, 3), 0, FromFloat64([]float64{2})) }, "idx value 2 (flat position 0) is out of range for axis 0 of size 2"},
		{func() { Take(Ones(2, 3), 0, FromFloat64([]float64{0.5})) }, "not an integer"},
	} {
		if err := Catch(c.f); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("want an error containing %q, got %v", c.want, err)
		}
	}
}

// TestCumsumEdges: Cumsum (layout.go) against a float64 running sum on
// every axis, negative axes, size-1 and empty axes.
func TestCumsumEdges(t *testing.T) {
	bothDTypes(t, func(t *testing.T, d DType) {
		for _, shape := range [][]int{{3, 4, 5}, {1, 6}, {6, 1}, {0, 3}, {3, 0}, {7}} {
			x := randnOf(d, 8, shape...)
			for axis := -len(shape); axis < len(shape); axis++ {
				ax := (axis + len(shape)) % len(shape)
				y := Cumsum(x, axis)
				if !slices.Equal(y.Shape(), shape) {
					t.Fatalf("Cumsum shape %v", y.Shape())
				}
				for f := 0; f < y.Len(); f++ {
					idx := unravel(f, shape)
					s, j := 0.0, idx[ax]
					for i := 0; i <= j; i++ {
						idx[ax] = i
						s += x.At(idx...)
					}
					idx[ax] = j
					if math.Abs(y.At(idx...)-s) > tolOf(d)*(1+math.Abs(s)) {
						t.Fatalf("Cumsum %v axis %d at %v: %v, want %v", shape, axis, idx, y.At(idx...), s)
					}
				}
			}
		}
	})
}

// TestMixedDTypeErrorsNameTheConversion: an operation given float32 and
// float64 operands says which operand is which and what to call.
func TestMixedDTypeErrorsNameTheConversion(t *testing.T) {
	for _, c := range []struct {
		f    func()
		want string
	}{
		{func() { Add(Ones(2), Ones64(2)) }, "tensor.Add: b: is float64 but a is float32: float32 and float64 do not mix; convert one, e.g. b.As(tensor.Float32) (or a.As(tensor.Float64))"},
		{func() { MatMul(Ones64(2, 2), Ones(2, 2)) }, "b.As(tensor.Float64)"},
		{func() { Concat(0, Ones(2), Ones(2), Ones64(2)) }, "tensor.Concat: ts[2]: is float64 but ts[0] is float32"},
		{func() { CausalConv1d(Ones(1, 4, 2), Ones64(2, 2), nil) }, "w.As(tensor.Float32)"},
	} {
		err := Catch(c.f)
		if !errors.Is(err, ErrDType) || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("want an ErrDType containing %q, got %v", c.want, err)
		}
	}
}

// TestSelectResidentFallback: on the fake device (which has none of these
// kernels, nor gather/concat), each function runs on the CPU and its result
// lives where its operands do, equal to the host result.
func TestSelectResidentFallback(t *testing.T) {
	withFakeDevice(t, &fakeDevice{})
	x := NewRNG(1).Randn(3, 4)
	r := x.To("gpu")
	for _, c := range []struct {
		name      string
		got, want *Tensor
	}{
		{"Tril", Tril(r, 0), Tril(x, 0)},
		{"Triu", Triu(r, 1), Triu(x, 1)},
		{"ArgMax", ArgMax(r, 1, true), ArgMax(x, 1, true)},
		{"ArgMin", ArgMin(r, 0, false), ArgMin(x, 0, false)},
		{"Where", Where(Tril(r, 0), r, Neg(r)), Where(Tril(x, 0), x, Neg(x))},
		{"Stack", Stack(1, r, r), Stack(1, x, x)},
		{"Index", Index(r, -1, 2), Index(x, -1, 2)},
		{"Take", Take(r, 1, FromFloat64([]float64{3, 0})), Take(x, 1, FromFloat64([]float64{3, 0}))},
	} {
		if c.got.Device() != backend.GPU || !slices.Equal(c.got.Shape(), c.want.Shape()) || MaxAbsDiff(c.got, c.want) != 0 {
			t.Fatalf("%s on a resident tensor: device %v, shape %v (want %v), difference %g", c.name, c.got.Device(), c.got.Shape(), c.want.Shape(), MaxAbsDiff(c.got, c.want))
		}
	}
	if err := Catch(func() { Where(r, r, x) }); !errors.Is(err, ErrDevice) {
		t.Fatalf("Where of resident and host operands: %v", err)
	}
}

// TestSelectWithNumPy compares every function with NumPy through .npy
// files: Go writes the inputs, NumPy computes and writes its results, Go
// compares (exactly, or within a float32 rounding for ranges). It skips
// when /usr/bin/python3 has no NumPy, except under CI=true where it fails.
func TestSelectWithNumPy(t *testing.T) {
	py := needNumPy(t)
	dir := t.TempDir()
	x := NewRNG(11).Randn64(3, 4, 5)
	x.Set(math.NaN(), 2, 1, 3)
	x.Set(x.At(0, 0, 1), 0, 2, 1) // a tie
	inputs := map[string]*Tensor{
		"x":    x,
		"x32":  NewRNG(12).Randn(4, 6),
		"cond": Apply(NewRNG(13).Randn64(3, 1, 5), func(v float64) float64 { return math.Max(0, math.Round(v)) }),
		"b":    NewRNG(14).Randn64(4, 1),
		"idx":  FromFloat64([]float64{2, -1, 0, 1, -3, 1}, 3, 2), // in range for every axis of x
		"e":    New(Float64, 2, 0, 3),
	}
	for name, v := range inputs {
		if err := v.Save(filepath.Join(dir, name+".npy")); err != nil {
			t.Fatal(err)
		}
	}
	script := `
import numpy as np, sys
d = sys.argv[1]
L = lambda n: np.load(d + "/" + n + ".npy")
x, x32, cond, b, idx, e = L("x"), L("x32"), L("cond"), L("b"), L("idx"), L("e")
out = {}
for k in (-2, 0, 1, 3):
    out["tril%d" % k] = np.tril(x, k)
    out["triu%d" % k] = np.triu(x, k)
    out["tril32_%d" % k] = np.tril(x32, k)
for ax in (0, 1, 2, -1):
    out["argmax%d" % ax] = np.argmax(x, axis=ax).astype(np.float64)
    out["argmin%d" % ax] = np.argmin(x, axis=ax).astype(np.float64)
    out["cumsum%d" % ax] = np.cumsum(x, axis=ax)
    out["take%d" % ax] = np.take(x, idx.astype(np.int64), axis=ax)
out["argmax32"] = np.argmax(x32, axis=1).astype(np.float32)
out["where"] = np.where(cond != 0, x, b)
out["stack0"] = np.stack([x, 2 * x], axis=0)
out["stack-1"] = np.stack([x, 2 * x], axis=-1)
out["stack2"] = np.stack([x, 2 * x, 3 * x], axis=2)
out["cumsum_e"] = np.cumsum(e, axis=1)
out["arange"] = np.arange(-1.5, 2.25, 0.25)
out["arange_down"] = np.arange(3.0, -2.0, -0.7)
out["linspace"] = np.linspace(-1.0, 2.0, 7)
out["linspace32"] = np.linspace(0.0, 1.0, 11).astype(np.float32)
out["index"] = x[:, -1, :].copy()
for k, v in out.items():
    np.save(d + "/out_" + k + ".npy", np.ascontiguousarray(v))
`
	if out, err := exec.Command(py, "-c", script, dir).CombinedOutput(); err != nil {
		t.Fatalf("numpy: %v\n%s", err, out)
	}
	x32, cond, b, idx, e := inputs["x32"], inputs["cond"], inputs["b"], inputs["idx"], inputs["e"]
	ours := map[string]*Tensor{
		"where": Where(cond, x, b), "stack0": Stack(0, x, Scale(x, 2)), "stack-1": Stack(-1, x, Scale(x, 2)),
		"stack2": Stack(2, x, Scale(x, 2), Scale(x, 3)), "cumsum_e": Cumsum(e, 1),
		"arange": Arange64(-1.5, 2.25, 0.25), "arange_down": Arange64(3, -2, -0.7),
		"linspace": Linspace64(-1, 2, 7), "linspace32": Linspace(0, 1, 11),
		"index": Index(x, 1, -1), "argmax32": ArgMax(x32, 1, false),
	}
	for _, k := range []int{-2, 0, 1, 3} {
		ours[fmt.Sprintf("tril%d", k)] = Tril(x, k)
		ours[fmt.Sprintf("triu%d", k)] = Triu(x, k)
		ours[fmt.Sprintf("tril32_%d", k)] = Tril(x32, k)
	}
	for _, ax := range []int{0, 1, 2, -1} {
		ours[fmt.Sprintf("argmax%d", ax)] = ArgMax(x, ax, false)
		ours[fmt.Sprintf("argmin%d", ax)] = ArgMin(x, ax, false)
		ours[fmt.Sprintf("cumsum%d", ax)] = Cumsum(x, ax)
		ours[fmt.Sprintf("take%d", ax)] = Take(x, ax, idx)
	}
	for name, got := range ours {
		want, err := Load(filepath.Join(dir, "out_"+name+".npy"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(got.Shape(), want.Shape()) || got.DType() != want.DType() {
			t.Fatalf("%s: ours %v %v, NumPy's %v %v", name, got.Shape(), got.DType(), want.Shape(), want.DType())
		}
		tol := 0.0
		if strings.HasPrefix(name, "cumsum") || strings.HasPrefix(name, "arange") || strings.HasPrefix(name, "linspace") {
			tol = 1e-15 // summation and range arithmetic may round differently in the last bit
		}
		g, w := got.Data(), want.Data()
		for i := range g {
			same := g[i] == w[i] || (math.IsNaN(g[i]) && math.IsNaN(w[i]))
			if !same && !(math.Abs(g[i]-w[i]) <= tol*(1+math.Abs(w[i]))) {
				t.Fatalf("%s: element %d is %v, NumPy's %v", name, i, g[i], w[i])
			}
		}
	}
}
