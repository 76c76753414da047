package dsl

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/printer"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/furious-lab/furious/stdlib"
)

// parses reports whether one top-level item is valid Go on its own.
func parses(text string, k Kind) bool {
	fset := token.NewFileSet()
	switch k {
	case Import, Decl:
		_, err := parser.ParseFile(fset, "", "package p;"+text, 0)
		return err == nil
	}
	_, err := parser.ParseFile(fset, "", "package p; func _() {\n"+text+"\n}", 0)
	return err == nil
}

// Inspect describes the name under the cursor (in code points): for a
// package symbol pkg.Name its declaration and doc comment, read from the
// package's source; for a package its doc; for a variable of the session
// its type and value. found is false when there is nothing to say.
func (s *Session) Inspect(code string, cursor int) (text string, found bool) {
	b := runeToByte(code, cursor)
	// Extend to the whole identifier around the cursor.
	e := b
	for e < len(code) {
		r, w := utf8.DecodeRuneInString(code[e:])
		if !isIdentRune(r) {
			break
		}
		e += w
	}
	st := chainBefore(code, e)
	chain := strings.Split(code[st:e], ".")
	if len(chain) == 0 || chain[0] == "" {
		return "", false
	}
	s.mu.Lock()
	path, isPkg := s.imports[chain[0]]
	defined := s.names[chain[0]]
	s.mu.Unlock()
	if !isPkg && !defined {
		path, isPkg = knownPackages()[chain[0]] // usable without an import line
	}
	switch {
	case isPkg && len(chain) == 1:
		if p := packageDoc(path); p != nil {
			return fmt.Sprintf("package %s // import %q\n\n%s", p.Name, path, p.Doc), true
		}
		return fmt.Sprintf("package %s // import %q", chain[0], path), true
	case isPkg:
		return symbolDoc(path, chain[1], chain[2:])
	case !defined && len(chain) == 1 && isBuiltin(chain[0]):
		return symbolDoc("builtin", chain[0], nil)
	case defined:
		s.mu.Lock()
		v, err := s.in.Eval(strings.Join(chain, "."))
		s.mu.Unlock()
		if err != nil || !v.IsValid() {
			return "", false
		}
		return fmt.Sprintf("%s: %s = %v", strings.Join(chain, "."), v.Type(), valueInterface(v)), true
	}
	return "", false
}

func isBuiltin(name string) bool {
	for _, b := range builtins {
		if b == name {
			return true
		}
	}
	return false
}

var docCache sync.Map // import path → *doc.Package (nil when no source)

// packageDoc parses the source of an imported package (from GOROOT, the
// module cache, or this module's tree) for its documentation.
func packageDoc(path string) *doc.Package {
	if p, ok := docCache.Load(path); ok {
		return p.(*doc.Package)
	}
	var pkg *doc.Package
	if dir := sourceDir(path); dir != "" {
		fset := token.NewFileSet()
		pkgs, err := parser.ParseDir(fset, dir, func(fi fs.FileInfo) bool {
			return !strings.HasSuffix(fi.Name(), "_test.go")
		}, parser.ParseComments)
		if err == nil {
			for name, p := range pkgs {
				if name == "main" || strings.HasSuffix(name, "_test") {
					continue
				}
				var files []*ast.File
				for _, f := range p.Files {
					files = append(files, f)
				}
				mode := doc.PreserveAST
				if path == "builtin" {
					mode |= doc.AllDecls // its functions are lower-case
				}
				if d, err := doc.NewFromFiles(fset, files, path, mode); err == nil {
					pkg = d
					docFsets.Store(path, fset)
				}
			}
		}
	}
	docCache.Store(path, pkg)
	return pkg
}

var docFsets sync.Map

// sourceDir finds the directory holding an import path's source.
func sourceDir(path string) string {
	if !strings.Contains(strings.Split(path, "/")[0], ".") {
		root := os.Getenv("GOROOT")
		if root == "" {
			if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
				root = strings.TrimSpace(string(out))
			}
		}
		if root == "" {
			root = runtime.GOROOT()
		}
		return existingDir(filepath.Join(root, "src", filepath.FromSlash(path)))
	}
	if rest, ok := strings.CutPrefix(path, stdlib.ModulePath); ok {
		if root := moduleRoot(); root != "" {
			return existingDir(filepath.Join(root, filepath.FromSlash(rest)))
		}
		return ""
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
			cache = strings.TrimSpace(string(out))
		}
	}
	for _, m := range bi.Deps {
		if path == m.Path || strings.HasPrefix(path, m.Path+"/") {
			return existingDir(filepath.Join(cache, escapeModule(m.Path)+"@"+m.Version, filepath.FromSlash(strings.TrimPrefix(path, m.Path))))
		}
	}
	return ""
}

func escapeModule(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func existingDir(d string) string {
	if fi, err := os.Stat(d); err == nil && fi.IsDir() {
		return d
	}
	return ""
}

// moduleRoot finds furious's source tree: FURIOUS_SRC, else the nearest
// go.mod of this module above the working directory or the executable.
func moduleRoot() string {
	if d := os.Getenv("FURIOUS_SRC"); d != "" {
		return d
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, d := range starts {
		for {
			if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil &&
				strings.HasPrefix(string(b), "module "+stdlib.ModulePath+"\n") {
				return d
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	return ""
}

// symbolDoc is the declaration and doc comment of path.name (or of the
// method name.rest[0] when rest names one).
func symbolDoc(path, name string, rest []string) (string, bool) {
	p := packageDoc(path)
	if p == nil {
		return "", false
	}
	fs, _ := docFsets.Load(path)
	fset, _ := fs.(*token.FileSet)
	show := func(decl ast.Node, docText string) (string, bool) {
		var buf bytes.Buffer
		if fn, ok := decl.(*ast.FuncDecl); ok {
			c := *fn
			c.Body = nil
			c.Doc = nil
			decl = &c
		}
		if g, ok := decl.(*ast.GenDecl); ok {
			c := *g
			c.Doc = nil
			decl = &c
		}
		_ = (&printer.Config{Mode: printer.UseSpaces, Tabwidth: 4}).Fprint(&buf, fset, decl)
		return strings.TrimSpace(buf.String()) + "\n\n" + docText, true
	}
	for _, f := range p.Funcs {
		if f.Name == name {
			return show(f.Decl, f.Doc)
		}
	}
	for _, t := range p.Types {
		for _, f := range t.Funcs {
			if f.Name == name {
				return show(f.Decl, f.Doc)
			}
		}
		if t.Name == name {
			if len(rest) > 0 {
				for _, m := range t.Methods {
					if m.Name == rest[0] {
						return show(m.Decl, m.Doc)
					}
				}
			}
			return show(t.Decl, t.Doc)
		}
		for _, v := range append(t.Consts, t.Vars...) {
			for _, n := range v.Names {
				if n == name {
					return show(v.Decl, v.Doc)
				}
			}
		}
	}
	for _, v := range append(p.Consts, p.Vars...) {
		for _, n := range v.Names {
			if n == name {
				return show(v.Decl, v.Doc)
			}
		}
	}
	return "", false
}
