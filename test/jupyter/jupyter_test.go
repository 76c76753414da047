// Package jupyter drives the furious kernel through real Jupyter clients:
// jupyter_client, nbclient, nbconvert, jupyter console and the public
// jupyter_kernel_test conformance suite. The Python tests live beside this
// file; this Go test builds the binary, installs the kernelspec into a
// temporary prefix, points JUPYTER_PATH at it and runs them.
//
// The Debian packages python3-jupyter-client python3-nbclient
// jupyter-nbconvert jupyter-console python3-zmq are needed: without them the
// test skips, except under CI=true where it fails.
package jupyter

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const python = "/usr/bin/python3"

// missing skips (or under CI=true fails) with a message saying what to
// install.
func missing(t *testing.T, what string) {
	t.Helper()
	msg := what + " not available: install Debian's python3-jupyter-client python3-nbclient " +
		"jupyter-nbconvert jupyter-console python3-jsonschema python3-jupyter-kernel-test (scripts/deps.sh test)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// setup builds furious, installs its kernelspec in a temporary prefix and
// returns the environment for the Python tests.
func setup(t *testing.T) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the Jupyter client tests")
	}
	if _, err := os.Stat(python); err != nil {
		missing(t, python)
	}
	if out, err := exec.Command(python, "-c", "import jupyter_client, nbclient, nbformat, zmq").CombinedOutput(); err != nil {
		missing(t, "jupyter_client/nbclient ("+strings.TrimSpace(string(out))+")")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "furious")
	build := exec.Command("go", "build", "-o", bin, "github.com/furious-lab/furious/cmd/furious")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	prefix := filepath.Join(dir, "prefix")
	if out, err := exec.Command(bin, "install", "--prefix", prefix).CombinedOutput(); err != nil {
		t.Fatalf("furious install: %v\n%s", err, out)
	}
	return append(os.Environ(),
		"JUPYTER_PATH="+filepath.Join(prefix, "share", "jupyter"),
		"JUPYTER_DATA_DIR="+filepath.Join(dir, "data"),
		"JUPYTER_RUNTIME_DIR="+filepath.Join(dir, "runtime"),
		"JUPYTER_CONFIG_DIR="+filepath.Join(dir, "config"),
		"IPYTHONDIR="+filepath.Join(dir, "ipython"),
		"PYTHONDONTWRITEBYTECODE=1",
	)
}

func runPython(t *testing.T, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command(python, append([]string{"-m", "unittest", "-v"}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("python %s: %v", strings.Join(args, " "), err)
	}
	if strings.Contains(string(out), "skipped") && os.Getenv("CI") == "true" {
		t.Fatalf("python tests skipped under CI=true")
	}
}

func TestJupyterClients(t *testing.T) {
	env := setup(t)
	if out := os.Getenv("FURIOUS_BENCH_OUT"); out == "" {
		env = append(env, "FURIOUS_BENCH_OUT="+filepath.Join(t.TempDir(), "bench.json"))
	}
	t.Run("jupyter_client", func(t *testing.T) { runPython(t, env, "test_clients.py") })
	t.Run("notebooks", func(t *testing.T) {
		if _, err := exec.LookPath("jupyter-nbconvert"); err != nil {
			missing(t, "jupyter-nbconvert")
		}
		if _, err := exec.LookPath("jupyter-console"); err != nil {
			missing(t, "jupyter-console")
		}
		runPython(t, env, "test_notebooks.py")
	})
}

// TestRobustness runs test_robustness.py: every failure of issue 13, each
// followed by checks that the connection is alive and the state intact (or,
// where the interpreter died, that the notebook is told it was lost).
func TestRobustness(t *testing.T) {
	env := setup(t)
	runPython(t, env, "test_robustness.py")
}

// TestConformance runs jupyter/jupyter_kernel_test, Debian's
// python3-jupyter-kernel-test (or a copy on JUPYTER_KERNEL_TEST_DIR). It
// skips without it, except under CI=true where it fails.
func TestConformance(t *testing.T) {
	env := setup(t)
	if dir := os.Getenv("JUPYTER_KERNEL_TEST_DIR"); dir != "" {
		env = append(env, "PYTHONPATH="+dir)
	}
	probe := exec.Command(python, "-c", "import jupyter_kernel_test")
	probe.Env = env
	if out, err := probe.CombinedOutput(); err != nil {
		missing(t, "jupyter_kernel_test (Debian's python3-jupyter-kernel-test: "+strings.TrimSpace(string(out))+")")
	}
	runPython(t, env, "test_kernel_conformance.py")
}
