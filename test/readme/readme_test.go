// Package readme checks that the README's Go example runs as written in a
// notebook session, and prints what it claims.
package readme

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/furious-lab/furious/dsl"
	_ "github.com/furious-lab/furious/gpu" // registers the gpu backend, as the furious binary does
	"github.com/furious-lab/furious/tensor"
)

// apiBlock returns the first ```go block after the heading "The API in ten lines".
func apiBlock(t *testing.T) string { return goBlockAfter(t, "## The API in ten lines") }

// goBlockAfter returns the first ```go block after the heading.
func goBlockAfter(t *testing.T, heading string) string {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, heading)
	if i < 0 {
		t.Fatalf("README.md has no section %q", heading)
	}
	s = s[i:]
	start := strings.Index(s, "```go\n")
	end := strings.Index(s[start+6:], "```")
	if start < 0 || end < 0 {
		t.Fatalf("no ```go block in the section %q", heading)
	}
	return s[start+6 : start+6+end]
}

func TestAPIBlockRunsInANotebookSession(t *testing.T) {
	code := apiBlock(t)
	if n := strings.Count(strings.TrimSpace(code), "\n") + 1; n > 10 {
		t.Errorf("the API block has %d lines, the heading promises ten", n)
	}
	var out, errb bytes.Buffer
	s, err := dsl.New(dsl.Options{Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Fatal(err)
	}
	res, ok, err := s.Eval(context.Background(), code)
	if err != nil {
		t.Fatalf("README API block: %v\nstderr: %s", err, errb.String())
	}
	if !ok || res.Data["text/html"] == nil {
		t.Fatalf("the block's last line should render as HTML, got ok=%v %v", ok, res.Data)
	}
	t.Logf("printed:\n%s", out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("printed %q", out.String())
	}
	// Line 1: "<max relative difference> <state bytes>", the difference about 1e-7.
	f := strings.Fields(lines[0])
	diff, err := strconv.ParseFloat(f[0], 64)
	if err != nil || diff > 1e-5 || diff <= 0 {
		t.Errorf("chunked float32 vs float64 oracle printed %q, want a small positive difference", lines[0])
	}
	if !strings.Contains(out.String(), "1057.75") {
		t.Errorf("the memory line does not show the crossover 1057.75:\n%s", out.String())
	}
}

// TestGPUBlockRunsInANotebookSession runs the README's resident-tensor
// example: on Mesa's llvmpipe in CI (FURIOUS_GPU_SOFTWARE=1), skipped only
// where no GPU backend can be made, saying why.
func TestGPUBlockRunsInANotebookSession(t *testing.T) {
	code := goBlockAfter(t, "### Tensors on the GPU")
	t.Setenv("FURIOUS_GPU_SOFTWARE", "1")
	if err := tensor.SetDevice("gpu"); err != nil {
		t.Skipf("no GPU backend here: %v", err)
	}
	tensor.SetDevice("auto")
	var out, errb bytes.Buffer
	s, err := dsl.New(dsl.Options{Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Eval(context.Background(), code); err != nil {
		t.Fatalf("README GPU block: %v\nstderr: %s", err, errb.String())
	}
	t.Logf("printed:\n%s", out.String())
	if !strings.HasPrefix(out.String(), "gpu gpu ") || strings.Contains(out.String(), "NaN") {
		t.Errorf("want y and the state on the gpu and finite values, printed:\n%s", out.String())
	}
}

// TestArrayBlockRunsInANotebookSession runs the README's NumPy-style block
// and checks what it prints against values worked out by hand: the argmax
// of each row of the masked scores lies on or below the diagonal, the last
// running sum of row [4 5 6 7] is 22, the shapes, and the last line's error
// names the conversion.
func TestArrayBlockRunsInANotebookSession(t *testing.T) {
	code := goBlockAfter(t, "### Arrays as in NumPy and PyTorch")
	var out, errb bytes.Buffer
	s, err := dsl.New(dsl.Options{Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Fatal(err)
	}
	res, ok, err := s.Eval(context.Background(), code)
	if err != nil {
		t.Fatalf("README array block: %v\nstderr: %s", err, errb.String())
	}
	t.Logf("printed:\n%s", out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "[0 ") || !strings.HasSuffix(lines[0], " 22 [2 2 4] [3 7]") || lines[1] != "[2 2] [2 3]" {
		t.Fatalf("printed %q", out.String())
	}
	var best [4]int
	if _, err := fmt.Sscanf(lines[0], "[%d %d %d %d]", &best[0], &best[1], &best[2], &best[3]); err != nil {
		t.Fatal(err)
	}
	for i, j := range best {
		if j > i {
			t.Fatalf("row %d's argmax %d is above the diagonal, where the scores are −∞", i, j)
		}
	}
	if txt, _ := res.Data["text/plain"].(string); !ok || !strings.Contains(txt, "b.As(tensor.Float32)") {
		t.Fatalf("the last line should show the dtype error naming the conversion, got %v %v", ok, res.Data)
	}
}
