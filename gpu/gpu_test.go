package gpu

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/furious-lab/furious/backend"
)

// device returns the shared test device, or skips the test saying why no
// EGL context could be made (and only then).
func device(t testing.TB) *Device {
	t.Helper()
	d, err := Default()
	if err != nil {
		if !errors.Is(err, backend.ErrUnavailable) {
			t.Fatalf("Default: %v does not wrap backend.ErrUnavailable", err)
		}
		t.Skipf("no OpenGL 4.3 context: %v", err)
	}
	return d
}

func randFloats(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func upload(t testing.TB, d *Device, x []float32) *Buffer {
	t.Helper()
	b, err := d.Upload(x)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func download(t testing.TB, b *Buffer) []float32 {
	t.Helper()
	x, err := b.Download()
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// poisoned allocates n floats filled with NaN, so unwritten outputs fail.
func poisoned(t testing.TB, d *Device, n int) *Buffer {
	t.Helper()
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(math.NaN())
	}
	return upload(t, d, x)
}

// compare checks got against want elementwise: |got−want| ≤ tol·scale[i]
// (scale nil: max(|want|, 1)). It reports the largest relative difference.
func compare(t testing.TB, what string, got []float32, want, scale []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst, at := 0.0, -1
	for i := range want {
		s := math.Max(math.Abs(want[i]), 1)
		if scale != nil {
			s = math.Max(scale[i], 1e-30)
		}
		e := math.Abs(float64(got[i])-want[i]) / s
		if math.IsNaN(e) || e > worst {
			worst, at = e, i
			if math.IsNaN(e) {
				worst = math.Inf(1)
			}
		}
	}
	if worst > tol {
		t.Errorf("%s: largest relative difference %.3g at %d (got %v, want %v), tolerance %g", what, worst, at, got[at], want[at], tol)
	} else {
		t.Logf("%s: largest relative difference %.3g", what, worst)
	}
}

func TestDevice(t *testing.T) {
	d := device(t)
	t.Logf("%s (vendor %q, GLSL %s, shared %d B, %d invocations, SSBO %d B, groups %v)",
		d.Describe(), d.Vendor(), d.info.GLSL, d.info.MaxSharedBytes, d.info.MaxInvocations, d.info.MaxSSBOBytes, d.info.MaxGroups)
	if d.Name() != "gpu" || d.Kind() != backend.GPU {
		t.Errorf("Name %q Kind %v, want gpu GPU", d.Name(), d.Kind())
	}
	if !strings.Contains(d.Describe(), d.Renderer()) || d.Renderer() == "" {
		t.Errorf("Describe %q does not name the renderer %q", d.Describe(), d.Renderer())
	}
	maj, min := glVersion(d.Version())
	if maj < 4 || maj == 4 && min < 3 {
		t.Errorf("GL_VERSION %q is below 4.3", d.Version())
	}
	c := d.Capabilities()
	if !c.Float32 || c.Float64 || !c.Has("matmul") {
		t.Errorf("Capabilities %+v", c)
	}
}

func glVersion(v string) (int, int) {
	f := strings.FieldsFunc(v, func(r rune) bool { return r == '.' || r == ' ' })
	if len(f) < 2 {
		return 0, 0
	}
	a, _ := strconv.Atoi(f[0])
	b, _ := strconv.Atoi(f[1])
	return a, b
}

func TestBufferRoundTrip(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 3, 1000, 65537} {
		x := randFloats(r, n)
		b := upload(t, d, x)
		if b.Len() != n {
			t.Fatalf("Len %d, want %d", b.Len(), n)
		}
		y := download(t, b)
		for i := range x {
			if x[i] != y[i] {
				t.Fatalf("n=%d: element %d came back %v, want %v", n, i, y[i], x[i])
			}
		}
		if n > 10 {
			part := []float32{7, 8, 9}
			if err := b.WriteAt(n-3, part); err != nil {
				t.Fatal(err)
			}
			got := make([]float32, 5)
			if err := b.ReadAt(n-5, got); err != nil {
				t.Fatal(err)
			}
			want := []float32{x[n-5], x[n-4], 7, 8, 9}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("n=%d: ReadAt after WriteAt: %v, want %v", n, got, want)
				}
			}
			c, err := d.NewBuffer(n)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.CopyFrom(b, 1, 0, n-1); err != nil {
				t.Fatal(err)
			}
			cc := download(t, c)
			if cc[0] != x[1] || cc[n-2] != 9 {
				t.Fatalf("CopyFrom: %v %v, want %v 9", cc[0], cc[n-2], x[1])
			}
			c.Release()
		}
		b.Release()
		b.Release()
	}
}

func TestCompileErrorNamesShader(t *testing.T) {
	d := device(t)
	_, err := d.program("broken.comp", "#version 430\nlayout(local_size_x = 1) in;\nvoid main() { undefined_thing = 1; }\n")
	var e *Error
	if !errors.As(err, &e) || e.Shader != "broken.comp" || !strings.Contains(err.Error(), "broken.comp") {
		t.Fatalf("compile error %v does not name the shader", err)
	}
	t.Log(err)
}

func TestOutOfMemory(t *testing.T) {
	d := device(t)
	// 1 TiB: more than any storage block may hold and than any card has.
	_, err := d.NewBuffer(1 << 38)
	if err == nil {
		t.Fatal("allocating 1 TiB as one storage buffer succeeded; want an out-of-memory error")
	}
	if !errors.Is(err, ErrOutOfMemory) {
		t.Fatalf("error %v is not ErrOutOfMemory", err)
	}
	t.Log(err)
}

func TestMain(m *testing.M) {
	flag.Parse()
	if err := attnTilingFlags(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	os.Exit(code)
}

var sgemmN = flag.Int("sgemm.n", 0, "SGEMM benchmark size (0: 4096, or 256 on a software renderer)")

// TestConcurrentUse dispatches from several goroutines at once: every call
// is queued to the one GL thread, and each goroutine gets its own answers.
func TestConcurrentUse(t *testing.T) {
	d := device(t)
	const workers, rounds, n = 6, 10, 37
	errc := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			r := rand.New(rand.NewPCG(uint64(w), 99))
			for i := 0; i < rounds; i++ {
				x, y := randFloats(r, n), randFloats(r, n)
				a, err := d.Upload(x)
				if err != nil {
					errc <- err
					return
				}
				b, err := d.Upload(y)
				if err != nil {
					errc <- err
					return
				}
				if err := d.Mul(b, a, b); err != nil {
					errc <- err
					return
				}
				got, err := b.Download()
				if err != nil {
					errc <- err
					return
				}
				for j := range got {
					if got[j] != x[j]*y[j] {
						errc <- fmt.Errorf("worker %d round %d: element %d is %v, want %v", w, i, j, got[j], x[j]*y[j])
						return
					}
				}
				a.Release()
				b.Release()
			}
			errc <- nil
		}(w)
	}
	for w := 0; w < workers; w++ {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}

// TestOpenClose makes a second context beside the shared one, uses it and
// closes it; its buffers are freed with it.
func TestOpenClose(t *testing.T) {
	device(t)
	d2, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	b, err := d2.Upload([]float32{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.Scale(b, b, 2, 1); err != nil {
		t.Fatal(err)
	}
	compare(t, "second context", download(t, b), []float64{3, 5, 7}, nil, 0)
	if s := d2.Stats(); s.Buffers != 1 || s.Programs != 1 {
		t.Errorf("Stats %+v, want 1 buffer and 1 program", s)
	}
	d2.Close()
	d2.Close()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("using a closed device did not panic")
			}
		}()
		d2.Finish()
	}()
}

// TestMissingEGL runs this test binary again with the EGL library name
// pointed at a file that does not exist: the binary must start, and Open
// must fail with backend.ErrUnavailable saying what is missing.
func TestMissingEGL(t *testing.T) {
	if os.Getenv("FURIOUS_GPU_CHILD") == "1" {
		_, err := Open()
		fmt.Printf("open error: %v\n", err)
		return
	}
	if !Built {
		t.Skip("built without OpenGL: nothing is loaded")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestMissingEGL$", "-test.v")
	cmd.Env = append(os.Environ(), "FURIOUS_GPU_CHILD=1", "FURIOUS_EGL_LIBRARY=libfurious-no-such-egl.so.1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child failed: %v\n%s", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "open error: backend: unavailable") || !strings.Contains(s, "cannot load the EGL library") {
		t.Fatalf("child output does not report the missing library:\n%s", s)
	}
	t.Log(strings.TrimSpace(s[strings.Index(s, "open error"):strings.Index(s, "\n--- ")]))
}

// TestDispatchErrorNamesShader provokes a real GL error inside a dispatch
// (an int written to a float uniform: GL_INVALID_OPERATION) and expects a
// Go error naming the shader and the GL error.
func TestDispatchErrorNamesShader(t *testing.T) {
	d := device(t)
	p, err := d.program("uniform_type.comp", `#version 430
layout(local_size_x = 1) in;
layout(std430, binding = 0) buffer B { float o[]; };
uniform float x;
void main() { o[0] = x; }
`)
	if err != nil {
		t.Fatal(err)
	}
	b := upload(t, d, []float32{0})
	defer b.Release()
	// The dispatch is posted: its error is reported by the next call that
	// returns one (here a read), naming the shader, and only once.
	if err := d.run(p, [3]int{1, 1, 1}, []*Buffer{b}, iarg("x", 1)); err != nil {
		t.Fatalf("posting the dispatch: %v", err)
	}
	_, err = b.Download()
	var e *Error
	// (glGetError runs at the next check, not after each dispatch, unless
	// FURIOUS_GPU_CHECK=each: the error names the dispatches since then.)
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "uniform_type.comp") || !strings.Contains(err.Error(), "GL_INVALID_OPERATION") {
		t.Fatalf("dispatch error %v does not name the shader and the GL error", err)
	}
	t.Log(err)
	if err := d.Sync(); err != nil {
		t.Fatalf("the error was reported twice: %v", err)
	}
	// Sync reports it too.
	if err := d.run(p, [3]int{1, 1, 1}, []*Buffer{b}, iarg("x", 1)); err != nil {
		t.Fatalf("posting the dispatch: %v", err)
	}
	if err := d.Sync(); !errors.As(err, &e) || e.Shader != "uniform_type.comp" {
		t.Fatalf("Sync after a failed dispatch: %v", err)
	}
	// The context is still usable afterwards.
	if err := d.run(p, [3]int{1, 1, 1}, []*Buffer{b}, farg("x", 2.5)); err != nil {
		t.Fatal(err)
	}
	compare(t, "after the error", download(t, b), []float64{2.5}, nil, 0)
	// Too many work groups are refused before reaching the driver.
	err = d.run(p, [3]int{d.info.MaxGroups[0] + 1, 1, 1}, []*Buffer{b}, farg("x", 1))
	if !errors.As(err, &e) || e.Shader != "uniform_type.comp" {
		t.Fatalf("oversized dispatch: %v", err)
	}
}
