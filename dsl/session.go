package dsl

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"io"
	"os"
	"path"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/furious-lab/furious/display"
	"github.com/furious-lab/furious/stdlib"
	"github.com/furious-lab/furious/tensor"
	"github.com/traefik/yaegi/interp"
)

// Options configures a Session. Nil streams default to the process's.
type Options struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
}

// Session is one yaegi interpreter with the state of a notebook: imports,
// declarations and variables persist from cell to cell.
type Session struct {
	mu        sync.Mutex // one Eval at a time
	in        *interp.Interpreter
	guard     *guard
	stderr    *panicFilter
	imports   map[string]string          // name in scope → import path
	types     map[string]string          // type name → declaration text that defined it
	names     map[string]bool            // top-level names defined by cells
	methods   map[string]map[string]bool // interpreted type → its method names
	varType   map[string]string          // variable → interpreted type name, when plain
	withdrawn map[string]bool            // names of cells that failed to compile (transaction.go)
	added     []string                   // names the running cell added to names
	funcSigs  map[string]*ast.FuncType   // signatures of the functions cells declared (guardCell)
	forced    bool                       // the last interrupt had yaegi stop interpreted code (eval)
}

// renderName is the hidden name under which the display package is imported
// for rendering trailing expressions.
const renderName = "_furious_display"

// Error is a failed cell: compile error, panic or interruption, in the shape
// of a Jupyter error message.
type Error struct {
	Name      string   // "CompileError", "panic", "Interrupted", ...
	Value     string   // one-line message
	Traceback []string // lines, first the message
}

func (e *Error) Error() string { return e.Name + ": " + e.Value }

// New starts a session with the standard library, gonum and furious's
// packages available, the latter pre-imported (stdlib.Preimported).
func New(o Options) (*Session, error) {
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	s := &Session{
		stderr:    &panicFilter{w: o.Stderr},
		imports:   map[string]string{},
		types:     map[string]string{},
		names:     map[string]bool{},
		methods:   map[string]map[string]bool{},
		varType:   map[string]string{},
		withdrawn: map[string]bool{},
		funcSigs:  map[string]*ast.FuncType{},
	}
	// Let os.Stdout/Stderr/Stdin in cells be our writers (type io.Writer /
	// io.Reader) rather than file descriptors, so that everything a cell
	// prints goes through one ordered path.
	os.Setenv("YAEGI_SPECIAL_STDIO", "1")
	s.in = interp.New(interp.Options{Stdout: o.Stdout, Stderr: s.stderr, Stdin: o.Stdin, GoPath: os.DevNull})
	if err := s.in.Use(stdlib.Symbols); err != nil {
		return nil, err
	}
	s.guard = newGuard(s.stderr)
	if err := s.in.Use(s.guard.exports()); err != nil {
		return nil, err
	}
	var pre strings.Builder
	pre.WriteString("import (\n")
	fmt.Fprintf(&pre, "\t%s %q\n", renderName, stdlib.ModulePath+"/display")
	for _, p := range stdlib.Preimported() {
		fmt.Fprintf(&pre, "\t%s %q\n", p[1], p[0])
		s.imports[p[1]] = p[0]
	}
	fmt.Fprintf(&pre, "\t%s %q\n)", guardName, guardPath)
	if _, err := s.in.Eval(pre.String()); err != nil {
		return nil, fmt.Errorf("dsl: pre-importing packages: %w", err)
	}
	return s, nil
}

// Imports returns the names in scope that denote packages, name → path.
func (s *Session) Imports() map[string]string {
	out := make(map[string]string, len(s.imports))
	for k, v := range s.imports {
		out[k] = v
	}
	return out
}

// Eval runs one cell: its imports, then its func/type declarations, then its
// statements in order. When the last statement is an expression (other than
// a fmt/log print call) its value is rendered (display.Render) and returned
// with ok true. Errors are *Error with positions as cell line:column.
//
// A panic in a goroutine the cell started (or in a callback compiled code
// ran on its own goroutine) while the cell ran makes the cell fail with it;
// after the cell it is printed on the stderr of the cell running then.
func (s *Session) Eval(ctx context.Context, cell string) (result display.Data, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer watchInterrupt(ctx)()
	s.guard.takePanics() // those after earlier cells were printed then
	items, serr := Split(cell)
	if serr == nil {
		if e := s.useOfWithdrawn(cell, items); e != nil {
			return result, false, e
		}
		s.added = nil
		defer func() { s.settle(cell, items, err) }()
	}
	result, ok, err = s.evalCell(ctx, guardCell(cell, s.funcSigs, s.pkgPath))
	if p := s.guard.takePanics(); len(p) > 0 && err == nil {
		return result, false, &Error{Name: "panic", Value: p[0], Traceback: append([]string{"panic: " + p[0]}, p[1:]...)}
	}
	return result, ok, err
}

// evalCell is Eval for a guarded cell.
func (s *Session) evalCell(ctx context.Context, cell string) (result display.Data, ok bool, err error) {
	items, err := Split(cell)
	if err != nil {
		return result, false, compileError(err, 0)
	}

	// 1. Imports, skipping those already in scope, plus the packages the cell
	// uses by their usual name without importing them (like goimports).
	if err := s.autoImport(cell, items); err != nil {
		return result, false, err
	}
	for _, it := range items {
		if it.Kind != Import {
			continue
		}
		specs, err := parseImports(cell[it.Start:it.End])
		if err != nil {
			return result, false, compileError(err, it.Line-1)
		}
		for _, sp := range specs {
			name := sp.name
			if name == "" {
				name = defaultName(sp.path)
			}
			if s.imports[name] == sp.path || name == "_" {
				continue
			}
			if old, dup := s.imports[name]; dup {
				return result, false, &Error{Name: "CompileError", Value: fmt.Sprintf(
					"%d: %s is already imported as %q in this session; import %q under another name, e.g. import %s2 %q",
					it.Line, name, old, sp.path, name, sp.path)}
			}
			src := strings.Repeat("\n", it.Line) + fmt.Sprintf("import %s %q", name, sp.path)
			if _, err := s.in.Eval(src); err != nil {
				return result, false, compileError(err, 1)
			}
			s.imports[name] = sp.path
		}
	}

	// 2. Declarations (hoisted, like a Go file's). A type cannot be redefined
	// in a running yaegi session: the same text again is skipped, a new one
	// is refused with the way out.
	for _, it := range items {
		if it.Kind == Decl && strings.HasPrefix(cell[it.Start:it.End], "func main()") {
			return result, false, &Error{Name: "CompileError", Value: fmt.Sprintf(
				"cell %d:1: func main cannot be declared in a notebook (yaegi would run it on every cell): "+
					"give it another name and call it", it.Line)}
		}
	}
	var redefined []string
	declSrc, hasDecl := blank(cell, items, func(it Item) bool {
		if it.Kind != Decl {
			return false
		}
		text := cell[it.Start:it.End]
		for _, name := range typeNames(text) {
			if old, ok := s.types[name]; ok {
				if old == text {
					return false
				}
				redefined = append(redefined, name)
			}
		}
		return true
	})
	if len(redefined) > 0 {
		return result, false, &Error{Name: "CompileError", Value: fmt.Sprintf(
			"type %s is already defined in this session and yaegi cannot redefine types: "+
				"restart the kernel to change it, or give the new type another name", strings.Join(redefined, ", "))}
	}
	if hasDecl {
		if _, err := s.eval(ctx, "\n"+declSrc); err != nil {
			return result, false, s.evalError(err, 1)
		}
		for _, it := range items {
			if it.Kind == Decl {
				text := cell[it.Start:it.End]
				for _, name := range typeNames(text) {
					s.types[name] = text
				}
			}
		}
	}
	s.recordNames(cell, items)

	// 3. Statements; the last one may be an expression to show.
	var stmts []Item
	for _, it := range items {
		if it.Kind == Stmt {
			stmts = append(stmts, it)
		}
	}
	if len(stmts) == 0 {
		return result, false, nil
	}
	last := stmts[len(stmts)-1]
	lastText := cell[last.Start:last.End]
	show := trailingExpr(lastText, s.printPkgs())
	body := stmts
	if show {
		body = stmts[:len(stmts)-1]
	}
	if len(body) > 0 {
		src, _ := blank(cell, body, func(Item) bool { return true })
		if _, err := s.eval(ctx, guardName+".Mark();\n"+src); err != nil {
			return result, false, s.clarify(s.evalError(err, 1), src)
		}
	}
	if !show {
		return result, false, nil
	}
	// Render through the interpreter first, so that values of interpreted
	// types with HTML()/PNG()/... methods are recognised; a void or
	// multi-valued expression does not compile that way and is evaluated as is.
	pad := guardName + ".Mark();" + strings.Repeat("\n", last.Line)
	v, err := s.eval(ctx, pad+renderName+".Render("+lastText+")")
	if err == nil {
		if d, isData := valueInterface(v).(display.Data); isData {
			return d, len(d.Data) > 0, nil
		}
	}
	if err != nil && (isRuntime(err) || ctx.Err() != nil) {
		return result, false, s.evalError(err, 1)
	}
	void := err != nil && isVoidUse(err)
	v, err = s.eval(ctx, pad+lastText)
	if err != nil {
		src, _ := blank(cell, []Item{last}, func(Item) bool { return true })
		return result, false, s.clarify(s.evalError(err, 1), src)
	}
	if void || !v.IsValid() || v.Type() == reflect.TypeOf((*any)(nil)) {
		// A call with no results: yaegi gives a placeholder, or for a
		// compiled function a stale value of an earlier evaluation.
		return result, false, nil
	}
	d := display.Render(valueInterface(v))
	return d, len(d.Data) > 0, nil
}

func valueInterface(v reflect.Value) any {
	if !v.IsValid() || !v.CanInterface() {
		return nil
	}
	return v.Interface()
}

// interruptGrace is how long an interrupted cell has to stop by itself
// before yaegi stops its interpreted code. The interrupt reaches compiled
// code at once (tensor.Interrupt: ssd primitives, nn's ops and
// nn.Trainer.Run stop with ErrInterrupted), which usually ends the cell
// within milliseconds. Only when it does not (an interpreted loop, a long
// compiled call) does yaegi's stop run, and that stop is not free: it
// invalidates every function literal created before it that is stored in a
// variable or field (yaegi v0.16 keeps the run id of the frame a closure was
// made in, and a stop bumps the interpreter's), so such callbacks, a
// Trainer's OnProgress among them, silently stop running.
const interruptGrace = 250 * time.Millisecond

// eval runs src under ctx, turning Go panics that escape yaegi into errors.
// When ctx ends, yaegi is stopped only interruptGrace later if src is still
// running; an interrupted src returns ctx's error even if it finished by
// itself in the meantime, so that the rest of the cell does not run.
func (s *Session) eval(ctx context.Context, src string) (v reflect.Value, err error) {
	s.stderr.begin()
	defer func() {
		if r := recover(); r != nil {
			err = interp.Panic{Value: r, Stack: debugStack()}
		}
	}()
	s.forced = false
	yctx, release := afterGrace(ctx, interruptGrace)
	defer release()
	v, err = s.in.EvalWithContext(yctx, src)
	if ctx.Err() != nil {
		s.forced = yctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
		if err == nil {
			err = ctx.Err()
		}
	}
	return v, err
}

// afterGrace returns a context that ends grace after ctx ends (never, if
// ctx does not), and the function releasing it.
func afterGrace(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	g, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var mu sync.Mutex
	var timer *time.Timer
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		timer = time.AfterFunc(grace, cancel)
		mu.Unlock()
	})
	return g, func() {
		stop()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

func debugStack() []byte {
	buf := make([]byte, 16<<10)
	return buf[:runtime.Stack(buf, false)]
}

func isRuntime(err error) bool {
	var p interp.Panic
	var pp *interp.Panic
	return errors.As(err, &p) || errors.As(err, &pp) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// printPkgs is the set of names in scope bound to fmt or log.
func (s *Session) printPkgs() map[string]bool {
	m := map[string]bool{}
	for name, p := range s.imports {
		if p == "fmt" || p == "log" {
			m[name] = true
		}
	}
	return m
}

// posRE matches a position "L:C: " yaegi puts before messages, with or
// without a file name.
var posRE = regexp.MustCompile(`(?:[\w./-]*\.go:)?(\d+):(\d+)(: )`)

// shiftPositions rewrites positions in msg by subtracting off lines and
// prefixes them with "cell ".
func shiftPositions(msg string, off int) string {
	return posRE.ReplaceAllStringFunc(msg, func(m string) string {
		sm := posRE.FindStringSubmatch(m)
		l, _ := strconv.Atoi(sm[1])
		if l-off < 1 {
			return "cell " + sm[1] + ":" + sm[2] + sm[3]
		}
		return fmt.Sprintf("cell %d:%s%s", l-off, sm[2], sm[3])
	})
}

func compileError(err error, off int) *Error {
	var lines []string
	var el scanner.ErrorList
	if errors.As(err, &el) {
		for _, e := range el {
			lines = append(lines, fmt.Sprintf("cell %d:%d: %s", e.Pos.Line-off, e.Pos.Column, e.Msg))
		}
	} else {
		lines = strings.Split(shiftPositions(err.Error(), off), "\n")
	}
	return &Error{Name: "CompileError", Value: lines[0], Traceback: append([]string{"CompileError: " + lines[0]}, lines[1:]...)}
}

// evalError converts an error from yaegi into an *Error.
func (s *Session) evalError(err error, off int) *Error {
	frames := s.stderr.end()
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, tensor.ErrInterrupted) {
		// yaegi's EvalWithContext returns as soon as the context ends; the
		// interpreted code notices the stop at its next step. Give it that
		// moment before the next cell touches the same variables.
		time.Sleep(20 * time.Millisecond)
		tb := []string{"Interrupted: execution interrupted"}
		if s.forced {
			tb = append(tb, "The cell did not stop within "+interruptGrace.String()+", so its interpreted code was stopped:",
				"function literals created before this interrupt and kept in variables or fields (callbacks",
				"such as a Trainer's OnProgress) no longer run (a yaegi limitation); run the cells that create them again.")
		}
		return &Error{Name: "Interrupted", Value: "execution interrupted", Traceback: tb}
	}
	var p interp.Panic
	var pp *interp.Panic
	if errors.As(err, &pp) {
		p = *pp
	}
	if p.Value != nil || errors.As(err, &p) {
		if e, ok := p.Value.(error); ok && errors.Is(e, tensor.ErrInterrupted) {
			return &Error{Name: "Interrupted", Value: e.Error(), Traceback: []string{"Interrupted: " + e.Error()}}
		}
		msg := fmt.Sprint(p.Value)
		if e, ok := p.Value.(error); ok {
			msg = e.Error()
		}
		tb := []string{"panic: " + msg}
		for _, f := range frames {
			tb = append(tb, "    "+shiftPositions(strings.TrimSpace(f), off))
		}
		if _, compiled := p.Value.(runtime.Error); compiled || len(frames) == 0 {
			tb = append(tb, "", "Go stack:")
			tb = append(tb, strings.Split(strings.TrimSpace(string(p.Stack)), "\n")...)
		}
		return &Error{Name: "panic", Value: msg, Traceback: tb}
	}
	return compileError(err, off)
}

// panicFilter passes writes through to w, except the "L:C: panic: f(...)"
// frame lines yaegi prints when a panic unwinds interpreted calls: those are
// collected for the error's traceback.
type panicFilter struct {
	w      io.Writer
	mu     sync.Mutex
	frames []string
}

var frameRE = regexp.MustCompile(`^(?:[\w./-]*\.go:)?\d+:\d+: panic: .*\n?$`)

func (f *panicFilter) Write(p []byte) (int, error) {
	if frameRE.Match(p) {
		f.mu.Lock()
		f.frames = append(f.frames, string(p))
		f.mu.Unlock()
		return len(p), nil
	}
	return f.w.Write(p)
}

func (f *panicFilter) begin() {
	f.mu.Lock()
	f.frames = nil
	f.mu.Unlock()
}

func (f *panicFilter) end() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.frames
	f.frames = nil
	return out
}

// defaultName is the package name of an import path: its last element,
// skipping a major-version suffix (math/rand/v2 → rand).
func defaultName(path string) string {
	parts := strings.Split(path, "/")
	name := parts[len(parts)-1]
	if len(parts) > 1 && len(name) > 1 && name[0] == 'v' && strings.Trim(name[1:], "0123456789") == "" {
		name = parts[len(parts)-2]
	}
	if i := strings.Index(name, "."); i >= 0 {
		name = name[:i]
	}
	return strings.ReplaceAll(name, "-", "_")
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// pkgPath is the import path of a package name in the session: imported,
// or one autoImport would import; "" when neither.
func (s *Session) pkgPath(name string) string {
	if p, ok := s.imports[name]; ok {
		return p
	}
	return knownPackages()[name]
}

// knownPackages maps a package name to its import path for every package
// in stdlib.Symbols whose name is unambiguous (rand, template, ... are
// not: they need an import line).
var knownPackages = sync.OnceValue(func() map[string]string {
	byName := map[string][]string{}
	for k := range stdlib.Symbols {
		dir := path.Dir(k)
		if dir == "." {
			continue
		}
		byName[path.Base(k)] = append(byName[path.Base(k)], dir)
	}
	out := map[string]string{}
	for name, paths := range byName {
		if len(paths) == 1 {
			out[name] = paths[0]
		}
	}
	return out
})

// autoImport imports the packages a cell refers to as name.Symbol when name
// is not in scope, not defined by the session or the cell, and is the name
// of exactly one known package.
func (s *Session) autoImport(cell string, items []Item) error {
	local := map[string]bool{}
	for _, it := range items {
		if it.Kind == Import {
			if specs, err := parseImports(cell[it.Start:it.End]); err == nil {
				for _, sp := range specs {
					n := sp.name
					if n == "" {
						n = defaultName(sp.path)
					}
					local[n] = true
				}
			}
			continue
		}
		for _, n := range definedNames(cell[it.Start:it.End]) {
			local[n] = true
		}
	}
	known := knownPackages()
	for _, name := range selectorBases(cell) {
		p, ok := known[name]
		if !ok || local[name] || s.names[name] {
			continue
		}
		if _, in := s.imports[name]; in {
			continue
		}
		if _, err := s.in.Eval(fmt.Sprintf("import %s %q", name, p)); err != nil {
			return compileError(err, 0)
		}
		s.imports[name] = p
	}
	return nil
}

// clarify replaces yaegi's misleading "constant definition loop" (its
// message for an undefined name in statements) by "undefined: name" at the
// name's position, found by resolving the statements' identifiers against
// the session's names.
func (s *Session) clarify(e *Error, stmts string) *Error {
	if e.Name != "CompileError" || !strings.Contains(e.Value, "constant definition loop") {
		return e
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", "package p; func _() {\n"+stmts+"\n}", 0)
	if err != nil {
		return e
	}
	known := knownPackages()
	for _, id := range f.Unresolved {
		n := id.Name
		if s.names[n] || isBuiltin(n) {
			continue
		}
		if _, ok := s.imports[n]; ok {
			continue
		}
		if _, ok := known[n]; ok {
			continue
		}
		pos := fset.Position(id.Pos())
		msg := fmt.Sprintf("cell %d:%d: undefined: %s", pos.Line-1, pos.Column, n)
		return &Error{Name: "CompileError", Value: msg, Traceback: []string{"CompileError: " + msg}}
	}
	return e
}

// recordNames remembers the top-level names a cell defines, for completion.
func (s *Session) recordNames(cell string, items []Item) {
	for _, it := range items {
		for _, n := range definedNames(cell[it.Start:it.End]) {
			if !s.names[n] {
				s.added = append(s.added, n)
			}
			s.names[n] = true
		}
		ms, vs := methodsAndVarTypes(cell[it.Start:it.End])
		for t, names := range ms {
			if s.methods[t] == nil {
				s.methods[t] = map[string]bool{}
			}
			for _, n := range names {
				s.methods[t][n] = true
			}
		}
		for v, t := range vs {
			s.varType[v] = t
		}
	}
}

// watchInterrupt forwards the end of ctx (an interrupt) to compiled
// primitives through tensor.Interrupt, which long loops in tensor, ssd and nn
// poll: interpreted code stops through ctx, a compiled call through the flag.
// The flag stays set after an interrupted cell, because yaegi returns before
// a compiled call in progress has noticed it; the next cell clears it. The
// returned function stops watching: once it has returned, a cancellation of
// ctx (a runner cancelling each cell's context when it ends) can no longer
// raise the flag, so it cannot leak into the next cell.
func watchInterrupt(ctx context.Context) (stop func()) {
	tensor.ClearInterrupt()
	var (
		mu       sync.Mutex
		finished bool
	)
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			mu.Lock()
			if !finished {
				tensor.Interrupt()
			}
			mu.Unlock()
		case <-done:
		}
	}()
	return func() {
		mu.Lock()
		finished = true
		mu.Unlock()
		close(done)
	}
}

// isVoidUse reports whether err is yaegi's compile error for a call with no
// results used as a value ("cannot use func([]int) as type ()"), which is how
// the render attempt of a void last statement fails (yaegi v0.16).
func isVoidUse(err error) bool { return strings.Contains(err.Error(), "as type ()") }
