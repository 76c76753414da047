package stdlib

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// generatePackages reads the import paths of the go:generate lines of
// stdlib.go.
func generatePackages(t *testing.T) []string {
	src, err := os.ReadFile("stdlib.go")
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	for _, m := range regexp.MustCompile(`(?m)^//go:generate go run \./internal/extract (.*)$`).FindAllSubmatch(src, -1) {
		pkgs = append(pkgs, strings.Fields(string(m[1]))...)
	}
	if len(pkgs) == 0 {
		t.Fatal("no go:generate lines found in stdlib.go")
	}
	return pkgs
}

// TestGeneratedUpToDate regenerates the symbol tables into a temporary
// directory and compares them with the committed gen_*.go files. With
// -short only this module's packages are checked (they change most often).
func TestGeneratedUpToDate(t *testing.T) {
	pkgs := generatePackages(t)
	if testing.Short() {
		var ours []string
		for _, p := range pkgs {
			if strings.HasPrefix(p, ModulePath+"/") {
				ours = append(ours, p)
			}
		}
		pkgs = ours
	}
	dir := t.TempDir()
	cmd := exec.Command("go", append([]string{"run", "./internal/extract", "-o", dir}, pkgs...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("regenerating: %v\n%s", err, out)
	}
	want := map[string]bool{}
	for _, p := range pkgs {
		name := fileName(p)
		want[name] = true
		fresh, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		old, err := os.ReadFile(name)
		if err != nil {
			t.Errorf("%s is missing: run go generate ./stdlib", name)
			continue
		}
		if !bytes.Equal(fresh, old) {
			t.Errorf("%s is stale: run go generate ./stdlib", name)
		}
	}
	if !testing.Short() {
		got, _ := filepath.Glob("gen_*.go")
		for _, g := range got {
			if !want[g] {
				t.Errorf("%s matches no go:generate package: delete it", g)
			}
		}
	}
}

// fileName mirrors internal/extract's naming.
func fileName(importPath string) string {
	r := strings.NewReplacer("/", "_", ".", "_", "-", "_", "~", "_")
	return "gen_" + r.Replace(importPath) + ".go"
}

func TestSymbolsCoverGo126AndPreimports(t *testing.T) {
	if _, ok := Symbols["strings/strings"]["Lines"]; !ok {
		t.Error("strings.Lines (Go 1.24) missing: tables older than the toolchain")
	}
	if _, ok := Symbols["gonum.org/v1/gonum/mat/mat"]["NewDense"]; !ok {
		t.Error("gonum mat missing")
	}
	found := map[string]bool{}
	for _, p := range Preimported() {
		found[p[0]] = true
	}
	for _, p := range []string{ModulePath + "/tensor", ModulePath + "/display"} {
		if !found[p] {
			t.Errorf("%s is not pre-imported", p)
		}
	}
}
