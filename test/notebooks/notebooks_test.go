package notebooks

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cell is the part of an nbformat-4 cell the checks read.
type cell struct {
	CellType       string            `json:"cell_type"`
	ExecutionCount *int              `json:"execution_count"`
	Outputs        []json.RawMessage `json:"outputs"`
}

type output struct {
	OutputType string `json:"output_type"`
	EName      string `json:"ename"`
	EValue     string `json:"evalue"`
}

func readCells(t *testing.T, path string) []cell {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nb struct {
		Cells []cell `json:"cells"`
	}
	if err := json.Unmarshal(b, &nb); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return nb.Cells
}

// checkExecuted fails when a code cell of the notebook at path was not
// executed or has an error output; it returns the number of code cells.
func checkExecuted(t *testing.T, path string) int {
	t.Helper()
	n := 0
	for i, c := range readCells(t, path) {
		if c.CellType != "code" {
			continue
		}
		n++
		if c.ExecutionCount == nil {
			t.Errorf("%s: cell %d was not executed", filepath.Base(path), i+1)
		}
		for _, raw := range c.Outputs {
			var o output
			if err := json.Unmarshal(raw, &o); err != nil {
				t.Fatal(err)
			}
			if o.OutputType == "error" {
				t.Errorf("%s: cell %d: %s: %s", filepath.Base(path), i+1, o.EName, o.EValue)
			}
		}
	}
	return n
}

// TestCommittedOutputs: every notebook is committed executed, without errors,
// and shows at least one figure (so it reads on a code host).
func TestCommittedOutputs(t *testing.T) {
	for _, nb := range Notebooks(t) {
		if checkExecuted(t, nb) == 0 {
			t.Errorf("%s has no code cells", filepath.Base(nb))
		}
		b, _ := os.ReadFile(nb)
		if !strings.Contains(string(b), `"image/png"`) && !strings.Contains(string(b), `"image/svg+xml"`) {
			t.Errorf("%s: no figure in the committed outputs", filepath.Base(nb))
		}
	}
}

// TestFuriousRun re-executes every notebook with `furious run`.
func TestFuriousRun(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir := t.TempDir()
	bin := Build(t, dir)
	for _, nb := range Notebooks(t) {
		name := filepath.Base(nb)
		t.Run(strings.TrimSuffix(name, ".ipynb"), func(t *testing.T) {
			out := filepath.Join(dir, name)
			start := time.Now()
			cmd := exec.Command(bin, "run", "-q", nb, "-o", out)
			cmd.Dir = filepath.Dir(nb)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("furious run %s: %v\n%s", name, err, b)
			}
			t.Logf("%s: %.1fs", name, time.Since(start).Seconds())
			checkExecuted(t, out)
		})
	}
}

// TestNbconvert re-executes every notebook with jupyter nbconvert through the
// kernelspec installed by `furious install --prefix`.
func TestNbconvert(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if _, err := os.Stat(Python); err != nil {
		Missing(t, Python, "python3-nbclient jupyter-nbconvert")
	}
	if out, err := exec.Command(Python, "-c", "import nbclient, nbconvert, nbformat").CombinedOutput(); err != nil {
		Missing(t, "nbclient/nbconvert ("+strings.TrimSpace(string(out))+")", "python3-nbclient jupyter-nbconvert")
	}
	dir := t.TempDir()
	env := Env(t, Build(t, dir), dir)
	for _, nb := range Notebooks(t) {
		name := filepath.Base(nb)
		t.Run(strings.TrimSuffix(name, ".ipynb"), func(t *testing.T) {
			start := time.Now()
			cmd := exec.Command(Python, "-m", "nbconvert", "--to", "notebook", "--execute",
				"--ExecutePreprocessor.kernel_name=furious", "--ExecutePreprocessor.timeout=300",
				"--output-dir", dir, nb)
			cmd.Dir = filepath.Dir(nb)
			cmd.Env = env
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("nbconvert --execute %s: %v\n%s", name, err, b)
			}
			t.Logf("%s: %.1fs", name, time.Since(start).Seconds())
			checkExecuted(t, filepath.Join(dir, name))
		})
	}
}
