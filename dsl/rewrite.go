package dsl

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"path"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/furious-lab/furious/stdlib"
)

// guardCell rewrites a cell so that the failures yaegi cannot hook become
// errors the session survives (see guard.go for the helpers it calls):
//
//   - a go statement's function gets a deferred guard: a panic in the
//     goroutine is printed and reported instead of ending the process.
//     `go f(a, b)` becomes `go func(_f func()) { guard; _f() }(func() func()
//     { _a0, _a1 := a, b; return func() { f(_a0, _a1) } }())`, so the
//     arguments (and a function that is not a name, such as fs[i]) are
//     still evaluated by the go statement (goStmt);
//   - a function literal passed to a package's function or a method (a
//     callback compiled code may call from its own goroutine, as
//     time.AfterFunc does) gets the same guard, which lets a panic on the
//     cell's own goroutine go on; a function of the session passed by name
//     there, or a variable of the session holding a function literal
//     (funcVars), is wrapped in a guarded literal of its signature (sigs);
//   - a function declared in the cell that can call itself (directly or
//     through the cell's other functions) calls Enter first, which fails
//     naming it when its goroutine's calls nest beyond the recursion limit;
//   - the sizes of make([]T, n[, c]) and make(map[K]V, n) are checked
//     against the memory limit, and so is the length append(s, t...) asks
//     for when s and t are names or selectors: s becomes
//     s[:len(s):Cap(s, t, ...)], the same slice once the check has passed;
//
// and to work around yaegi v0.16 defects (each has a test in
// rewrite_test.go that fails without its workaround):
//
//   - a compound statement at a cell's top level (if, for, switch, select,
//     a block) runs inside func() { ... }(): at top level yaegi mixes an
//     inner block's variables with the session's globals, so `x := "s"` in
//     a loop body assigns the outer x (a reflect.Set panic, and the outer
//     value lost), and `a, b := f()` in a block leaves b undefined;
//   - a parallel assignment `a, b = e1, e2` that mixes calls with other
//     expressions loses a value in yaegi: the non-constant right sides go
//     to fresh variables first (`_p0, _p1 := e1, e2; a = _p0; b = _p1`),
//     untyped constants are assigned last;
//   - a composite literal of a compiled struct type that sets an
//     interface field to a value of a type declared in a cell panics in
//     yaegi ("reflect.Set: value of type struct {…} is not assignable to
//     type palette.Palette"): `&plotter.HeatMap{GridXYZ: g, Palette: p}`
//     becomes `func() *plotter.HeatMap { _l0 := &plotter.HeatMap{};
//     _l0.GridXYZ = g; _l0.Palette = p; return _l0 }()`, since assigning
//     the field works. The fields are those a non-empty interface types
//     (ifaceFields, looked up in the compiled package's symbols); an
//     element value with a line comment, or a literal inside one being
//     moved, is left as it is;
//   - a loop whose function literals or go statements name its variables
//     gets a copy of them per iteration, as in Go since 1.22 (loopCopies);
//   - inside a for or range statement, a function literal passed to
//     compiled code, or any not called where it stands in a loop that has
//     a go statement, is made in a frame of its own (ownFrame), and
//     a go statement starts a function value kept in a variable first
//     (goStmt): there a goroutine or callback could otherwise run an
//     earlier iteration's closure, or a nil func that ends the process.
//
// Only text is inserted or replaced, and replaced line breaks are written
// again (keepLines), so positions keep their lines. An item that does not parse is left as it is (the
// interpreter reports the error).
//
// pkgPath resolves a package name of the session to its import path ("" if
// unknown; nil: none), for the names the cell does not import itself.
func guardCell(cell string, sigs map[string]*ast.FuncType, pkgPath func(name string) string) string {
	// Nothing to do without a block, a list, a go statement, make or
	// append (most short cells): skip the parse.
	if !strings.ContainsAny(cell, "{,") && !strings.Contains(cell, "go") &&
		!strings.Contains(cell, "make") && !strings.Contains(cell, "append") {
		return cell
	}
	items, err := Split(cell)
	if err != nil {
		return cell
	}
	var r rewriter
	r.src = cell
	r.sigs = sigs
	r.pkgs = map[string]string{}
	for _, it := range items {
		if it.Kind == Import {
			specs, _ := parseImports(cell[it.Start:it.End])
			for _, sp := range specs {
				name := sp.name
				if name == "" {
					name = defaultName(sp.path)
				}
				r.pkgs[name] = sp.path
			}
		}
	}
	r.pkgPath = pkgPath
	// Functions declared in the cell, and what they call, for recursion.
	calls := map[string]map[string]bool{}
	bodies := map[string][]*ast.BlockStmt{}
	for _, it := range items {
		if it.Kind == Import {
			continue
		}
		text := cell[it.Start:it.End]
		var root ast.Node
		base := it.Start
		if it.Kind == Decl {
			const pre = "package p;"
			f, err := parser.ParseFile(token.NewFileSet(), "", pre+text, parser.SkipObjectResolution)
			if err != nil {
				continue
			}
			root, base = f, it.Start-len(pre)-1 // token.Pos of a file starts at 1
			for _, d := range f.Decls {
				if sigs != nil {
					funcVarDecl(sigs, d)
				}
			}
		} else {
			const pre = "package p;func _(){"
			f, err := parser.ParseFile(token.NewFileSet(), "", pre+text+"\n}", parser.SkipObjectResolution)
			if err != nil {
				continue
			}
			root, base = f, it.Start-len(pre)-1
			r.base = base
			for _, st := range f.Decls[0].(*ast.FuncDecl).Body.List {
				if as, ok := st.(*ast.AssignStmt); ok && sigs != nil {
					funcVars(sigs, as.Lhs, as.Rhs, nil)
				}
				if ds, ok := st.(*ast.DeclStmt); ok && sigs != nil {
					funcVarDecl(sigs, ds.Decl)
				}
				switch st.(type) {
				case *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt, *ast.SwitchStmt, *ast.TypeSwitchStmt,
					*ast.SelectStmt, *ast.BlockStmt, *ast.LabeledStmt:
					r.insert(r.off(st.Pos()), "func() { ")
					r.edits = append(r.edits, edit{start: r.off(st.End()), end: r.off(st.End()), text: " }()"})
				}
			}
		}
		r.base = base
		r.walk(root)
		if f, ok := root.(*ast.File); ok && it.Kind == Decl {
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				name := fd.Name.Name
				if fd.Recv == nil && fd.Type.TypeParams == nil && sigs != nil {
					sigs[name] = fd.Type
				}
				if calls[name] == nil {
					calls[name] = map[string]bool{}
				}
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					if c, ok := n.(*ast.CallExpr); ok {
						switch fn := c.Fun.(type) {
						case *ast.Ident:
							calls[name][fn.Name] = true
						case *ast.SelectorExpr:
							calls[name][fn.Sel.Name] = true
						}
					}
					return true
				})
				bodies[name] = append(bodies[name], fd.Body)
				r.bodyBase[fd.Body] = base
			}
		}
	}
	for name, bs := range bodies {
		if !reaches(calls, name, name) {
			continue
		}
		for _, b := range bs {
			r.insert(r.bodyBase[b]+int(b.Lbrace)+1, fmt.Sprintf(" %s.Enter(%q);", guardName, name))
		}
	}
	return r.apply()
}

// funcVars records in sigs the function type of each session variable
// among names that a function literal (or, without values, typ) gives one,
// so that passing it to compiled code is guarded as a declared function is;
// a name given anything else is forgotten.
func funcVars(sigs map[string]*ast.FuncType, names []ast.Expr, values []ast.Expr, typ ast.Expr) {
	for i, n := range names {
		id, ok := n.(*ast.Ident)
		if !ok || id.Name == "_" {
			continue
		}
		var ft *ast.FuncType
		switch {
		case len(values) == len(names):
			if fl, ok := values[i].(*ast.FuncLit); ok {
				ft = fl.Type
			}
		case len(values) == 0:
			ft, _ = typ.(*ast.FuncType)
		}
		if ft != nil && ft.TypeParams == nil {
			sigs[id.Name] = ft
		} else {
			delete(sigs, id.Name)
		}
	}
}

// funcVarDecl is funcVars for the specs of a var declaration.
func funcVarDecl(sigs map[string]*ast.FuncType, d ast.Decl) {
	gd, ok := d.(*ast.GenDecl)
	if !ok || gd.Tok != token.VAR {
		return
	}
	for _, sp := range gd.Specs {
		if vs, ok := sp.(*ast.ValueSpec); ok {
			names := make([]ast.Expr, len(vs.Names))
			for i, n := range vs.Names {
				names[i] = n
			}
			funcVars(sigs, names, vs.Values, vs.Type)
		}
	}
}

// reaches reports whether from calls to, directly or through the functions
// in calls.
func reaches(calls map[string]map[string]bool, from, to string) bool {
	seen := map[string]bool{}
	var visit func(string) bool
	visit = func(f string) bool {
		for g := range calls[f] {
			if g == to {
				return true
			}
			if !seen[g] {
				seen[g] = true
				if visit(g) {
					return true
				}
			}
		}
		return false
	}
	return visit(from)
}

type edit struct {
	start, end int // cell offsets; start == end inserts
	text       string
	group      int // edits with the same group > 0 are applied all or none
}

type rewriter struct {
	sigs     map[string]*ast.FuncType // the session's functions, for wrapping
	pkgs     map[string]string        // package name → import path, imported by the cell
	pkgPath  func(string) string      // the session's package names (may be nil)
	moved    map[ast.Node]bool        // composite literals rewritten as &T{…} (ifaceLit)
	src      string
	base     int // cell offset of token.Pos 0 of the item being walked
	edits    []edit
	bodyBase map[*ast.BlockStmt]int
	n        int  // names made so far
	inLoop   bool // the node being walked is inside a for or range statement
}

func (r *rewriter) off(p token.Pos) int { return r.base + int(p) }
func (r *rewriter) insert(at int, text string) {
	r.edits = append(r.edits, edit{start: at, end: at, text: text})
}
func (r *rewriter) text(n ast.Node) string { return r.src[r.off(n.Pos()):r.off(n.End())] }

// where is "cell L:C" for a node.
func (r *rewriter) where(n ast.Node) string {
	o := r.off(n.Pos())
	line := strings.Count(r.src[:o], "\n") + 1
	col := o - strings.LastIndex(r.src[:o], "\n")
	return fmt.Sprintf("cell %d:%d", line, col)
}

func (r *rewriter) guardText(where string) string {
	return fmt.Sprintf(" defer func() { %s.Recovered(recover(), %s) }();", guardName, strconv.Quote(where))
}

func (r *rewriter) walk(root ast.Node) {
	if r.bodyBase == nil {
		r.bodyBase = map[*ast.BlockStmt]int{}
	}
	if r.moved == nil {
		r.moved = map[ast.Node]bool{}
	}
	guarded := map[*ast.FuncLit]bool{}
	called := map[*ast.FuncLit]bool{} // called where they stand, or started by go
	var loops []bool                  // the for and range statements around n: whether each holds a go statement
	goLoops := 0                      // how many of them do
	var stack []ast.Node
	ast.Inspect(root, func(n ast.Node) bool {
		if n == nil {
			switch stack[len(stack)-1].(type) {
			case *ast.ForStmt, *ast.RangeStmt:
				if loops[len(loops)-1] {
					goLoops--
				}
				loops = loops[:len(loops)-1]
			}
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		switch n.(type) {
		case *ast.ForStmt, *ast.RangeStmt:
			hasGo := false
			ast.Inspect(n, func(m ast.Node) bool {
				_, ok := m.(*ast.GoStmt)
				hasGo = hasGo || ok
				return !hasGo
			})
			if hasGo {
				goLoops++
			}
			loops = append(loops, hasGo)
		}
		r.inLoop = len(loops) > 0
		switch n := n.(type) {
		case *ast.UnaryExpr:
			if cl, ok := n.X.(*ast.CompositeLit); ok && n.Op == token.AND && r.ifaceLit(cl, n) {
				r.moved[cl] = true
			}
		case *ast.CompositeLit:
			if !r.moved[n] {
				r.ifaceLit(n, n)
			}
		case *ast.RangeStmt:
			if n.Tok == token.DEFINE {
				r.loopCopies(n.Body, false, n.Key, n.Value)
			}
		case *ast.ForStmt:
			if as, ok := n.Init.(*ast.AssignStmt); ok && as.Tok == token.DEFINE {
				r.loopCopies(n.Body, true, as.Lhs...)
			}
		case *ast.GoStmt:
			r.goStmt(n, guarded, called)
		case *ast.FuncLit:
			// A value that can run on another goroutine while the loop
			// evaluates the literal again: a callback of compiled code, or
			// any value in a loop that starts goroutines. The others (a
			// closure a loop makes and calls itself) keep their speed.
			if !called[n] && r.inLoop && (guarded[n] || goLoops > 0) {
				r.ownFrame(n)
			}
		case *ast.BlockStmt:
			r.assignments(n.List)
		case *ast.CaseClause:
			r.assignments(n.Body)
		case *ast.CommClause:
			r.assignments(n.Body)
		case *ast.CallExpr:
			if fl, ok := n.Fun.(*ast.FuncLit); ok {
				called[fl] = true
			}
			if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "make" {
				r.makeCall(n)
			}
			if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "append" {
				r.appendCall(n)
			}
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
				for _, a := range n.Args {
					if fl, ok := a.(*ast.FuncLit); ok && !guarded[fl] {
						guarded[fl] = true
						r.insert(r.off(fl.Body.Lbrace)+1, r.guardText(fmt.Sprintf(
							"the function literal at %s passed to %s", r.where(fl), r.text(sel))))
					}
					if id, ok := a.(*ast.Ident); ok && r.sigs[id.Name] != nil {
						r.edits = append(r.edits, edit{start: r.off(id.Pos()), end: r.off(id.End()), text: r.wrapFunc(id.Name,
							fmt.Sprintf("function %s passed to %s at %s", id.Name, r.text(sel), r.where(id)))})
					}
				}
			}
		}
		return true
	})
}

// wrapFunc is a guarded function literal calling the session's function
// name with its own parameters; in a loop, made in a frame of its own
// (ownFrame).
func (r *rewriter) wrapFunc(name, where string) string {
	ft := r.sigs[name]
	var params, args []string
	variadic := ""
	i := 0
	for _, f := range ft.Params.List {
		n := len(f.Names)
		if n == 0 {
			n = 1
		}
		for k := 0; k < n; k++ {
			p := fmt.Sprintf("_furious_w%d", i)
			i++
			t := exprText(f.Type)
			if strings.HasPrefix(t, "...") {
				variadic = "..."
			}
			params, args = append(params, p+" "+t), append(args, p)
		}
	}
	results, ret := "", ""
	if ft.Results != nil && len(ft.Results.List) > 0 {
		var rs []string
		for _, f := range ft.Results.List {
			n := len(f.Names)
			if n == 0 {
				n = 1
			}
			for k := 0; k < n; k++ {
				rs = append(rs, exprText(f.Type))
			}
		}
		results, ret = " ("+strings.Join(rs, ", ")+")", "return "
	}
	typ := "func(" + strings.Join(params, ", ") + ")" + results
	lit := typ + " {" + r.guardText(where) + " " + ret + name + "(" + strings.Join(args, ", ") + variadic + ") }"
	if !r.inLoop {
		return lit
	}
	return "(func() " + typ + " { return " + lit + " }())"
}

// exprText prints a type expression on one line.
func exprText(e ast.Expr) string {
	var b strings.Builder
	_ = printer.Fprint(&b, token.NewFileSet(), e)
	return strings.Join(strings.Fields(b.String()), " ")
}

// goStmt guards the goroutine a go statement starts:
//
//	go func(…) {…}(args)  →  go func(…) { guard; … }(args)
//	go f(a, b)            →  go func(_furious_f func()) { guard; _furious_f() }(
//	                            func() func() { _a0, _a1 := a, b; return func() { f(_a0, _a1) } }())
//
// so that the arguments are still evaluated by the go statement. Inside a
// loop the function value is made first, in a frame of its own (ownFrame),
// and kept in a variable that the go statement starts:
//
//	_furious_gN := (func() func(…) { return func(…) { guard; … } }()); go _furious_gN(args)
//	_furious_gN := (func() func() { _a0, _a1 := a, b; return func() { guard; f(_a0, _a1) } }()); go _furious_gN()
//
// (in a loop, yaegi v0.16 can start an earlier iteration's literal, see
// ownFrame; and `go (func() T {…}())(args)`, the value made where the go
// statement stands, ran it with the last iteration's variables in our
// tests, where the value kept in a variable runs it with its own.)
func (r *rewriter) goStmt(g *ast.GoStmt, guarded, called map[*ast.FuncLit]bool) {
	call := g.Call
	if fl, ok := call.Fun.(*ast.FuncLit); ok {
		guarded[fl], called[fl] = true, true
		r.insert(r.off(fl.Body.Lbrace)+1, r.guardText("the goroutine started at "+r.where(g)))
		if r.inLoop {
			r.n++
			v := fmt.Sprintf("_furious_g%d", r.n)
			r.edits = append(r.edits,
				edit{start: r.off(g.Pos()), end: r.off(fl.Pos()), text: v + " := (func() " + exprText(fl.Type) + " { return "},
				edit{start: r.off(fl.End()), end: r.off(fl.End()), text: " }()); go " + v})
		}
		return
	}
	// The function: a name or selector is repeated in the goroutine's
	// call; any other expression (fs[i], f(x), (f)) is evaluated early
	// like the arguments, as Go evaluates it in the calling goroutine.
	r.n++
	fun, what := r.text(call.Fun), ""
	var early []string // names the early := defines, in order
	if simpleFunc(call.Fun) {
		what = "goroutine " + fun
	} else {
		what = "the goroutine"
		fun = fmt.Sprintf("_furious_f%d", r.n)
		early = append(early, fun)
	}
	guard := r.guardText(fmt.Sprintf("%s started at %s", what, r.where(g)))
	var args []string
	constOnly := true
	for i, a := range call.Args {
		if constLike(a) {
			// Untyped constants stay in the call (their type comes from the
			// parameter); their place in the early evaluation takes a 0.
			early = append(early, "_")
			args = append(args, strings.Join(strings.Fields(r.text(a)), " "))
			r.edits = append(r.edits, r.keepLines(r.off(a.Pos()), r.off(a.End()), "0"))
			continue
		}
		constOnly = false
		name := fmt.Sprintf("_furious_a%d_%d", r.n, i)
		early, args = append(early, name), append(args, name)
	}
	dots := ""
	if call.Ellipsis.IsValid() {
		dots = "..."
	}
	// start + func() func() { early := …; return body }() + end, the guard
	// in start or, in a loop, in body.
	inner := fun + "(" + strings.Join(args, ", ") + dots + ")"
	body := "func() { " + inner + " }"
	start, end := "go func(_furious_f func()) {"+guard+" _furious_f() }(", ")"
	if r.inLoop {
		v := fmt.Sprintf("_furious_g%d", r.n)
		start, end, body = v+" := (", "); go "+v+"()", "func() {"+guard+" "+inner+" }"
	}
	ret := "return " + body + " }()" + end
	if simpleFunc(call.Fun) && constOnly {
		// Nothing to evaluate early.
		r.edits = append(r.edits, r.keepLines(r.off(g.Pos()), r.off(call.End()), start+"func() func() { "+ret))
		return
	}
	head := start + "func() func() { " + strings.Join(early, ", ") + " := "
	if simpleFunc(call.Fun) {
		r.edits = append(r.edits, r.keepLines(r.off(g.Pos()), r.off(call.Args[0].Pos()), head))
	} else {
		r.edits = append(r.edits, r.keepLines(r.off(g.Pos()), r.off(call.Fun.Pos()), head))
		if len(call.Args) == 0 {
			r.edits = append(r.edits, r.keepLines(r.off(call.Fun.End()), r.off(call.End()), "; "+ret))
			return
		}
		r.edits = append(r.edits, r.keepLines(r.off(call.Fun.End()), r.off(call.Args[0].Pos()), ", "))
	}
	r.edits = append(r.edits, r.keepLines(r.off(call.Args[len(call.Args)-1].End()), r.off(call.End()), "; "+ret))
}

// keepLines is the edit replacing start…end by text followed by as many
// line breaks as the text replaced held, so that what follows keeps its line.
func (r *rewriter) keepLines(start, end int, text string) edit {
	return edit{start: start, end: end, text: text + strings.Repeat("\n", strings.Count(r.src[start:end], "\n"))}
}

// loopCopies gives each iteration of a loop its own copies of the loop's
// variables vars, as Go does since 1.22, where yaegi v0.16 keeps one
// variable for the whole loop: `for _, v := range xs { go func() { use(v)
// }() }` used the last v in every goroutine that ran after the loop had
// moved on. It inserts `v := v;` at the start of body, for each variable a
// function literal or go statement in body names. In a three-clause loop
// (counted) the body's changes to the variable must reach the loop's
// condition and post statement, so a variable the body assigns, increments
// or takes the address of keeps yaegi's one variable; so does one the
// body's own block declares again.
func (r *rewriter) loopCopies(body *ast.BlockStmt, counted bool, vars ...ast.Expr) {
	names := map[string]bool{}
	for _, e := range vars {
		if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
			names[id.Name] = true
		}
	}
	if len(names) == 0 || body == nil {
		return
	}
	captured := map[string]bool{} // named inside a literal or go statement
	changed := map[string]bool{}  // assigned, incremented or addressed in body
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit, *ast.GoStmt:
			ast.Inspect(n, func(m ast.Node) bool {
				if id, ok := m.(*ast.Ident); ok && names[id.Name] {
					captured[id.Name] = true
				}
				return true
			})
		case *ast.AssignStmt:
			if n.Tok != token.DEFINE {
				for _, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						changed[id.Name] = true
					}
				}
			}
		case *ast.IncDecStmt:
			if id, ok := n.X.(*ast.Ident); ok {
				changed[id.Name] = true
			}
		case *ast.UnaryExpr:
			if id, ok := n.X.(*ast.Ident); ok && n.Op == token.AND {
				changed[id.Name] = true
			}
		}
		return true
	})
	for _, st := range body.List { // declared again by the body's own block
		switch st := st.(type) {
		case *ast.AssignStmt:
			if st.Tok == token.DEFINE {
				for _, l := range st.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						delete(captured, id.Name)
					}
				}
			}
		case *ast.DeclStmt:
			if gd, ok := st.Decl.(*ast.GenDecl); ok {
				for _, sp := range gd.Specs {
					if vs, ok := sp.(*ast.ValueSpec); ok {
						for _, id := range vs.Names {
							delete(captured, id.Name)
						}
					}
				}
			}
		}
	}
	var text strings.Builder
	for _, e := range vars {
		id, ok := e.(*ast.Ident)
		if !ok || !names[id.Name] || !captured[id.Name] || (counted && changed[id.Name]) {
			continue
		}
		delete(names, id.Name) // `for k, k := …` is an error; copy once
		fmt.Fprintf(&text, " %s := %s;", id.Name, id.Name)
	}
	if text.Len() > 0 {
		r.insert(r.off(body.Lbrace)+1, text.String())
	}
}

// ownFrame makes the function literal fl in a frame of its own:
// `func(…) R {…}` becomes `(func() func(…) R { return func(…) R {…} }())`.
//
// yaegi v0.16 keeps a literal's function value in a slot of the frame the
// literal is evaluated in, and each call of that value, when it returns,
// writes back into the slot what the slot held when the literal was
// evaluated. When the value runs on another goroutine (a go statement, a
// callback of compiled code) while the literal is evaluated again (a loop),
// the write lands between the new evaluation and its use, so the new go
// statement or callback gets the value of an earlier iteration, with that
// iteration's variables, or a nil func, which ends the process ("call of
// nil function"). In a frame of its own the write lands in the wrapper's
// frame, which nothing reads after the wrapper returns. The wrapper also
// keeps the iteration's variables for a callback that runs after the loop
// has gone on (yaegi v0.16 gave such a callback, passed as a bare literal,
// the last iteration's variables). Literals called where they stand
// (`func() {…}()`) return before anything else can run in their frame and
// are left as they are.
func (r *rewriter) ownFrame(fl *ast.FuncLit) {
	r.n++
	r.edits = append(r.edits,
		edit{start: r.off(fl.Pos()), end: r.off(fl.Pos()), text: "(func() " + exprText(fl.Type) + " { return ", group: r.n},
		edit{start: r.off(fl.End()), end: r.off(fl.End()), text: " }())", group: r.n})
}

// assignments rewrites the parallel assignments among stmts that mix calls
// with other expressions (a yaegi defect loses one of the values).
func (r *rewriter) assignments(stmts []ast.Stmt) {
	for _, st := range stmts {
		as, ok := st.(*ast.AssignStmt)
		if !ok || as.Tok != token.ASSIGN || len(as.Lhs) < 2 || len(as.Lhs) != len(as.Rhs) {
			continue
		}
		calls := 0
		for _, e := range as.Rhs {
			if _, ok := e.(*ast.CallExpr); ok {
				calls++
			}
		}
		if calls == 0 || calls == len(as.Rhs) {
			continue
		}
		r.n++
		var tmp, vals, sets, consts []string
		for i, e := range as.Rhs {
			lhs := r.text(as.Lhs[i])
			if constLike(e) {
				consts = append(consts, lhs+" = "+r.text(e))
				continue
			}
			name := fmt.Sprintf("_furious_p%d_%d", r.n, i)
			tmp, vals = append(tmp, name), append(vals, r.text(e))
			sets = append(sets, lhs+" = "+name)
		}
		text := strings.Join(tmp, ", ") + " := " + strings.Join(vals, ", ") + "; " + strings.Join(append(sets, consts...), "; ")
		r.edits = append(r.edits, edit{start: r.off(as.Pos()), end: r.off(as.End()), text: text})
	}
}

// simpleFunc reports whether e is a name or a selector chain of names
// (f, pkg.F, x.M): text that can be repeated.
func simpleFunc(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return true
	case *ast.SelectorExpr:
		return simpleFunc(e.X)
	}
	return false
}

// constLike reports whether e is built of literals only (an untyped
// constant, whose type comes from where it is used) or nil/true/false.
func constLike(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		return e.Name == "nil" || e.Name == "true" || e.Name == "false"
	case *ast.ParenExpr:
		return constLike(e.X)
	case *ast.UnaryExpr:
		return constLike(e.X)
	case *ast.BinaryExpr:
		return constLike(e.X) && constLike(e.Y)
	}
	return false
}

// makeCall checks the size arguments of make(T, n[, c]).
func (r *rewriter) makeCall(c *ast.CallExpr) {
	if len(c.Args) < 2 || c.Ellipsis.IsValid() {
		return
	}
	typ := r.text(c.Args[0])
	if strings.Contains(typ, "\n") {
		return
	}
	call := strconv.Quote(strings.Join(strings.Fields(r.text(c)), " "))
	for _, a := range c.Args[1:] {
		r.n++
		r.edits = append(r.edits,
			edit{start: r.off(a.Pos()), end: r.off(a.Pos()), text: fmt.Sprintf("%s.Len((%s)(nil), ", guardName, typ), group: r.n},
			edit{start: r.off(a.End()), end: r.off(a.End()), text: ", " + call + ")", group: r.n})
	}
}

// appendCall checks the length append(s, x...) will need; s must be a
// name or a selector chain (it is evaluated twice).
func (r *rewriter) appendCall(c *ast.CallExpr) {
	if len(c.Args) < 2 || !simpleFunc(c.Args[0]) {
		return
	}
	s := r.text(c.Args[0])
	call := strconv.Quote(strings.Join(strings.Fields(r.text(c)), " "))
	// Only a spread (append(s, t...)) is checked: it can ask for any
	// size at once, while appending elements grows s step by step, and
	// a check per element would cost a compiled call each (4x slower
	// append loops).
	if !c.Ellipsis.IsValid() || len(c.Args) != 2 || !simpleFunc(c.Args[1]) {
		return
	}
	more := r.text(c.Args[1]) // evaluated twice too: only plain names
	r.edits = append(r.edits, edit{start: r.off(c.Args[0].End()), end: r.off(c.Args[0].End()),
		text: fmt.Sprintf("[:len(%s):%s.Cap(%s, %s, %s)]", s, guardName, s, more, call)})
}

// ifaceLit rewrites the composite literal cl (whole is cl or &cl) of a
// compiled struct type pkg.T when it sets fields of non-empty interface
// type: they are assigned to a temporary after the literal is built (see
// guardCell). It reports whether it rewrote cl.
func (r *rewriter) ifaceLit(cl *ast.CompositeLit, whole ast.Expr) bool {
	sel, ok := cl.Type.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	if !ok {
		return false
	}
	p := r.pkgs[id.Name]
	if p == "" && r.pkgPath != nil {
		p = r.pkgPath(id.Name)
	}
	ifs := ifaceFields(p, sel.Sel.Name)
	if len(ifs) == 0 {
		return false
	}
	tmp := fmt.Sprintf("_l%d", r.n)
	var dels []edit
	var assign strings.Builder
	for _, e := range cl.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		key, ok := kv.Key.(*ast.Ident)
		if !ok || !ifs[key.Name] {
			continue
		}
		val := r.text(kv.Value)
		if strings.Contains(val, "//") {
			return false
		}
		start, end := r.off(kv.Pos()), r.off(kv.End())
		if rest := strings.TrimLeft(r.src[end:], " \t\n"); strings.HasPrefix(rest, ",") {
			end = len(r.src) - len(rest) + 1
		}
		dels = append(dels, edit{start: start, end: end, text: strings.Repeat("\n", strings.Count(r.src[start:end], "\n"))})
		fmt.Fprintf(&assign, "; %s.%s = %s", tmp, key.Name, strings.Join(strings.Fields(val), " "))
	}
	if len(dels) == 0 {
		return false
	}
	r.n++
	typ := r.text(cl.Type)
	if whole != ast.Expr(cl) {
		typ = "*" + typ
	}
	r.insert(r.off(whole.Pos()), fmt.Sprintf("func() %s { %s := ", typ, tmp))
	r.edits = append(r.edits, dels...)
	r.insert(r.off(whole.End()), assign.String()+"; return "+tmp+" }()")
	return true
}

// ifaceFields is the set of fields of struct type name in the compiled
// package importPath (from stdlib.Symbols) whose type is a non-empty
// interface; nil when the type is not a compiled struct.
func ifaceFields(importPath, name string) map[string]bool {
	if importPath == "" {
		return nil
	}
	v, ok := stdlib.Symbols[importPath+"/"+path.Base(importPath)][name]
	if !ok {
		for k, syms := range stdlib.Symbols { // a package named unlike its path's end
			if path.Dir(k) == importPath {
				v, ok = syms[name]
				break
			}
		}
	}
	if !ok || v.Kind() != reflect.Pointer || v.Type().Elem().Kind() != reflect.Struct {
		return nil
	}
	st := v.Type().Elem()
	var out map[string]bool
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		if f.IsExported() && f.Type.Kind() == reflect.Interface && f.Type.NumMethod() > 0 {
			if out == nil {
				out = map[string]bool{}
			}
			out[f.Name] = true
		}
	}
	return out
}

// apply returns the source with the edits made. Edits never overlap; an
// insertion at the end of a replacement comes after it, one at its start
// before it.
func (r *rewriter) apply() string {
	if len(r.edits) == 0 {
		return r.src
	}
	sort.SliceStable(r.edits, func(i, j int) bool {
		a, b := r.edits[i], r.edits[j]
		if a.start != b.start {
			return a.start < b.start
		}
		return a.end < b.end
	})
	var b strings.Builder
	last := 0
	skipped := map[int]bool{}
	for _, e := range r.edits {
		if e.start < last || skipped[e.group] {
			if e.group > 0 {
				skipped[e.group] = true
			}
			continue // overlapping: keep the first
		}
		b.WriteString(r.src[last:e.start])
		b.WriteString(e.text)
		last = e.end
	}
	b.WriteString(r.src[last:])
	return b.String()
}
