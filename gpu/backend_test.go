package gpu

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/backend/backendtest"
	"github.com/furious-lab/furious/tensor"
)

// TestBackendConformance runs the backends' common conformance suite
// against the registered gpu backend (on a software renderer too).
func TestBackendConformance(t *testing.T) {
	device(t)
	t.Setenv("FURIOUS_GPU_SOFTWARE", "1")
	backendtest.RunAll(t, Backend{})
}

// TestSoftwareUnavailable checks that a software renderer is not offered
// to tensor's "auto" choice unless FURIOUS_GPU_SOFTWARE=1.
func TestSoftwareUnavailable(t *testing.T) {
	d := device(t)
	t.Setenv("FURIOUS_GPU_SOFTWARE", "")
	err := Backend{}.Available()
	if d.Software() {
		if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "software renderer") {
			t.Fatalf("Available on %s = %v, want ErrUnavailable naming the software renderer", d.Renderer(), err)
		}
	} else if err != nil {
		t.Fatalf("Available on %s: %v", d.Renderer(), err)
	}
}

// TestTensorOnGPU selects the gpu backend through tensor.SetDevice and
// checks that tensor.MatMul, tensor.Exp and tensor.Sqrt on host tensors run
// there (their programs are compiled) and agree with the CPU, with no
// fallback notice. (The notice itself is tested with a fake backend in
// package tensor, and for resident tensors in TestResidentFallback.)
func TestTensorOnGPU(t *testing.T) {
	device(t)
	t.Setenv("FURIOUS_GPU_SOFTWARE", "1")
	var notices bytes.Buffer
	old := tensor.SetNoticeWriter(&notices)
	defer tensor.SetNoticeWriter(old)
	a, b := tensor.NewRNG(1).Randn(3, 37, 19), tensor.NewRNG(2).Randn(3, 19, 23)
	x := tensor.NewRNG(3).Randn(5, 7)
	if err := tensor.SetDevice("cpu"); err != nil {
		t.Fatal(err)
	}
	wantMM, wantExp, wantSqrt := tensor.MatMul(a, b), tensor.Exp(x), tensor.Sqrt(tensor.Exp(x))
	if err := tensor.SetDevice("gpu"); err != nil {
		t.Fatal(err)
	}
	defer tensor.SetDevice("cpu")
	if !strings.HasPrefix(tensor.Device(), "gpu: ") {
		t.Fatalf("tensor.Device() = %q after SetDevice(\"gpu\")", tensor.Device())
	}
	d, _ := Default()
	before := d.Stats().ProgramNames
	closeTo(t, "MatMul", tensor.MatMul(a, b).Float32s(), wantMM.Float32s(), 1e-4)
	if after := d.Stats().ProgramNames; !hasPrefix(after, "matmul.comp") {
		t.Fatalf("tensor.MatMul on the gpu compiled no matmul program: %v (before %v)", after, before)
	}
	closeTo(t, "Exp", tensor.Exp(x).Float32s(), wantExp.Float32s(), 1e-5)
	closeTo(t, "Sqrt", tensor.Sqrt(tensor.Exp(x)).Float32s(), wantSqrt.Float32s(), 1e-5)
	if after := d.Stats().ProgramNames; !hasPrefix(after, "unary.comp") {
		t.Fatalf("tensor.Sqrt on the gpu compiled no unary program: %v", after)
	}
	if notices.Len() != 0 {
		t.Fatalf("an operation fell back to the cpu: %q", notices.String())
	}
}

func closeTo(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst := 0.0
	for i := range want {
		e := math.Abs(float64(got[i])-float64(want[i])) / math.Max(math.Abs(float64(want[i])), 1)
		if !(e <= worst) {
			worst = e
		}
	}
	if !(worst <= tol) {
		t.Fatalf("%s: largest relative difference %.3g, tolerance %g", what, worst, tol)
	}
	t.Logf("%s: largest relative difference %.3g", what, worst)
}

func hasPrefix(names []string, prefix string) bool {
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}
