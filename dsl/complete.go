package dsl

import (
	"go/scanner"
	"go/token"
	"reflect"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

var keywords = strings.Fields(`break case chan const continue default defer else fallthrough for func go goto if
import interface map package range return select struct switch type var`)

var builtins = strings.Fields(`any append bool byte cap clear close complex complex128 complex64 copy delete error
false float32 float64 imag int int16 int32 int64 int8 iota len make max min new nil panic print println real
recover rune string true uint uint16 uint32 uint64 uint8 uintptr`)

func isIdentRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// runeToByte converts a cursor position in Unicode code points (as Jupyter
// sends it) into a byte offset of code, clamped to its length.
func runeToByte(code string, cursor int) int {
	if cursor < 0 {
		return len(code)
	}
	i := 0
	for n := 0; n < cursor && i < len(code); n++ {
		_, w := utf8.DecodeRuneInString(code[i:])
		i += w
	}
	return i
}

// identBefore returns the start byte offset of the identifier ending at end.
func identBefore(code string, end int) int {
	i := end
	for i > 0 {
		r, w := utf8.DecodeLastRuneInString(code[:i])
		if !isIdentRune(r) {
			break
		}
		i -= w
	}
	return i
}

// chainBefore returns the start of a selector chain a.b.c ending at end.
func chainBefore(code string, end int) int {
	i := identBefore(code, end)
	for i > 0 && code[i-1] == '.' {
		j := identBefore(code, i-1)
		if j == i-1 {
			break
		}
		i = j
	}
	return i
}

// Complete returns the completions at cursor (in code points): names in
// scope, members of a package after "pkg.", fields and methods of a value
// after "x.". start and end delimit, in code points, the text to replace.
func (s *Session) Complete(code string, cursor int) (matches []string, start, end int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := runeToByte(code, cursor)
	ps := identBefore(code, b)
	prefix := code[ps:b]
	start = utf8.RuneCountInString(code[:ps])
	end = utf8.RuneCountInString(code[:b])

	var cands []string
	if ps > 0 && code[ps-1] == '.' {
		base := code[chainBefore(code, ps-1) : ps-1]
		cands = s.members(base)
	} else {
		cands = append(cands, keywords...)
		cands = append(cands, builtins...)
		for n := range s.imports {
			cands = append(cands, n)
		}
		for n := range s.names {
			cands = append(cands, n)
		}
	}
	seen := map[string]bool{}
	for _, c := range cands {
		if strings.HasPrefix(c, prefix) && !seen[c] && !strings.HasPrefix(c, "_") {
			seen[c] = true
			matches = append(matches, c)
		}
	}
	sort.Strings(matches)
	return matches, start, end
}

// members lists what may follow "base.": a package's exported symbols, or a
// value's fields and methods.
func (s *Session) members(base string) []string {
	if base == "" {
		return nil
	}
	p, ok := s.imports[base]
	if !ok && !s.names[base] {
		p, ok = knownPackages()[base] // not imported yet: Eval will import it
	}
	if ok {
		var out []string
		for _, syms := range s.in.Symbols(p) {
			for n := range syms {
				out = append(out, n)
			}
		}
		return out
	}
	first := strings.SplitN(base, ".", 2)[0]
	_, pkgVar := s.imports[first] // pkg.Var.: a package variable's members
	if !s.names[first] && !pkgVar {
		return nil // only evaluate names cells defined or package values: a selector chain calls nothing
	}
	var out []string
	if !strings.Contains(base, ".") {
		for m := range s.methods[s.varType[base]] {
			out = append(out, m)
		}
	}
	v, err := s.in.Eval(base)
	if err != nil || !v.IsValid() {
		return out
	}
	return append(out, fieldsAndMethods(v.Type())...)
}

func fieldsAndMethods(t reflect.Type) []string {
	var out []string
	for _, tt := range []reflect.Type{t, reflect.PointerTo(t)} {
		for i := 0; i < tt.NumMethod(); i++ {
			out = append(out, tt.Method(i).Name)
		}
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct {
		for i := 0; i < t.NumField(); i++ {
			// yaegi names an interpreted struct's unexported field x "Xx".
			n := t.Field(i).Name
			if r, _ := utf8.DecodeRuneInString(strings.TrimPrefix(n, "X")); strings.HasPrefix(n, "X") && unicode.IsLower(r) {
				n = n[1:]
			}
			out = append(out, n)
		}
	}
	return out
}

// IsComplete says whether code is ready to run: "complete", "incomplete"
// (with the indent for the next line) or "invalid". It decides multi-line
// input in the REPL and answers Jupyter's is_complete_request.
func IsComplete(code string) (status, indent string) {
	if strings.TrimSpace(code) == "" {
		return "complete", ""
	}
	fset := token.NewFileSet()
	file := fset.AddFile("cell", -1, len(code))
	var s scanner.Scanner
	var scanErr string
	s.Init(file, []byte(code), func(_ token.Position, msg string) { scanErr = msg }, 0)
	depth := 0
	last := token.ILLEGAL
	for {
		_, t, lit := s.Scan()
		if t == token.EOF {
			break
		}
		switch t {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			depth--
		}
		if !(t == token.SEMICOLON && lit == "\n") {
			last = t
		}
	}
	switch {
	case strings.Contains(scanErr, "raw string literal not terminated"), strings.Contains(scanErr, "comment not terminated"):
		return "incomplete", ""
	case scanErr != "":
		return "invalid", ""
	case depth < 0:
		return "invalid", ""
	case depth > 0:
		return "incomplete", strings.Repeat("\t", depth)
	}
	switch last {
	case token.ADD, token.SUB, token.MUL, token.QUO, token.REM, token.AND, token.OR, token.XOR, token.SHL, token.SHR,
		token.AND_NOT, token.LAND, token.LOR, token.EQL, token.NEQ, token.LSS, token.GTR, token.LEQ, token.GEQ,
		token.ASSIGN, token.DEFINE, token.COMMA, token.PERIOD, token.ARROW, token.COLON,
		token.ADD_ASSIGN, token.SUB_ASSIGN, token.MUL_ASSIGN, token.QUO_ASSIGN, token.REM_ASSIGN,
		token.AND_ASSIGN, token.OR_ASSIGN, token.XOR_ASSIGN, token.SHL_ASSIGN, token.SHR_ASSIGN, token.AND_NOT_ASSIGN:
		return "incomplete", ""
	}
	items, err := Split(code)
	if err != nil {
		return "invalid", ""
	}
	for _, it := range items {
		if !parses(code[it.Start:it.End], it.Kind) {
			return "invalid", ""
		}
	}
	return "complete", ""
}
