package dsl

import (
	"fmt"
	"go/parser"
	"go/token"
	"strings"
)

// Cells are transactions as far as names go. yaegi declares a cell's
// variables and functions before it finds a compile error, so a failed
// cell would leave them behind (a variable with its zero value). The
// session cannot remove a name from yaegi, so it hides it: the new names
// of a cell that failed to compile are "withdrawn", a later cell that uses
// one without defining it again fails with "undefined: name", and a cell
// that defines it again brings it back. (Types are not withdrawn: yaegi
// cannot redefine them, so a type that compiled stays.)

// newNames returns the names the cell's items define that the session does
// not have, types excepted: those a failure withdraws.
func (s *Session) newNames(cell string, items []Item) []string {
	var out []string
	for _, it := range items {
		if it.Kind == Import {
			continue
		}
		text := cell[it.Start:it.End]
		types := map[string]bool{}
		for _, n := range typeNames(text) {
			types[n] = true
		}
		for _, n := range definedNames(text) {
			if !types[n] && !s.names[n] && n != "_" {
				out = append(out, n)
			}
		}
	}
	return out
}

// useOfWithdrawn returns an "undefined" error for the first use in the
// cell of a withdrawn name the cell does not define, or nil.
func (s *Session) useOfWithdrawn(cell string, items []Item) *Error {
	if len(s.withdrawn) == 0 {
		return nil
	}
	defines := map[string]bool{}
	for _, it := range items {
		for _, n := range definedNames(cell[it.Start:it.End]) {
			defines[n] = true
		}
	}
	for _, it := range items {
		if it.Kind == Import {
			continue
		}
		text := cell[it.Start:it.End]
		pre, post := "package p;func _(){\n", "\n}"
		if it.Kind == Decl {
			pre, post = "package p\n", ""
		}
		f, err := parser.ParseFile(token.NewFileSet(), "", pre+text+post, 0)
		if err != nil {
			continue
		}
		for _, id := range f.Unresolved {
			if !s.withdrawn[id.Name] || defines[id.Name] {
				continue
			}
			off := it.Start + int(id.Pos()) - 1 - len(pre)
			line := strings.Count(cell[:off], "\n") + 1
			col := off - strings.LastIndex(cell[:off], "\n")
			msg := fmt.Sprintf("cell %d:%d: undefined: %s (its declaration was in a cell that failed to compile)", line, col, id.Name)
			return &Error{Name: "CompileError", Value: msg, Traceback: []string{"CompileError: " + msg}}
		}
	}
	return nil
}

// settle updates the withdrawn names after a cell: a compile error
// withdraws the names it made (those recordNames added, and those it did
// not reach); a cell that compiled brings back those it defines.
func (s *Session) settle(cell string, items []Item, err error) {
	if e, ok := err.(*Error); ok && e.Name == "CompileError" {
		for _, n := range append(s.added, s.newNames(cell, items)...) {
			if _, isType := s.types[n]; !isType {
				s.withdrawn[n] = true
				delete(s.names, n)
			}
		}
		return
	}
	if len(s.withdrawn) == 0 {
		return
	}
	for _, it := range items {
		for _, n := range definedNames(cell[it.Start:it.End]) {
			delete(s.withdrawn, n)
		}
	}
}
