package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// furious builds the binary once per test binary run.
func furious(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "furious")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func makeNotebook(t *testing.T, path string, cells ...string) {
	t.Helper()
	var cs []map[string]any
	for _, c := range cells {
		cs = append(cs, map[string]any{"cell_type": "code", "metadata": map[string]any{}, "source": c,
			"outputs": []any{}, "execution_count": nil})
	}
	b, _ := json.Marshal(newNotebook(cs))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCommands(t *testing.T) {
	bin := furious(t)
	dir := t.TempDir()

	t.Run("version", func(t *testing.T) {
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "cpu:") || !strings.Contains(string(out), "gpu:") {
			t.Fatalf("version: %v\n%s", err, out)
		}
	})

	t.Run("install --user", func(t *testing.T) {
		// As the README says: the kernelspec lands in Jupyter's per-user data dir.
		home := filepath.Join(dir, "home")
		cmd := exec.Command(bin, "install", "--user")
		cmd.Env = append(os.Environ(), "HOME="+home, "XDG_DATA_HOME=", "JUPYTER_DATA_DIR=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if _, err := os.Stat(filepath.Join(home, ".local", "share", "jupyter", "kernels", "furious", "kernel.json")); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("install", func(t *testing.T) {
		prefix := filepath.Join(dir, "prefix")
		if out, err := exec.Command(bin, "install", "--prefix", prefix).CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		kd := filepath.Join(prefix, "share", "jupyter", "kernels", "furious")
		b, err := os.ReadFile(filepath.Join(kd, "kernel.json"))
		if err != nil {
			t.Fatal(err)
		}
		var spec kernelspec
		if err := json.Unmarshal(b, &spec); err != nil {
			t.Fatal(err)
		}
		if !filepath.IsAbs(spec.Argv[0]) || spec.Argv[1] != "kernel" || spec.Argv[2] != "{connection_file}" ||
			spec.DisplayName != "Go (furious)" || spec.Language != "go" || spec.InterruptMode == "" {
			t.Errorf("kernelspec %+v", spec)
		}
		for _, logo := range []string{"logo-32x32.png", "logo-64x64.png"} {
			if b, err := os.ReadFile(filepath.Join(kd, logo)); err != nil || string(b[1:4]) != "PNG" {
				t.Errorf("%s: %v", logo, err)
			}
		}
	})

	t.Run("run notebook", func(t *testing.T) {
		in, out := filepath.Join(dir, "a.ipynb"), filepath.Join(dir, "a_out.ipynb")
		makeNotebook(t, in, "x := 20\nfmt.Println(\"x is\", x)", "x * 2", "display.Show(display.HTML(\"<p>hi</p>\"))")
		if b, err := exec.Command(bin, "run", in, "-o", out).CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var nb struct {
			Cells []struct {
				ExecutionCount int              `json:"execution_count"`
				Outputs        []map[string]any `json:"outputs"`
			}
		}
		if err := json.Unmarshal(b, &nb); err != nil {
			t.Fatal(err)
		}
		if got := nb.Cells[0].Outputs[0]["text"]; got != "x is 20\n" {
			t.Errorf("cell 1 stream %q", got)
		}
		if got := nb.Cells[1].Outputs[0]["data"].(map[string]any)["text/plain"]; got != "40" || nb.Cells[1].ExecutionCount != 2 {
			t.Errorf("cell 2 result %v count %d", got, nb.Cells[1].ExecutionCount)
		}
		if got := nb.Cells[2].Outputs[0]["output_type"]; got != "display_data" {
			t.Errorf("cell 3 output %v", got)
		}
	})

	t.Run("run failing notebook", func(t *testing.T) {
		in := filepath.Join(dir, "bad.ipynb")
		makeNotebook(t, in, "y := 1", "y + nope", "y")
		b, err := exec.Command(bin, "run", "-q", in).CombinedOutput()
		if err == nil {
			t.Fatalf("no error exit:\n%s", b)
		}
		if !strings.Contains(string(b), "cell 2") || !strings.Contains(string(b), "undefined: nope") {
			t.Errorf("message does not name the cell and the error:\n%s", b)
		}
	})

	t.Run("run never overwrites its input", func(t *testing.T) {
		in := filepath.Join(dir, "keep.ipynb")
		makeNotebook(t, in, "1 + 2")
		before, _ := os.ReadFile(in)
		if b, err := exec.Command(bin, "run", "-q", in).CombinedOutput(); err != nil {
			t.Fatalf("run: %v\n%s", err, b)
		}
		if after, _ := os.ReadFile(in); string(after) != string(before) {
			t.Error("furious run changed its input notebook")
		}
		out, err := os.ReadFile(filepath.Join(dir, "keep.nbconvert.ipynb"))
		if err != nil || !strings.Contains(string(out), `"3"`) {
			t.Errorf("keep.nbconvert.ipynb: %v\n%s", err, out)
		}
		if b, err := exec.Command(bin, "run", "-q", "--inplace", in).CombinedOutput(); err != nil {
			t.Fatalf("run --inplace: %v\n%s", err, b)
		}
		if after, _ := os.ReadFile(in); !strings.Contains(string(after), `"3"`) {
			t.Errorf("--inplace did not write the outputs into the input:\n%s", after)
		}
	})

	t.Run("every command answers --help", func(t *testing.T) {
		for _, c := range []string{"install", "kernel", "repl", "run", "bench", "export", "version"} {
			b, err := exec.Command(bin, c, "--help").CombinedOutput()
			if err != nil || !strings.HasPrefix(string(b), "usage: furious "+c) {
				t.Errorf("furious %s --help: %v\n%s", c, err, b)
			}
		}
	})

	t.Run("export", func(t *testing.T) {
		// A preset with axes changed, written as PyTorch; an existing
		// non-empty directory is refused unless --force.
		out := filepath.Join(dir, "torch")
		b, err := exec.Command(bin, "export", "--preset", "mamba2", "--order", "3", "--mask", "forget", "--d-model", "16", out).CombinedOutput()
		if err != nil || !strings.Contains(string(b), "order 3") || !strings.Contains(string(b), "mask forget") || !strings.Contains(string(b), "torchrun") {
			t.Fatalf("export: %v\n%s", err, b)
		}
		for _, f := range []string{"model.py", "model.safetensors", "train.py"} {
			if _, err := os.Stat(filepath.Join(out, f)); err != nil {
				t.Error(err)
			}
		}
		if b, err := exec.Command(bin, "export", out).CombinedOutput(); err == nil || !strings.Contains(string(b), "--force") {
			t.Errorf("export into a non-empty directory: %v\n%s", err, b)
		}
		if b, err := exec.Command(bin, "export", "--force", "--preset", "softmax", "--d-model", "16", out).CombinedOutput(); err != nil {
			t.Errorf("export --force: %v\n%s", err, b)
		}
		if b, err := exec.Command(bin, "export", "--mask", "custom", filepath.Join(dir, "torch2")).CombinedOutput(); err == nil || !strings.Contains(string(b), "custom") {
			t.Errorf("export --mask custom: %v\n%s", err, b)
		}
		// --weights: another seed, the first export's weights read back: the same file.
		w := filepath.Join(out, "model.safetensors")
		again := filepath.Join(dir, "torch3")
		if b, err := exec.Command(bin, "export", "--preset", "softmax", "--d-model", "16", "--seed", "5", "--weights", w, again).CombinedOutput(); err != nil {
			t.Fatalf("export --weights: %v\n%s", err, b)
		}
		first, _ := os.ReadFile(w)
		second, _ := os.ReadFile(filepath.Join(again, "model.safetensors"))
		if len(first) == 0 || string(first) != string(second) {
			t.Errorf("export --weights %s did not carry the weights over", w)
		}
	})

	t.Run("run go file", func(t *testing.T) {
		in := filepath.Join(dir, "hello.go")
		os.WriteFile(in, []byte("package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hello\")\n}\n"), 0o644)
		b, err := exec.Command(bin, "run", in).CombinedOutput()
		if err != nil || string(b) != "hello\n" {
			t.Errorf("run hello.go: %v %q", err, b)
		}
	})

	t.Run("repl piped", func(t *testing.T) {
		cmd := exec.Command(bin, "repl")
		cmd.Stdin = strings.NewReader("func sq(v int) int {\n\treturn v * v\n}\nsq(7)\nstrings.ToLower?\n")
		b, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(b), "\n49\n") || !strings.Contains(string(b), "func ToLower(s string) string") {
			t.Errorf("repl: %v\n%s", err, b)
		}
	})
}
