package dsl

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/furious-lab/furious/display"
)

// Each test here is a yaegi v0.16 defect that guardCell or Session.Eval
// works around; it fails when the workaround is removed.

// Shadowing a session variable in an inner block at a cell's top level
// must not touch the outer variable (yaegi: a reflect.Set panic, the outer
// value lost).
func TestYaegiShadowingAtTopLevel(t *testing.T) {
	s, _, _ := newSession(t)
	run(t, s, "import \"time\"\ntr := 5*time.Millisecond\nsame := 1")
	run(t, s, "for i := 0; i < 2; i++ { tr := \"x\"; _ = tr }")
	if got := run(t, s, "tr"); got != "5ms" {
		t.Errorf("tr = %q after an inner tr := \"x\", want 5ms", got)
	}
	if got := run(t, s, "if true { same := \"s\"; _ = same }\nsum := 0\nfor j := 1; j <= 3; j++ { sum += j }\nsame + sum"); got != "7" {
		t.Errorf("same + sum = %q, want 7", got)
	}
}

// A multi-value := inside a block at a cell's top level (yaegi: "undefined").
func TestYaegiMultiValueInBlock(t *testing.T) {
	s, _, _ := newSession(t)
	run(t, s, "func two() (int, int) { return 1, 2 }\ngot := 0")
	if out := run(t, s, "if true { x, y := two(); got = x*10 + y }\ngot"); out != "12" {
		t.Errorf("got %q, want 12", out)
	}
}

// A parallel assignment mixing a call with other expressions (yaegi loses
// a value), at top level and in a function; a swap still swaps.
func TestYaegiParallelAssignment(t *testing.T) {
	s, _, _ := newSession(t)
	run(t, s, "import \"math\"\nvar u, w float64\nv := 1.0")
	if got := run(t, s, "u, w = 3, math.Sqrt(4)\nu*10 + w"); got != "32" {
		t.Errorf("u, w = 3, Sqrt(4): %q, want 32", got)
	}
	if got := run(t, s, "u, w = v, math.Sqrt(16)\nu*10 + w"); got != "14" {
		t.Errorf("u, w = v, Sqrt(16): %q, want 14", got)
	}
	if got := run(t, s, "func pa() float64 { var a, b float64; a, b = math.Sqrt(9), 5; return a*10 + b }\npa()"); got != "35" {
		t.Errorf("in a function: %q, want 35", got)
	}
	if got := run(t, s, "p, q := 1, 2\np, q = q, p\np*10 + q"); got != "21" {
		t.Errorf("swap: %q", got)
	}
}

// A cell that fails to compile leaves no declarations (yaegi declares its
// variables and functions before it finds the error).
func TestYaegiFailedCellLeavesNoDeclarations(t *testing.T) {
	s, _, _ := newSession(t)
	run(t, s, "kept := 1")
	_, _, err := s.Eval(context.Background(), "w := 1; w = \"oops\"; y := 2\nfunc leaked() int { return 3 }\nkept = 5")
	if err == nil {
		t.Fatal("the cell compiled")
	}
	for _, name := range []string{"y", "w", "leaked()"} {
		_, _, err := s.Eval(context.Background(), name)
		if err == nil || !strings.Contains(err.Error(), "undefined: "+strings.TrimSuffix(name, "()")) {
			t.Errorf("%s after the failed cell: %v, want undefined", name, err)
		}
	}
	if got := run(t, s, "kept"); got != "1" {
		t.Errorf("kept = %q, want 1", got)
	}
	// Defining the name again brings it back.
	if got := run(t, s, "y := 7\ny"); got != "7" {
		t.Errorf("y redefined: %q", got)
	}
}

// A composite literal of a compiled struct that sets an interface field to
// a value of a type declared in a cell (yaegi: "reflect.Set: value of type
// struct { Xn int } is not assignable to type palette.Palette", the issue's
// crash when implementing palette.Palette in a cell); with & and without,
// fields of other types kept, over several lines, in a function.
func TestYaegiInterfaceFieldInLiteral(t *testing.T) {
	s, _, _ := newSession(t)
	run(t, s, `import (
	"image/color"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotter"
)
type grey struct{ n int }
func (g grey) Colors() []color.Color {
	out := make([]color.Color, g.n)
	for i := range out {
		out[i] = color.Gray{uint8(255 * i / (g.n - 1))}
	}
	return out
}`)
	if got := run(t, s, "hm := &plotter.HeatMap{Palette: grey{4}, Min: 2}\nlen(hm.Palette.Colors())*10 + int(hm.Min)"); got != "42" {
		t.Errorf("&HeatMap{Palette: grey{4}, Min: 2}: %q, want 42", got)
	}
	if got := run(t, s, "g := grey{3}\nh2 := plotter.HeatMap{\n\tMin: 1,\n\tPalette: g,\n\tMax: 5,\n}\nlen(h2.Palette.Colors())*100 + int(h2.Min)*10 + int(h2.Max)"); got != "315" {
		t.Errorf("multi-line literal: %q, want 315", got)
	}
	if got := run(t, s, "func pal(n int) palette.Palette { h := plotter.HeatMap{Palette: grey{n}}; return h.Palette }\nlen(pal(6).Colors())"); got != "6" {
		t.Errorf("in a function: %q, want 6", got)
	}
	// The line of an error after the literal is unchanged.
	_, _, err := s.Eval(context.Background(), "h3 := plotter.HeatMap{\n\tPalette: grey{2},\n}\nvar z int = \"s\"")
	if err == nil || !strings.Contains(err.Error(), "4:") {
		t.Errorf("error position after a rewritten literal: %v", err)
	}
}

// A function literal evaluated again while an earlier value of it returns
// on another goroutine (yaegi: the earlier call writes an old value back
// into the literal's frame slot between the new evaluation and its use, so
// a go statement starts an earlier iteration's closure, or a nil func that
// ends the process). The gates make the write land in that window every
// time: the third go statement's argument lets the second goroutine
// return and waits; without the workaround the third goroutine is the
// first iteration's closure (id 0, sum 13) or a nil func.
func TestYaegiLiteralRewrittenByAnotherGoroutine(t *testing.T) {
	s, _, _ := newSession(t)
	run(t, s, "import \"time\"\nrelease := make(chan bool)\nfinished := make(chan bool)\ngot := make(chan int, 3)\n"+
		"step := func(i int) int { if i == 2 { release <- true; <-finished; time.Sleep(20 * time.Millisecond) }; return i }")
	sum := func(what, cell string) {
		t.Helper()
		if out := runWithin(t, s, cell); out != "33" {
			t.Errorf("%s: sum %q, want 33 (0 + 11 + 22)", what, out)
		}
	}
	sum("go statements in a loop", "for i := 0; i < 3; i++ {\n\tid := i * 10\n\tgo func(k int) {\n"+
		"\t\tif k == 1 { <-release; defer func() { finished <- true }() }\n\t\tgot <- id + k\n\t}(step(i))\n}\n<-got + <-got + <-got")
	// The same through a callback of compiled code (time.AfterFunc runs it
	// on a goroutine of its own).
	sum("callbacks in a loop", "for i := 0; i < 3; i++ {\n\tid := i * 10\n\tk := step(i)\n\ttime.AfterFunc(0, func() {\n"+
		"\t\tif k == 1 { <-release; defer func() { finished <- true }() }\n\t\tgot <- id + k\n\t})\n}\n<-got + <-got + <-got")
}

// A callback made in a loop and run after the loop has gone on sees its own
// iteration's variables (yaegi: the last iteration's, 22 each time).
func TestYaegiCallbackInLoopKeepsItsIteration(t *testing.T) {
	s, _, _ := newSession(t)
	run(t, s, "import \"time\"\ngot := make(chan int, 3)")
	out := runWithin(t, s, "for i := 0; i < 3; i++ {\n\tid := i * 10\n\tk := i\n"+
		"\ttime.AfterFunc(30*time.Millisecond, func() { got <- id + k })\n}\n"+
		"a, b, c := <-got, <-got, <-got\na + b + c + 1000*(a*b*c)")
	// The three values in any order: 0, 11 and 22 sum to 33, their product is 0.
	if out != "33" {
		t.Errorf("callbacks after the loop: %q, want 33 (0 + 11 + 22)", out)
	}
}

// runWithin is run with the cell interrupted after 5 s, so that a goroutine
// or callback that never sends fails the test instead of hanging it.
func runWithin(t *testing.T, s *Session, cell string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, _, err := s.Eval(ctx, cell)
	if err != nil {
		t.Fatalf("cell %q: %v", cell, err)
	}
	out, _ := d.Data[display.MIMEText].(string)
	return out
}

// Each iteration of a loop has its own loop variables, as in Go since 1.22
// (yaegi: one variable for the whole loop, so goroutines and closures that
// ran after the loop moved on all saw its last value: 27, 64 and 333).
// A three-clause loop whose body changes its variable still counts with it.
func TestYaegiLoopVariablePerIteration(t *testing.T) {
	s, _, _ := newSession(t)
	run(t, s, "import (\"sync\"; \"time\")")
	for cell, want := range map[string]string{
		"out := make(chan int, 3)\nvar wg sync.WaitGroup\nfor _, v := range []int{1, 2, 3} {\n\twg.Add(1)\n" +
			"\tgo func() { defer wg.Done(); time.Sleep(10 * time.Millisecond); out <- v * v }()\n}\nwg.Wait()\n<-out + <-out + <-out": "14",
		"c := make(chan int, 3)\nfor i := 0; i < 3; i++ {\n\tgo func() { time.Sleep(10 * time.Millisecond); c <- i + 1 }()\n}\n<-c * <-c * <-c": "6",
		"func mk() []func() int { var fs []func() int; for i := 0; i < 3; i++ { fs = append(fs, func() int { return i }) }; return fs }\n" +
			"hs := mk()\nhs[0]() + 10*hs[1]() + 100*hs[2]()": "210",
		"var gs []func() int\nfor k, v := range map[int]int{1: 10} {\n\tgs = append(gs, func() int { return k + v })\n}\ngs[0]()":                "11",
		"n := 0\nvar ks []func() int\nfor i := 0; i < 10; i++ {\n\tif i == 2 { i = 7 }\n\tks = append(ks, func() int { return i })\n\tn++\n}\nn": "5",
	} {
		if got := runWithin(t, s, cell); got != want {
			t.Errorf("%q: %q, want %s", cell, got, want)
		}
	}
}
