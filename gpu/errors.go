package gpu

import "fmt"

// Error is the error of a GPU operation: the shader (or "" for buffer
// operations), what was being done, and the cause. Compile and link logs,
// GL errors after a dispatch and GL_OUT_OF_MEMORY all arrive as *Error;
// errors.Is(err, ErrOutOfMemory) tells the last apart.
type Error struct {
	Shader string // e.g. "matmul.comp"
	Op     string // "compile", "dispatch", "allocate", "upload", ...
	Err    error
}

func (e *Error) Error() string {
	if e.Shader == "" {
		return fmt.Sprintf("gpu: %s: %v", e.Op, e.Err)
	}
	return fmt.Sprintf("gpu: %s: %s: %v", e.Shader, e.Op, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// argPanic panics with an *Error for a programmer mistake (bad sizes,
// released buffers): these are not data-dependent failures.
func argPanic(shader, op, format string, args ...any) {
	panic(&Error{Shader: shader, Op: op, Err: fmt.Errorf(format, args...)})
}
