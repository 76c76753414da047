package tensor

import (
	"errors"
	"strings"
	"testing"
)

func TestRandomIsDeterministicAndRoundsFromFloat64(t *testing.T) {
	a := NewRNG(7).Randn(3, 5)
	b := NewRNG(7).Randn(3, 5)
	c := NewRNG(7).Randn64(3, 5)
	for i := 0; i < a.Len(); i++ {
		if a.Float32s()[i] != b.Float32s()[i] {
			t.Fatalf("same seed gave different values at %d", i)
		}
		if a.Float32s()[i] != float32(c.Float64s()[i]) {
			t.Fatalf("float32 draw %d is not the rounding of the float64 draw", i)
		}
	}
	if NewRNG(8).Randn(3, 5).Float32s()[0] == a.Float32s()[0] {
		t.Fatal("different seeds gave the same first value")
	}
	var mean, sq float64
	n := NewRNG(1).Randn64(100000)
	for _, v := range n.Float64s() {
		mean += v
		sq += v * v
	}
	mean /= 1e5
	if mean > 0.02 || mean < -0.02 || sq/1e5 < 0.97 || sq/1e5 > 1.03 {
		t.Fatalf("normal draws have mean %.4f and second moment %.4f", mean, sq/1e5)
	}
}

// TestRNGStreamsAndSessionDefault: the numbers of a seed are pinned (they
// are those the seed-first constructors gave before the API took a shape),
// successive draws continue one stream, and the package-level constructors
// draw from the session default that ManualSeed resets.
func TestRNGStreamsAndSessionDefault(t *testing.T) {
	if got := NewRNG(7).Randn64(3).Float64s()[2]; got != 0.094471861064938017 {
		t.Fatalf("NewRNG(7).Randn64(3)[2] = %.17g, want 0.094471861064938017 (the seed's numbers changed)", got)
	}
	if got := NewRNG(7).Rand64(-1, 2, 3).Float64s()[1]; got != -0.16374631157864716 {
		t.Fatalf("NewRNG(7).Rand64(-1, 2, 3)[1] = %.17g, want -0.16374631157864716", got)
	}
	r := NewRNG(3)
	a, b := r.Randn64(2, 2), r.Randn64(3)
	whole := NewRNG(3).Randn64(7).Float64s()
	for i, v := range append(a.Float64s(), b.Float64s()...) {
		if v != whole[i] {
			t.Fatalf("draw %d of two successive calls is %v, the single stream has %v", i, v, whole[i])
		}
	}
	if s := a.Shape(); len(s) != 2 || s[0] != 2 || s[1] != 2 {
		t.Fatalf("NewRNG(3).Randn64(2, 2) has shape %v", s)
	}

	ManualSeed(11)
	x, y := Randn(4), Rand64(-1, 1, 2, 3)
	ManualSeed(11)
	x2 := Randn(4)
	ref := NewRNG(11)
	xr, yr := ref.Randn(4), ref.Rand64(-1, 1, 2, 3)
	for i := range x.Float32s() {
		if x.Float32s()[i] != xr.Float32s()[i] || x2.Float32s()[i] != xr.Float32s()[i] {
			t.Fatalf("after ManualSeed(11), Randn(4)[%d] = %v then %v, NewRNG(11) gives %v", i, x.Float32s()[i], x2.Float32s()[i], xr.Float32s()[i])
		}
	}
	for i := range y.Float64s() {
		if y.Float64s()[i] != yr.Float64s()[i] {
			t.Fatalf("the default generator's second call does not continue its stream at %d", i)
		}
	}
	if s := Randn64(1, 3, 4).Shape(); len(s) != 3 || s[0] != 1 || s[2] != 4 {
		t.Fatalf("Randn64(1, 3, 4) has shape %v: every argument is a dimension", s)
	}
	ManualSeed(DefaultSeed)
	if Randn64(2).Float64s()[0] != NewRNG(DefaultSeed).Randn64(2).Float64s()[0] {
		t.Fatal("ManualSeed(DefaultSeed) does not restart the default stream")
	}
}

func TestShapeErrorsNameArgumentAndBothShapes(t *testing.T) {
	err := Catch(func() { CheckShape("ssd.Quadratic", "k", []int{1, 2, 8, 16}, "(same as q)", 1, 2, 8, 32) })
	if !errors.Is(err, ErrShape) {
		t.Fatalf("want ErrShape, got %v", err)
	}
	want := "ssd.Quadratic: k has shape (1,2,8,16), want (1,2,8,32) (same as q)"
	if err.Error() != want {
		t.Fatalf("got %q\nwant %q", err, want)
	}
	err = Catch(func() { Zeros(2, 3).Reshape(4, -1) })
	if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "(2,3)") {
		t.Fatalf("reshape error %v", err)
	}
}

func TestMemoryLimitRefusesWithSize(t *testing.T) {
	old := SetMemoryLimit(1 << 20)
	defer SetMemoryLimit(old)
	err := Catch(func() { Zeros(1024, 1024) })
	if !errors.Is(err, ErrMemory) || !strings.Contains(err.Error(), "4.0 MiB") || !strings.Contains(err.Error(), "(1024,1024)") {
		t.Fatalf("got %v", err)
	}
	SetMemoryLimit(0)
	err = Catch(func() { Zeros(1<<20, 1<<20, 1<<10) })
	if !errors.Is(err, ErrMemory) {
		t.Fatalf("a 4 PiB tensor was not refused: %v", err)
	}
}

func TestReshapeSharesAndStringShowsShape(t *testing.T) {
	x := FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	y := x.Reshape(3, -1)
	y.Set(9, 0, 0)
	if x.At(0, 0) != 9 || y.Dim(1) != 2 {
		t.Fatal("reshape does not share data or inferred the wrong size")
	}
	s := x.String()
	if !strings.HasPrefix(s, "Tensor(2,3) float32 cpu\n[[9 2 3]\n [4 5 6]]") {
		t.Fatalf("String() = %q", s)
	}
	long := Zeros(100).String()
	if !strings.Contains(long, "...") {
		t.Fatalf("long tensor not elided: %q", long)
	}
}

func TestParseBytes(t *testing.T) {
	for s, want := range map[string]int64{"512MiB": 512 << 20, "8GB": 8e9, "1000": 1000, "1.5GiB": 3 << 29} {
		got, err := ParseBytes(s)
		if err != nil || got != want {
			t.Fatalf("ParseBytes(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
}

func TestFloat64Constructors(t *testing.T) {
	if o := Ones64(2, 2); o.DType() != Float64 || SumAll(o) != 4 {
		t.Fatalf("Ones64: %v", o)
	}
	if f := Full64(0.1, 3); f.DType() != Float64 || f.At(2) != 0.1 {
		t.Fatalf("Full64: %v", f)
	}
}

func TestInterruptStopsCheckpoints(t *testing.T) {
	CheckInterrupt("tensor.Test") // not interrupted: no panic
	Interrupt()
	err := Catch(func() { CheckInterrupt("ssd.Chunked") })
	ClearInterrupt()
	if !errors.Is(err, ErrInterrupted) || err.Error() != "ssd.Chunked: interrupted" {
		t.Fatalf("got %v", err)
	}
	if Interrupted() {
		t.Fatal("ClearInterrupt left the flag set")
	}
}
