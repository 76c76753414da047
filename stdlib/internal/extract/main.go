// Command extract writes yaegi symbol tables for Go packages into a
// directory, one file per package named gen_<path>.go and headed DO NOT
// EDIT. It is `yaegi extract` (the github.com/traefik/yaegi/extract
// library) with two differences that suit this module: the file names start
// with gen_ and many packages are extracted in one process. Standard-library
// tables carry yaegi's `go1.N` build tag of the toolchain that made them;
// TestGeneratedUpToDate catches drift.
//
// Usage (from the stdlib directory, through go:generate):
//
//	go run ./internal/extract [-o DIR] PKG...
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"strings"

	"github.com/traefik/yaegi/extract"
)

func main() {
	out := flag.String("o", ".", "output directory")
	pkgName := flag.String("pkg", "stdlib", "package name of the generated files")
	flag.Parse()
	failed := false
	for _, p := range flag.Args() {
		if err := one(*out, *pkgName, p); err != nil {
			fmt.Fprintf(os.Stderr, "extract %s: %v\n", p, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// FileName is the generated file's name for an import path.
func FileName(importPath string) string {
	r := strings.NewReplacer("/", "_", ".", "_", "-", "_", "~", "_")
	return "gen_" + r.Replace(importPath) + ".go"
}

func one(dir, pkgName, importPath string) error {
	e := extract.Extractor{Dest: pkgName}
	var buf bytes.Buffer
	if _, err := e.Extract(importPath, importPath, &buf); err != nil {
		return err
	}
	src, err := format.Source(buf.Bytes())
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, FileName(importPath)), src, 0o644)
}
