// Package readme checks that the README's Go example runs as written in a
// notebook session, and prints what it claims.
package readme

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/furious-lab/furious/dsl"
)

// apiBlock returns the first ```go block after the heading "The API in ten lines".
func apiBlock(t *testing.T) string {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "## The API in ten lines")
	if i < 0 {
		t.Fatal("README.md has no section \"The API in ten lines\"")
	}
	s = s[i:]
	start := strings.Index(s, "```go\n")
	end := strings.Index(s[start+6:], "```")
	if start < 0 || end < 0 {
		t.Fatal("no ```go block in the API section")
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
