package gputest

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/gpu"
	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// setup opens the gpu (skipping without an EGL context), lets a software
// renderer count, keeps the active device on the CPU and captures notices.
func setup(t *testing.T) *bytes.Buffer {
	t.Helper()
	if _, err := gpu.Default(); err != nil {
		if !errors.Is(err, backend.ErrUnavailable) {
			t.Fatalf("gpu.Default: %v does not wrap backend.ErrUnavailable", err)
		}
		t.Skipf("no OpenGL 4.3 context: %v", err)
	}
	t.Setenv("FURIOUS_GPU_SOFTWARE", "1")
	if err := tensor.SetDevice("cpu"); err != nil {
		t.Fatal(err)
	}
	var notices bytes.Buffer
	old := tensor.SetNoticeWriter(&notices)
	t.Cleanup(func() { tensor.SetNoticeWriter(old); tensor.SetDevice("cpu") })
	return &notices
}

// inputs returns float32 q, k (B, H, L, d), v (B, H, L, dv) and log-decays
// a (B, H, L) in [−0.5, 0) (nil when !decay); with nonneg, |q| and |k| so
// that the softmax norm's denominators stay away from 0.
func inputs(seed uint64, B, H, L, d, dv int, decay, nonneg bool) (q, k, v, a *tensor.Tensor) {
	q, k, v = tensor.NewRNG(seed).Randn(B, H, L, d), tensor.NewRNG(seed+1).Randn(B, H, L, d), tensor.NewRNG(seed+2).Randn(B, H, L, dv)
	if nonneg {
		q, k = tensor.Abs(q), tensor.Abs(k)
	}
	if decay {
		a = tensor.NewRNG(seed+3).Rand(-0.5, -1e-3, B, H, L)
	}
	return
}

func f64(t *tensor.Tensor) *tensor.Tensor {
	if t == nil {
		return nil
	}
	return t.As(tensor.Float64)
}

func gpuAll(ts ...*tensor.Tensor) []*tensor.Tensor {
	out := make([]*tensor.Tensor, len(ts))
	for i, t := range ts {
		if t != nil {
			out[i] = t.To("gpu")
		}
	}
	return out
}

// tol is ssd's float32 accuracy against the float64 oracle (ssd doc,
// "Accuracy"): max |y − y₆₄| / max |y₆₄| ≤ 1e-4. The device forms
// accumulate in float32 like the CPU's.
const tol = 1e-4

type config struct {
	B, H, L, d, dv int
	order          int
	norm           ssd.Norm
	decay          bool
	chunk          int
}

func (c config) String() string {
	return fmt.Sprintf("B=%d H=%d L=%d d=%d dv=%d order %d norm %s decay=%v chunk %d", c.B, c.H, c.L, c.d, c.dv, c.order, c.norm, c.decay, c.chunk)
}

var configs = []config{
	{1, 1, 1, 4, 3, 1, ssd.NormNone, true, 16},      // L = 1
	{2, 3, 37, 16, 8, 1, ssd.NormNone, true, 16},    // L not a multiple of the chunk
	{2, 3, 37, 16, 8, 2, ssd.NormSoftmax, true, 16}, // order 2, softmax norm
	{1, 2, 130, 5, 7, 2, ssd.NormNone, false, 64},   // odd d, no decay
	{1, 2, 70, 8, 9, 1, ssd.NormSoftmax, false, 32},
	{1, 2, 50, 8, 8, 2, ssd.NormOutput, true, 16}, // RMSNorm on the host
}

// TestFormsOnResident runs Quadratic, Chunked and Auto on resident inputs
// and checks the result stays resident, reads nothing back (except under
// NormOutput) and agrees with the float64 quadratic oracle.
func TestFormsOnResident(t *testing.T) {
	notices := setup(t)
	for i, c := range configs {
		q, k, v, a := inputs(uint64(10*i+1), c.B, c.H, c.L, c.d, c.dv, c.decay, c.norm == ssd.NormSoftmax)
		o := ssd.Options{Order: c.order, Norm: c.norm, Eps: ssd.DefaultEps}
		want := ssd.Quadratic(f64(q), f64(k), f64(v), f64(a), o)
		r := gpuAll(q, k, v, a)
		forms := map[string]func() *tensor.Tensor{
			"Quadratic": func() *tensor.Tensor { return ssd.Quadratic(r[0], r[1], r[2], r[3], o) },
			"Chunked": func() *tensor.Tensor {
				y, _ := ssd.Chunked(r[0], r[1], r[2], r[3], o, c.chunk, nil)
				return y
			},
			"Auto": func() *tensor.Tensor { return ssd.Auto(r[0], r[1], r[2], r[3], o) },
		}
		for name, f := range forms {
			_, d0 := tensor.Transfers()
			y := f()
			if y.Device() != backend.GPU {
				t.Fatalf("%s %s: result on %v, want gpu", name, c, y.Device())
			}
			if _, d1 := tensor.Transfers(); d1 != d0 && c.norm != ssd.NormOutput {
				t.Fatalf("%s %s: %d downloads during the call, want 0", name, c, d1-d0)
			}
			if d := tensor.MaxRelDiff(y, want); d > tol {
				t.Fatalf("%s %s: relative difference %.3g from the float64 oracle, want ≤ %g", name, c, d, tol)
			} else {
				t.Logf("%s %s: %.2g", name, c, d)
			}
		}
	}
	if notices.Len() != 0 {
		t.Fatalf("device forms wrote notices:\n%s", notices)
	}
}

// TestChunkedStateOnResident checks the final state of Chunked on the
// device against the CPU's float64 Chunked state, and that continuing with
// State.Step from it gives the oracle's next outputs.
func TestChunkedStateOnResident(t *testing.T) {
	setup(t)
	for i, c := range configs {
		if c.norm == ssd.NormOutput {
			continue
		}
		const extra = 3
		L := c.L + extra
		q, k, v, a := inputs(uint64(100+10*i), c.B, c.H, L, c.d, c.dv, c.decay, c.norm == ssd.NormSoftmax)
		o := ssd.Options{Order: c.order, Norm: c.norm}
		want := ssd.Quadratic(f64(q), f64(k), f64(v), f64(a), o) // (B, H, L+3, dv)
		pre := func(x *tensor.Tensor) *tensor.Tensor {
			if x == nil {
				return nil
			}
			return x.Slice(2, 0, c.L)
		}
		_, want64 := ssd.Chunked(f64(pre(q)), f64(pre(k)), f64(pre(v)), f64(pre(a)), o, c.chunk, nil)
		r := gpuAll(pre(q), pre(k), pre(v), pre(a))
		_, s := ssd.Chunked(r[0], r[1], r[2], r[3], o, c.chunk, nil)
		if s == nil {
			t.Fatalf("%s: Chunked on the device returned no state", c)
		}
		if s.S.Device() != backend.GPU || s.Tokens != c.L || s.D != want64.D {
			t.Fatalf("%s: state on %v, %d tokens, D=%d; want gpu, %d, %d", c, s.S.Device(), s.Tokens, s.D, c.L, want64.D)
		}
		if d := tensor.MaxRelDiff(s.S, want64.S); d > tol {
			t.Fatalf("%s: state differs from the float64 CPU state by %.3g relative", c, d)
		}
		for j := c.L; j < L; j++ {
			at := func(x *tensor.Tensor) *tensor.Tensor {
				if x == nil {
					return nil
				}
				if x.Rank() == 3 {
					return x.Slice(2, j, j+1).Reshape(c.B, c.H)
				}
				return x.Slice(2, j, j+1).Reshape(c.B, c.H, x.Dim(3))
			}
			y := s.Step(at(q), at(k), at(v), at(a))
			if d := tensor.MaxRelDiff(y, at(want)); d > 1e-3 { // the recurrent step of order 2: ssd doc, 1e-3
				t.Fatalf("%s: Step %d after the device state differs by %.3g", c, j, d)
			}
		}
	}
}

// TestOneRule checks that the forms run where their inputs live: with the
// gpu chosen for placement, host inputs still run on the CPU (nothing is
// uploaded); inputs placed by the constructors run on the gpu and their
// output and final state stay there; inputs on two devices are an error
// naming both.
func TestOneRule(t *testing.T) {
	setup(t)
	if err := tensor.SetDevice("gpu"); err != nil {
		t.Fatal(err)
	}
	defer tensor.SetDevice("cpu")
	{
		q, k, v := tensor.New(tensor.Float32, 1, 2, 20, 4), tensor.New(tensor.Float32, 1, 2, 20, 4), tensor.New(tensor.Float32, 1, 2, 20, 4)
		u0, _ := tensor.Transfers()
		y := ssd.Quadratic(q, k, v, nil, ssd.Options{Order: 1})
		if u1, _ := tensor.Transfers(); u1 != u0 || y.Device() != backend.CPU {
			t.Fatalf("host inputs with the gpu chosen: %d uploads, result on %v; want 0, cpu", u1-u0, y.Device())
		}
	}
	c := configs[2]
	q, k, v, a := inputs(7, c.B, c.H, c.L, c.d, c.dv, true, true) // placed on the gpu by SetDevice
	if q.Device() != backend.GPU || a.Device() != backend.GPU {
		t.Fatalf("constructors under SetDevice(gpu) placed q on %v, a on %v", q.Device(), a.Device())
	}
	o := ssd.Options{Order: 2, Norm: ssd.NormSoftmax}
	want := ssd.Quadratic(f64(q), f64(k), f64(v), f64(a), o)
	u0, d0 := tensor.Transfers()
	y, s := ssd.Chunked(q, k, v, a, o, 16, nil)
	u1, d1 := tensor.Transfers()
	if y.Device() != backend.GPU || s.S.Device() != backend.GPU || u1 != u0 || d1 != d0 {
		t.Fatalf("placed inputs: result on %v, state on %v, %d uploads, %d downloads; want gpu, gpu, 0, 0", y.Device(), s.S.Device(), u1-u0, d1-d0)
	}
	if d := tensor.MaxRelDiff(y, want); d > tol {
		t.Fatalf("Chunked of placed inputs differs by %.3g", d)
	}
	err := tensor.Catch(func() { ssd.Chunked(q, k, v.To("cpu"), a, o, 16, nil) })
	if !errors.Is(err, tensor.ErrDevice) || !strings.Contains(err.Error(), "v (shape") || !strings.Contains(err.Error(), "q (shape") {
		t.Fatalf("Chunked with v on the cpu and q on the gpu: %v", err)
	}
}

// TestFallbacks checks that what the device lacks runs on the CPU, right,
// with the notice naming the primitive and the reason: exp attention, an
// initial state, order 3, and the recurrent form.
func TestFallbacks(t *testing.T) {
	notices := setup(t)
	q, k, v, a := inputs(3, 1, 2, 20, 4, 5, true, false)
	r := gpuAll(q, k, v, a)
	oe := ssd.Options{Exp: true, Norm: ssd.NormSoftmax}
	o3 := ssd.Options{Order: 3}
	o1 := ssd.Options{Order: 1}
	_, s0 := ssd.Chunked(q, k, v, a, o1, 8, nil)
	cases := []struct {
		what, notice string
		got, want    func() *tensor.Tensor
	}{
		{"exp Quadratic", "ssd.Quadratic on gpu: exp (softmax) attention",
			func() *tensor.Tensor { return ssd.Quadratic(r[0], r[1], r[2], r[3], oe) },
			func() *tensor.Tensor { return ssd.Quadratic(q, k, v, a, oe) }},
		{"order 3 Chunked", "ssd.Chunked on gpu: order 3 has no device form",
			func() *tensor.Tensor { y, _ := ssd.Chunked(r[0], r[1], r[2], r[3], o3, 8, nil); return y },
			func() *tensor.Tensor { y, _ := ssd.Chunked(q, k, v, a, o3, 8, nil); return y }},
		{"Chunked from a state", "ssd.Chunked on gpu: an initial state s0",
			func() *tensor.Tensor { y, _ := ssd.Chunked(r[0], r[1], r[2], r[3], o1, 8, s0); return y },
			func() *tensor.Tensor { y, _ := ssd.Chunked(q, k, v, a, o1, 8, s0); return y }},
		{"Recurrent", "ssd.Recurrent on gpu: this form has no device version",
			func() *tensor.Tensor { y, _ := ssd.Recurrent(r[0], r[1], r[2], r[3], o1, nil); return y },
			func() *tensor.Tensor { y, _ := ssd.Recurrent(q, k, v, a, o1, nil); return y }},
	}
	for _, c := range cases {
		got, want := c.got(), c.want()
		if got.Device() != backend.GPU {
			t.Fatalf("%s: the CPU fallback's result is on %v, want the inputs' gpu", c.what, got.Device())
		}
		if d := tensor.MaxAbsDiff(got, want); d != 0 {
			t.Fatalf("%s on resident inputs differs from the host call by %g", c.what, d)
		}
		if !strings.Contains(notices.String(), c.notice) {
			t.Fatalf("%s: no notice containing %q; notices:\n%s", c.what, c.notice, notices)
		}
	}
}

// TestNotFiniteOnDevice checks that an infinite input gives the CPU's
// ErrNotFinite error naming the primitive, found by the device check.
func TestNotFiniteOnDevice(t *testing.T) {
	setup(t)
	q, k, v, a := inputs(5, 1, 1, 9, 4, 3, true, false)
	v.Set(3e38, 0, 0, 2, 1)
	v.Set(3e38, 0, 0, 3, 1)
	q.Set(1e20, 0, 0, 4, 0)
	r := gpuAll(q, k, v, a)
	err := tensor.Catch(func() { ssd.Quadratic(r[0], r[1], r[2], r[3], ssd.Options{Order: 2}) })
	if !errors.Is(err, tensor.ErrNotFinite) || !strings.Contains(err.Error(), "ssd.Quadratic") {
		t.Fatalf("overflowing inputs on the device gave %v, want ErrNotFinite naming ssd.Quadratic", err)
	}
}

// TestFormsLong runs the device forms at a paper-like head size and a
// sequence long enough for many key blocks (L = 1024, d = d_v = 64), where
// Auto picks the quadratic form on a hardware GPU at order 2. (On llvmpipe
// every device form runs as the chunked shader: see gpu.Backend.SSDDevice32.)
func TestFormsLong(t *testing.T) {
	setup(t)
	for _, c := range []config{
		{1, 2, 1024, 64, 64, 2, ssd.NormSoftmax, true, 256},
		{1, 2, 1024, 64, 64, 1, ssd.NormNone, true, 64},
	} {
		q, k, v, a := inputs(77, c.B, c.H, c.L, c.d, c.dv, c.decay, c.norm == ssd.NormSoftmax)
		o := ssd.Options{Order: c.order, Norm: c.norm}
		want := ssd.Quadratic(f64(q), f64(k), f64(v), f64(a), o)
		r := gpuAll(q, k, v, a)
		yc, _ := ssd.Chunked(r[0], r[1], r[2], r[3], o, c.chunk, nil)
		for name, y := range map[string]*tensor.Tensor{
			"Quadratic": ssd.Quadratic(r[0], r[1], r[2], r[3], o),
			"Chunked":   yc,
			"Auto":      ssd.Auto(r[0], r[1], r[2], r[3], o),
		} {
			if y.Device() != backend.GPU {
				t.Fatalf("%s %s: result on %v", name, c, y.Device())
			}
			if d := tensor.MaxRelDiff(y, want); d > tol {
				t.Fatalf("%s %s: relative difference %.3g from the float64 oracle, want ≤ %g", name, c, d, tol)
			} else {
				t.Logf("%s %s: %.2g", name, c, d)
			}
		}
	}
}

// TestNoLeak runs 300 Chunked calls (output and state) and Quadratic calls
// on resident inputs, releasing the results, then 100 left to the garbage
// collector (gpu's TestResidentNoLeak runs 1,000 cycles of tensor ops),
// and checks that the device's live buffers and bytes return to where they
// were (the SSD shaders' scratch buffers are kept between calls, so the
// baseline is taken after one call).
func TestNoLeak(t *testing.T) {
	setup(t)
	d, _ := gpu.Default()
	q, k, v, a := inputs(8, 1, 2, 40, 8, 8, true, true)
	r := gpuAll(q, k, v, a)
	o := ssd.Options{Order: 2, Norm: ssd.NormSoftmax}
	call := func(release bool) {
		y, s := ssd.Chunked(r[0], r[1], r[2], r[3], o, 16, nil)
		y2 := ssd.Quadratic(r[0], tensor.Neg(r[1]), r[2], nil, o) // a host-free chain with a nil decay
		if release {
			y.Release()
			s.S.Release()
			y2.Release()
		}
	}
	call(true)
	settle := func() gpu.Stats {
		var st gpu.Stats
		for i, last := 0, -1; i < 200; i++ {
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
			st = d.Stats()
			if st.Buffers == last {
				break
			}
			last = st.Buffers
		}
		return st
	}
	before := settle()
	for i := 0; i < 300; i++ {
		call(true)
	}
	for i := 0; i < 100; i++ {
		call(false)
	}
	after := settle()
	if after.Buffers > before.Buffers || after.Bytes > before.Bytes {
		t.Fatalf("after 400 calls: %d buffers, %d bytes; before %d, %d", after.Buffers, after.Bytes, before.Buffers, before.Bytes)
	}
}

// TestVariantCoreOnResident runs every finite-order preset's Core in
// FormAuto (the device's choice of form) and FormChunked on resident
// inputs, and compares with the float64 quadratic form on the host.
func TestVariantCoreOnResident(t *testing.T) {
	setup(t)
	const B, H, L, d = 1, 2, 45, 8
	for _, v := range ssd.Presets() {
		if v.Exp {
			continue
		}
		v.Chunk = 16
		q, k, val, a := inputs(31, B, H, L, d, d, v.Mask != ssd.MaskNone, true)
		dt := ssd.DT(tensor.NewRNG(5).Randn(B, H, L), nil)
		z := tensor.NewRNG(6).Randn(B, H, L, d)
		want := v.Core(ssd.FormQuadratic, f64(q), f64(k), f64(val), f64(a), f64(dt), f64(z))
		r := gpuAll(q, k, val, a, dt, z)
		for _, f := range []ssd.Form{ssd.FormAuto, ssd.FormChunked} {
			got := v.Core(f, r[0], r[1], r[2], r[3], r[4], r[5])
			if e := tensor.MaxRelDiff(got, want); e > tol {
				t.Fatalf("%s %s on resident inputs: relative difference %.3g from the float64 quadratic form", v.Name, f, e)
			}
		}
	}
}
