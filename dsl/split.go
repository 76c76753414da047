package dsl

import (
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"strconv"
	"strings"
)

// Kind classifies a top-level piece of a cell.
type Kind int

const (
	Import Kind = iota // import "fmt" / import ( ... )
	Decl               // func, method or type declaration (hoisted)
	Stmt               // statements, var and const (run in order)
)

// Item is one top-level piece of a cell, as byte offsets into the cell.
type Item struct {
	Kind       Kind
	Start, End int
	Line       int // 1-based line of Start
}

// Split cuts a cell into top-level items at semicolons (explicit or
// automatic) outside brackets. It fails only on a scanning error (an
// unterminated string or comment), reported as cell line:column.
func Split(src string) ([]Item, error) {
	fset := token.NewFileSet()
	file := fset.AddFile("cell", -1, len(src))
	var errs scanner.ErrorList
	var s scanner.Scanner
	s.Init(file, []byte(src), func(pos token.Position, msg string) { errs.Add(pos, msg) }, 0)

	type tok struct {
		t   token.Token
		pos int
		end int
	}
	var items []Item
	var cur []tok
	depth := 0
	header := false // inside the header of if/for/switch, whose ';' do not split
	flush := func() {
		if len(cur) == 0 {
			return
		}
		it := Item{Start: cur[0].pos, End: cur[len(cur)-1].end, Line: file.Line(file.Pos(cur[0].pos))}
		it.Kind = classify(cur[0].t, src[it.Start:it.End])
		items = append(items, it)
		cur = cur[:0]
	}
	for {
		pos, t, lit := s.Scan()
		if t == token.EOF {
			break
		}
		off := file.Offset(pos)
		switch t {
		case token.IF, token.FOR, token.SWITCH:
			if depth == 0 {
				header = true
			}
		}
		if t == token.LBRACE && depth == 0 {
			header = false
		}
		switch t {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			depth--
		}
		if t == token.SEMICOLON && depth <= 0 && !(header && lit == ";") {
			flush()
			continue
		}
		n := len(lit)
		if n == 0 {
			n = len(t.String())
		}
		// Illegal input can make the token's text differ from the source.
		cur = append(cur, tok{t, off, min(off+n, len(src))})
	}
	flush()
	if errs.Len() > 0 {
		return nil, errs
	}
	return items, nil
}

func classify(first token.Token, text string) Kind {
	switch first {
	case token.IMPORT:
		return Import
	case token.TYPE:
		return Decl
	case token.FUNC:
		// A declaration, not a function literal called as a statement.
		if _, err := parser.ParseFile(token.NewFileSet(), "", "package p;"+text, 0); err == nil {
			return Decl
		}
	}
	return Stmt
}

// blank returns src with every byte outside the kept items replaced by a
// space (newlines stay), so positions inside the result match the cell. A
// ';' between two kept items ("x := 1; x++" on one line) stays, so that
// they remain separate statements.
func blank(src string, items []Item, keep func(Item) bool) (string, bool) {
	b := []byte(src)
	for i := range b {
		if b[i] != '\n' {
			b[i] = ' '
		}
	}
	any := false
	for k, it := range items {
		if !keep(it) {
			continue
		}
		copy(b[it.Start:it.End], src[it.Start:it.End])
		any = true
		if k+1 < len(items) && keep(items[k+1]) {
			if j := strings.IndexByte(src[it.End:items[k+1].Start], ';'); j >= 0 {
				b[it.End+j] = ';'
			}
		}
	}
	return string(b), any
}

// importSpec is one imported package: its name in the cell and its path.
type importSpec struct{ name, path string }

// parseImports returns the specs of an import item.
func parseImports(text string) ([]importSpec, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p;"+text, parser.ImportsOnly)
	if err != nil {
		return nil, err
	}
	var out []importSpec
	for _, s := range f.Imports {
		p, _ := strconv.Unquote(s.Path.Value)
		name := ""
		if s.Name != nil {
			name = s.Name.Name
		}
		out = append(out, importSpec{name, p})
	}
	return out, nil
}

// typeNames returns the type names a declaration item defines.
func typeNames(text string) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p;"+text, 0)
	if err != nil {
		return nil
	}
	var out []string
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
			for _, s := range g.Specs {
				out = append(out, s.(*ast.TypeSpec).Name.Name)
			}
		}
	}
	return out
}

// trailingExpr reports whether a statement item is a lone expression whose
// value should be shown, i.e. not a call of a fmt/log print function (their
// (n, err) is noise).
func trailingExpr(text string, printPkgs map[string]bool) bool {
	e, err := parser.ParseExpr(text)
	if err != nil {
		return false
	}
	if c, ok := e.(*ast.CallExpr); ok {
		if sel, ok := c.Fun.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && printPkgs[id.Name] &&
				(strings.HasPrefix(sel.Sel.Name, "Print") || strings.HasPrefix(sel.Sel.Name, "Fprint")) {
				return false
			}
		}
		if id, ok := c.Fun.(*ast.Ident); ok && (id.Name == "print" || id.Name == "println" || id.Name == "panic") {
			return false
		}
	}
	return true
}

// definedNames returns the names a top-level item defines: functions,
// types, var/const names and the left side of := .
func definedNames(text string) []string {
	var out []string
	if f, err := parser.ParseFile(token.NewFileSet(), "", "package p;"+text, 0); err == nil {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					out = append(out, d.Name.Name)
				}
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					switch sp := sp.(type) {
					case *ast.TypeSpec:
						out = append(out, sp.Name.Name)
					case *ast.ValueSpec:
						for _, n := range sp.Names {
							out = append(out, n.Name)
						}
					}
				}
			}
		}
		return out
	}
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p; func _() {\n"+text+"\n}", 0)
	if err != nil || len(f.Decls) == 0 {
		return nil
	}
	for _, st := range f.Decls[0].(*ast.FuncDecl).Body.List {
		switch st := st.(type) {
		case *ast.AssignStmt:
			if st.Tok == token.DEFINE {
				for _, l := range st.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						out = append(out, id.Name)
					}
				}
			}
		case *ast.DeclStmt:
			if g, ok := st.Decl.(*ast.GenDecl); ok {
				for _, sp := range g.Specs {
					if vs, ok := sp.(*ast.ValueSpec); ok {
						for _, n := range vs.Names {
							out = append(out, n.Name)
						}
					}
				}
			}
		}
	}
	return out
}

// selectorBases returns the identifiers x of the selectors x.Name in src
// (outside strings and comments), in order of first appearance.
func selectorBases(src string) []string {
	fset := token.NewFileSet()
	file := fset.AddFile("cell", -1, len(src))
	var s scanner.Scanner
	s.Init(file, []byte(src), func(token.Position, string) {}, 0)
	var out []string
	seen := map[string]bool{}
	prev, prevLit, prevPrev := token.ILLEGAL, "", token.ILLEGAL
	for {
		_, t, lit := s.Scan()
		if t == token.EOF {
			break
		}
		if t == token.IDENT && prev == token.PERIOD {
			// x.y.z: only the first identifier of a chain is a base.
		} else if t == token.PERIOD && prev == token.IDENT && prevPrev != token.PERIOD && !seen[prevLit] {
			seen[prevLit] = true
			out = append(out, prevLit)
		}
		prevPrev, prev, prevLit = prev, t, lit
	}
	return out
}

// methodsAndVarTypes returns, for one top-level item, the methods it
// declares (receiver type name → method names) and the variables whose
// type it shows plainly (v := T{...}, v := &T{...}, var v T), for
// completing the methods of values of interpreted types, which reflection
// cannot see.
func methodsAndVarTypes(text string) (methods map[string][]string, vars map[string]string) {
	methods, vars = map[string][]string{}, map[string]string{}
	typeName := func(e ast.Expr) string {
		if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
			e = u.X
		}
		if st, ok := e.(*ast.StarExpr); ok {
			e = st.X
		}
		if c, ok := e.(*ast.CompositeLit); ok {
			e = c.Type
		}
		if id, ok := e.(*ast.Ident); ok {
			return id.Name
		}
		return ""
	}
	if f, err := parser.ParseFile(token.NewFileSet(), "", "package p;"+text, 0); err == nil {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil && len(d.Recv.List) == 1 {
					if t := typeName(d.Recv.List[0].Type); t != "" {
						methods[t] = append(methods[t], d.Name.Name)
					}
				}
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					if vs, ok := sp.(*ast.ValueSpec); ok {
						for i, n := range vs.Names {
							if vs.Type != nil {
								vars[n.Name] = typeName(vs.Type)
							} else if i < len(vs.Values) {
								vars[n.Name] = typeName(vs.Values[i])
							}
						}
					}
				}
			}
		}
		return methods, vars
	}
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p; func _() {\n"+text+"\n}", 0)
	if err != nil || len(f.Decls) == 0 {
		return methods, vars
	}
	for _, st := range f.Decls[0].(*ast.FuncDecl).Body.List {
		if as, ok := st.(*ast.AssignStmt); ok && as.Tok == token.DEFINE && len(as.Lhs) == len(as.Rhs) {
			for i, l := range as.Lhs {
				if id, ok := l.(*ast.Ident); ok {
					if t := typeName(as.Rhs[i]); t != "" {
						vars[id.Name] = t
					}
				}
			}
		}
	}
	return methods, vars
}
