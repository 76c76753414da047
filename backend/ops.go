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

// AttnParams describes one call of an Attentioner: BH independent (batch,
// head) slices of L steps, query and key dimension D, value dimension DV.
// Order is 1 (f(s) = s), 2 (f(s) = s²) or −1 (f(s) = eˢ); SMNorm divides
// each output row by its normaliser Σ_j P_ij.
type AttnParams struct {
	BH, L, D, DV int
	Order        int
	SMNorm       bool
}

// Attentioner computes float32 causal attention in its quadratic form (the
// attention of package nn, spec §e.1), forward and backward, per slice:
//
//	s_ij = q_i·k_j/√D,  AM_ij = exp(Σ_{u=j+1}^{i} a_u) (1 when a is nil),
//	P_ij = f(s_ij)·AM_ij for j ≤ i, 0 above the diagonal,
//	y_i = Σ_j P_ij v_j  [/ Σ_j P_ij with SMNorm; a row whose normaliser is exactly 0 gives 0]
//
// q, k (BH, L, D), v, y, dO, dv (BH, L, DV), a and da (BH, L) per-step
// log-decays or nil, all row-major. With OrderExp and SMNorm the row maximum
// of s_ij + log AM_ij is subtracted before exponentiating; without SMNorm
// nothing is, as in package ssd. AttentionBackward32 overwrites dq, dk, dv
// with the gradients for the output gradient dO and, when a is not nil, da
// with the gradient w.r.t. the per-step log-decays a (spec §f: the reverse
// cumulative sum of the query- and key-side gradients w.r.t. the cumsum).
// A backend returns an error wrapping ErrNotImplemented for a shape it does
// not take (the caller then runs the CPU code).
type Attentioner interface {
	Attention32(p AttnParams, q, k, v, a, y []float32) error
	AttentionBackward32(p AttnParams, q, k, v, a, dO, dq, dk, dv, da []float32) error
}
