package tensor

import (
	"fmt"
	"math"
	"slices"
)

// Comparisons for oracle tests. Unlike arithmetic, they accept tensors of
// different dtypes (a float32 result against a float64 reference); the
// shapes must be equal. Values are compared in float64.

func sameShapeFor(op string, a, b *Tensor) {
	syncHost(a, b)
	if !slices.Equal(a.shape, b.shape) {
		ShapeMismatch(op, "b", b.shape, a.shape, "(same as a)")
	}
}

// MaxAbsDiff returns max_i |a_i − b_i| (0 for empty tensors). It is NaN when
// any a_i or b_i is NaN, and +Inf when they differ by an infinity.
func MaxAbsDiff(a, b *Tensor) float64 {
	sameShapeFor("tensor.MaxAbsDiff", a, b)
	m := 0.0
	for i := 0; i < a.Len(); i++ {
		x, y := a.flat(i), b.flat(i)
		if x == y { // also equal infinities
			continue
		}
		d := math.Abs(x - y)
		if d != d {
			return math.NaN()
		}
		m = max(m, d)
	}
	return m
}

// MaxRelDiff returns the largest difference relative to the reference's
// scale: max_i |a_i − b_i| / max_i |b_i|. b is the reference. When b is all
// zeros it is 0 if a is too and +Inf otherwise; NaN anywhere gives NaN. One
// global scale (not an elementwise ratio) keeps near-zero entries of b from
// dominating, which suits outputs like attention scores.
func MaxRelDiff(a, b *Tensor) float64 {
	sameShapeFor("tensor.MaxRelDiff", a, b)
	d := MaxAbsDiff(a, b)
	scale := 0.0
	for i := 0; i < b.Len(); i++ {
		scale = max(scale, math.Abs(b.flat(i)))
	}
	switch {
	case d != d || scale != scale:
		return math.NaN()
	case d == 0:
		return 0
	case scale == 0:
		return math.Inf(1)
	}
	return d / scale
}

// AllClose reports whether |a_i − b_i| ≤ atol + rtol·|b_i| for every i, like
// numpy.allclose with b as the reference. NaN is never close; equal
// infinities are.
func AllClose(a, b *Tensor, rtol, atol float64) bool {
	sameShapeFor("tensor.AllClose", a, b)
	for i := 0; i < a.Len(); i++ {
		x, y := a.flat(i), b.flat(i)
		if x == y {
			continue
		}
		if !(math.Abs(x-y) <= atol+rtol*math.Abs(y)) {
			return false
		}
	}
	return true
}

// IsFinite reports whether every element is finite (no NaN, no ±Inf).
func (t *Tensor) IsFinite() bool { return t.firstNotFinite() < 0 }

func (t *Tensor) firstNotFinite() int {
	syncHost(t)
	if t.dtype == Float64 {
		for i, v := range t.f64 {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return i
			}
		}
		return -1
	}
	for i, v := range t.f32 {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return i
		}
	}
	return -1
}

// CheckFinite panics with an *Error (errors.Is ErrNotFinite) naming op, the
// first bad element's index and value and the shape, when t holds a NaN or
// an infinity; it returns t otherwise, so it can wrap a result:
// y := ssd.Chunked(...).CheckFinite("ssd.Chunked").
func (t *Tensor) CheckFinite(op string) *Tensor {
	i := t.firstNotFinite()
	if i < 0 {
		return t
	}
	idx := unravelIndex(i, t.shape)
	panic(&Error{Op: op, Kind: ErrNotFinite, Msg: fmt.Sprintf("produced %v at index %v of a %s tensor %s", t.flat(i), idx, t.dtype, ShapeString(t.shape))})
}
