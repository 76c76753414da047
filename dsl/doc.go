// Package dsl is the notebook's Go: a yaegi interpreter session whose state
// (imports, functions, types, variables) persists from cell to cell.
//
// # Cells
//
// A cell is any mix of imports, declarations and statements. Eval splits it
// at top-level semicolons (Split) and runs, in this order: its imports
// (those already in scope are skipped), its func/method/type declarations
// (hoisted, as in a Go file), then its statements, var and const in source
// order. Each part is evaluated with the cell's own line and column layout,
// so compile errors read "cell L:C: message".
//
// When the last statement is an expression its value becomes the cell's
// result, rendered by display.Render inside the interpreter so that
// interpreted types with HTML()/PNG()/SVG()/Markdown() methods render
// richly. Calls of fmt's and log's Print functions are not results (their
// (n, err) is noise).
//
// # Redefinition
//
// Functions and variables may be redefined by later cells. yaegi cannot
// change a type once defined: the same declaration again is accepted (so
// re-running a cell works), a different one is refused with a message
// saying to restart the kernel or use another name.
//
// # Errors
//
// Eval returns *Error: CompileError (with positions), panic (with the
// interpreted frames as cell positions, and the Go stack for runtime errors
// in compiled code) or Interrupted. The session stays usable after any of
// them.
//
// # Interruption
//
// Eval takes a context; cancelling it stops interpreted code (loops, calls)
// within microseconds. A compiled function already running (time.Sleep, a
// long primitive) finishes in the background unless it watches a context.
//
// # Output
//
// The interpreter writes to the Options' Stdout and Stderr (fmt.Print*,
// os.Stdout, log), so no process-wide file descriptor is swapped per cell
// and goroutines started by a cell write to the same streams.
package dsl
