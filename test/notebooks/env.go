// Package notebooks re-executes every notebook in notebooks/ twice, with
// `furious run` and with `jupyter nbconvert --execute` through the kernelspec
// installed by `furious install --prefix`, and fails on any cell error. It
// also checks that each committed notebook carries its outputs.
//
// The helpers in this file (Env, Missing) are shared with test/browser: they
// build furious into a temporary directory, install its kernelspec there and
// return an environment whose JUPYTER_PATH points at it, with every other
// Jupyter directory private to the test.
//
// Without Debian's python3-nbclient jupyter-nbconvert (and, for the browser
// test, jupyter-notebook chromium) the tests skip, except under CI=true where
// they fail.
package notebooks

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Python is the Debian interpreter that has the Jupyter packages.
const Python = "/usr/bin/python3"

// Missing skips the test, or fails it under CI=true, naming what to install.
func Missing(t testing.TB, what, packages string) {
	t.Helper()
	msg := what + " not available: apt-get install -y " + packages + " (see .ci/run)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Root is the repository root (two levels above this file).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// Notebooks lists notebooks/*.ipynb in name order.
func Notebooks(t testing.TB) []string {
	t.Helper()
	nbs, err := filepath.Glob(filepath.Join(Root(), "notebooks", "*.ipynb"))
	if err != nil || len(nbs) == 0 {
		t.Fatalf("no notebooks in %s (%v)", filepath.Join(Root(), "notebooks"), err)
	}
	return nbs
}

// Build compiles furious into dir and returns the binary's path.
func Build(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "furious")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/furious")
	cmd.Dir = Root()
	if tags := os.Getenv("TAGS"); tags != "" {
		cmd.Args = []string{"go", "build", "-tags", tags, "-o", bin, "./cmd/furious"}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Env installs bin's kernelspec under dir/prefix and returns the process
// environment that makes Jupyter find it (and nothing of the user's).
func Env(t testing.TB, bin, dir string) []string {
	t.Helper()
	prefix := filepath.Join(dir, "prefix")
	if out, err := exec.Command(bin, "install", "--prefix", prefix).CombinedOutput(); err != nil {
		t.Fatalf("furious install --prefix: %v\n%s", err, out)
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
