package dsl

import (
	"go/ast"
	"strings"
	"testing"
)

func TestSplitKinds(t *testing.T) {
	cell := "import \"fmt\"\ntype T struct{}\nfunc (T) M() {}\nx := 1; y := 2\nfor i := 0; i < 2; i++ { x += i }\nfunc() { fmt.Println(x) }()\nvar z = 3\nx + y"
	items, err := Split(cell)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, it := range items {
		kinds = append(kinds, []string{"I", "D", "S"}[it.Kind]+":"+cell[it.Start:it.End])
	}
	want := []string{`I:import "fmt"`, "D:type T struct{}", "D:func (T) M() {}", "S:x := 1", "S:y := 2",
		"S:for i := 0; i < 2; i++ { x += i }", "S:func() { fmt.Println(x) }()", "S:var z = 3", "S:x + y"}
	if strings.Join(kinds, "|") != strings.Join(want, "|") {
		t.Errorf("Split:\n got %q\nwant %q", kinds, want)
	}
	if _, err := Split("s := \"unterminated"); err == nil {
		t.Error("unterminated string not reported")
	}
}

// FuzzCellTools feeds arbitrary text to the functions the kernel runs on
// every keystroke or request: none may panic, and Split's items must lie
// inside the cell in order.
func FuzzCellTools(f *testing.F) {
	for _, s := range []string{"x := 1", "func f() {", "import (\n\"fmt\"\n)\nfmt.Println(1)", "go func() {}()",
		"for i := 0; i < 3; i++ {", "`raw", "é.ü", "a.b.c.", "}}}{{{", "go func(a int) int { return a }(1)"} {
		f.Add(s, len(s))
	}
	f.Fuzz(func(t *testing.T, code string, cursor int) {
		items, err := Split(code)
		if err == nil {
			last := 0
			for _, it := range items {
				if it.Start < last || it.End > len(code) || it.Start > it.End {
					t.Fatalf("item %+v out of order in %q", it, code)
				}
				last = it.End
			}
		}
		IsComplete(code)
		guardCell(code, map[string]*ast.FuncType{}, nil)
		selectorBases(code)
		runeToByte(code, cursor)
	})
}
