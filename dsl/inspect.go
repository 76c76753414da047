package dsl

import (
	"fmt"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
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

// Inspect describes the name under the cursor (in code points), or when
// there is none (or nothing is known about it) the function whose call's
// parentheses hold the cursor, as Shift-Tab asks: for a package symbol
// pkg.Name its declaration and doc comment, for pkg.Var.Method or
// value.Method the method's, for a package its comment (all embedded in
// the binary by go generate, stdlib.Doc); for a variable of the session its
// type and value. found is false when there is nothing to say.
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
	if text, found = s.inspectChain(code[chainBefore(code, e):e]); found {
		return text, true
	}
	if open := enclosingCall(code, b); open > 0 {
		end := strings.TrimRight(code[:open], " \t")
		return s.inspectChain(end[chainBefore(end, len(end)):])
	}
	return "", false
}

// enclosingCall returns the offset of the unclosed "(" before b that
// follows a name (a call), or -1.
func enclosingCall(code string, b int) int {
	depth := 0
	for i := b - 1; i >= 0; i-- {
		switch code[i] {
		case ')', ']', '}':
			depth++
		case '[', '{':
			depth--
		case '(':
			if depth == 0 {
				before := strings.TrimRight(code[:i], " \t")
				if before != "" && (isIdentByte(before[len(before)-1])) {
					return i
				}
				continue
			}
			depth--
		}
		if depth < 0 {
			return -1
		}
	}
	return -1
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// inspectChain describes a selector chain a.b.c.
func (s *Session) inspectChain(sel string) (string, bool) {
	chain := strings.Split(sel, ".")
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
		head := fmt.Sprintf("package %s // import %q", defaultName(path), path)
		if d, ok := stdlib.Doc(path, ""); ok && d != "" {
			return head + "\n\n" + d, true
		}
		return head, true
	case isPkg:
		return s.symbolDoc(path, chain[1:])
	case !defined && len(chain) == 1 && isBuiltin(chain[0]):
		return stdlib.Doc("builtin", chain[0])
	case defined:
		s.mu.Lock()
		v, err := s.in.Eval(strings.Join(chain, "."))
		var recv reflect.Value
		if len(chain) > 1 {
			recv, _ = s.in.Eval(strings.Join(chain[:len(chain)-1], "."))
		}
		s.mu.Unlock()
		if recv.IsValid() {
			if d, ok := memberDoc(recv.Type(), chain[len(chain)-1]); ok {
				return d, true
			}
		}
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

// symbolDoc documents path.rest[0] (a function, type, constant or
// variable), or a method or field of it: Type.Method, Var.Method, Var.Field.
func (s *Session) symbolDoc(path string, rest []string) (string, bool) {
	if len(rest) == 1 {
		return stdlib.Doc(path, rest[0])
	}
	if d, ok := stdlib.Doc(path, rest[0]+"."+rest[1]); ok && len(rest) == 2 {
		return d, true // Type.Method
	}
	// A package variable: the type of the value rest[:n-1] names.
	expr := path2name(s, path) + "." + strings.Join(rest[:len(rest)-1], ".")
	s.mu.Lock()
	v, err := s.in.Eval(expr)
	s.mu.Unlock()
	if err != nil || !v.IsValid() {
		return "", false
	}
	return memberDoc(v.Type(), rest[len(rest)-1])
}

// path2name is the name under which the session sees package path.
func path2name(s *Session, path string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, p := range s.imports {
		if p == path {
			return n
		}
	}
	return defaultName(path)
}

// memberDoc documents the method or field name of a value of type t: the
// method's embedded documentation when t is a compiled package's type,
// else its signature; a field's type.
func memberDoc(t reflect.Type, name string) (string, bool) {
	for _, tt := range []reflect.Type{t, reflect.PointerTo(t)} {
		m, ok := tt.MethodByName(name)
		if !ok {
			continue
		}
		base := tt
		for base.Kind() == reflect.Pointer {
			base = base.Elem()
		}
		if base.PkgPath() != "" && base.Name() != "" {
			if d, ok := stdlib.Doc(base.PkgPath(), base.Name()+"."+name); ok {
				return d, true
			}
		}
		return fmt.Sprintf("method %s of %s: %s", name, t, m.Type), true
	}
	st := t
	for st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if st.Kind() == reflect.Struct {
		if f, ok := st.FieldByName(name); ok {
			return fmt.Sprintf("field %s of %s: %s", name, st, f.Type), true
		}
	}
	return "", false
}
