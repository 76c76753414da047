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
// # Guards and transactions
//
// Before a cell is evaluated it is rewritten (guardCell, rewrite.go; only
// text on the same lines, so positions keep their lines) so that failures
// yaegi cannot hook stay cell errors: a panic in a goroutine the cell
// starts or in a callback compiled code calls on another goroutine is
// recovered and reported naming where the function came from; recursion
// deeper than FURIOUS_MAX_DEPTH is a *RecursionError naming the function;
// make and append(s, t...) beyond FURIOUS_MEM_LIMIT or the available
// memory are a *MemoryError naming the size. The same rewriting works
// around yaegi defects (inner-block variables at top level, parallel
// assignments, an interface field of a compiled struct set in a composite
// literal to a value of a cell's type). A cell that fails to compile leaves no names behind
// (transaction.go). What no Go process survives (concurrent map writes, a
// stack overflow in compiled code, the system's OOM killer) is the kernel
// package's supervisor's business.
//
// # Interruption
//
// Eval takes a context. Cancelling it raises tensor.Interrupt at once, so
// compiled code that polls it (ssd primitives, nn's ops and Backward,
// nn.Trainer.Run between steps) stops with ErrInterrupted and the cell
// usually ends by itself within milliseconds. A cell still running
// interruptGrace (250 ms) later is stopped by yaegi: interpreted code
// (loops, calls) stops within microseconds, and a compiled function already
// running (time.Sleep, a long primitive) finishes in the background unless
// it watches a context. That forced stop has a cost the Interrupted error
// then names: function literals created before it and kept in variables or
// fields (a Trainer's OnProgress, a callback) silently do nothing afterwards
// (yaegi v0.16 ties a closure to the run it was made in); declared
// functions and literals passed straight to compiled functions are not
// affected.
//
// # Output
//
// The interpreter writes to the Options' Stdout and Stderr (fmt.Print*,
// os.Stdout, log), so no process-wide file descriptor is swapped per cell
// and goroutines started by a cell write to the same streams.
package dsl
