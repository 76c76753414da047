package backend

// The interfaces below are the optional operation sets a backend may provide.
// Package tensor checks for them with a type assertion on the active backend;
// an operation a backend lacks (no method, or ErrNotImplemented) runs on the
// CPU instead, with a one-time notice. They work on host slices in row-major
// order so that an implementation needs no import of package tensor.

// Prober is implemented by backends that may be unusable on this machine or
// build. Available returns nil when the backend can run, or an error wrapping
// ErrUnavailable that says what is missing.
type Prober interface {
	Available() error
}

// MatMuler multiplies batches of float32 matrices.
//
// For i in [0, batch): C_i = op(A_i)·op(B_i), where op(A_i) is m×k (A_i is
// stored k×m when transA), op(B_i) is k×n (stored n×k when transB) and C_i is
// m×n, all dense and row-major. A_i starts at a[i·strideA] and B_i at
// b[i·strideB]; a stride of 0 shares one matrix across the batch. C_i starts
// at c[i·m·n] and is overwritten.
type MatMuler interface {
	MatMul32(transA, transB bool, batch, m, n, k int, a []float32, strideA int, b []float32, strideB int, c []float32) error
}

// Elementwiser applies a named elementwise function to float32 data:
// y_i = f(x_i), with len(y) == len(x). Names are those of package tensor's
// unary functions in lower case: "exp", "log", "sqrt", "square", "abs",
// "neg", "softplus", "sigmoid", "logsigmoid", "silu", "relu".
type Elementwiser interface {
	Unary32(op string, x, y []float32) error
}
