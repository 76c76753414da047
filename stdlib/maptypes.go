package stdlib

import (
	"encoding"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log"
	"reflect"

	"github.com/furious-lab/furious/display"
)

// MapTypes tells yaegi which interfaces a compiled function looks for in its
// interface{} arguments (fmt.Println calls String, json.Marshal calls
// MarshalJSON), so that values of interpreted types are wrapped to satisfy
// them. It is exported to the interpreter under the "." key of Symbols.
var MapTypes = map[reflect.Value][]reflect.Type{}

func typeOf[T any]() reflect.Type { return reflect.TypeOf((*T)(nil)).Elem() }

func init() {
	printing := []reflect.Type{typeOf[fmt.Formatter](), typeOf[fmt.Stringer]()}
	scanning := []reflect.Type{typeOf[fmt.Scanner]()}
	marshal := func(m reflect.Type) []reflect.Type { return []reflect.Type{m, typeOf[encoding.TextMarshaler]()} }
	unmarshal := func(m reflect.Type) []reflect.Type { return []reflect.Type{m, typeOf[encoding.TextUnmarshaler]()} }

	// Functions are not comparable, so the table is a list of pairs.
	type entry struct {
		fns   []any
		types []reflect.Type
	}
	for _, e := range []entry{
		{[]any{fmt.Errorf, fmt.Fprint, fmt.Fprintf, fmt.Fprintln, fmt.Print, fmt.Printf, fmt.Println,
			fmt.Sprint, fmt.Sprintf, fmt.Sprintln, fmt.Append, fmt.Appendf, fmt.Appendln,
			log.Print, log.Printf, log.Println, log.Fatal, log.Fatalf, log.Fatalln,
			log.Panic, log.Panicf, log.Panicln}, printing},
		{[]any{fmt.Scan, fmt.Scanf, fmt.Scanln, fmt.Fscan, fmt.Fscanf, fmt.Fscanln,
			fmt.Sscan, fmt.Sscanf, fmt.Sscanln}, scanning},
		{[]any{json.Marshal, json.MarshalIndent}, marshal(typeOf[json.Marshaler]())},
		{[]any{json.Unmarshal}, unmarshal(typeOf[json.Unmarshaler]())},
		{[]any{xml.Marshal, xml.MarshalIndent}, marshal(typeOf[xml.Marshaler]())},
		{[]any{xml.Unmarshal}, unmarshal(typeOf[xml.Unmarshaler]())},
		{[]any{display.Render, display.Show, display.Display, display.Update}, display.Renderers},
	} {
		for _, fn := range e.fns {
			MapTypes[reflect.ValueOf(fn)] = e.types
		}
	}
	Symbols["."] = map[string]reflect.Value{"MapTypes": reflect.ValueOf(MapTypes)}
}
