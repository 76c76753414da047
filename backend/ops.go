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

// Finisher is implemented by a backend whose operations may return before
// its device has done them (a GPU's queue). Finish blocks until the work
// queued so far is done and returns the first failure not yet reported; a
// backend that has not opened its device returns nil at once.
type Finisher interface {
	Finish() error
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

// DeviceBuffer is float32 data held in a backend's device memory (a GPU
// storage buffer), Len() values long. Read32 copies the first len(dst)
// values to the host (waiting for the work that writes them), Write32
// copies src into the first len(src). Release frees the memory now;
// releasing twice is harmless, and a buffer dropped unreleased is freed
// later by the garbage collector.
type DeviceBuffer interface {
	Len() int
	Read32(dst []float32) error
	Write32(src []float32) error
	Release()
}

// Resident is implemented by a backend that keeps float32 data on its
// device between operations. Upload32 allocates a buffer holding a copy
// of x, Alloc32 one of n uninitialised values; a refusal for lack of
// device memory is an error wrapping ErrOutOfMemory.
// DeviceBytes is the memory held by the backend's live buffers.
type Resident interface {
	Upload32(x []float32) (DeviceBuffer, error)
	Alloc32(n int) (DeviceBuffer, error)
	DeviceBytes() int64
}

// DeviceMatMuler is MatMuler on device buffers of the same backend: for i
// in [0, batch), C_i = op(A_i)·op(B_i), A_i at a[offA + i·strideA] (m×k,
// stored k×m when transA), B_i at b[offB + i·strideB] (k×n, stored n×k
// when transB), C_i at c[offC + i·m·n]; a stride of 0 shares one matrix
// across the batch.
type DeviceMatMuler interface {
	MatMulDevice32(transA, transB bool, batch, m, n, k int, a DeviceBuffer, offA, strideA int, b DeviceBuffer, offB, strideB int, c DeviceBuffer, offC int) error
}

// DeviceElementwiser applies elementwise functions on device buffers:
// UnaryDevice32 sets y_i = f(x_i) for the names of Elementwiser plus
// "scale" (s·x) and "addscalar" (x + s); BinaryDevice32 sets y_i = a_i ∘ b_i
// for op "add", "sub", "mul" or "div", all three of one length. A name the
// backend has no kernel for returns an error wrapping ErrNotImplemented.
// AllFinite32 reports whether no value of x is NaN or ±Inf.
type DeviceElementwiser interface {
	UnaryDevice32(op string, s float64, x, y DeviceBuffer) error
	BinaryDevice32(op string, a, b, y DeviceBuffer) error
	AllFinite32(x DeviceBuffer) (bool, error)
}

// SSDParams describes one SSD (causal attention) call, from package ssd
// through a backend's DeviceAttentioner and DeviceSSD to its shaders: BH
// independent (batch, head) slices of L steps, query and key dimension D,
// value dimension DV. Per slice, for q_i, k_j (D) and v_j (DV):
//
//	s_ij  = Scale·q_i·k_j              (the caller resolves Scale, e.g. 1/√D)
//	f(s)  = s^Order (Order = p ≥ 1)    or eˢ with Exp (Order is then not read)
//	AM_ij = exp(Σ_{u=j+1}^{i} a_u)     (1 when the log-decays a are nil)
//	P_ij  = f(s_ij)·AM_ij for j ≤ i,   0 above the diagonal
//	y_i   = Σ_j P_ij·v_j               divided by Σ_j P_ij with Norm (the softmax
//	                                   norm; a zero denominator gives 0)
//
// Exp with Norm is softmax attention under the decay bias. Form chooses how
// a DeviceSSD computes it: "quadratic" (the L×L form), "chunked" (chunks of
// Chunk steps, the state passed between them) or "auto" (the backend picks,
// and reports its choice).
// A backend takes the orders, forms and sizes it has code for and returns
// an error wrapping ErrNotImplemented for the others.
type SSDParams struct {
	BH, L, D, DV int
	Order        int
	Exp          bool
	Norm         bool
	Scale        float32
	Form         string
	Chunk        int
}

// DeviceSSD computes the SSD forward of SSDParams on device buffers: q, k
// (BH, L, D), v, y (BH, L, DV), a (BH, L) or nil. It returns the form it
// ran. SSDState32 writes the state after the whole sequence, from the zero
// state, S_h = Σ_j exp(Σ_{u=j+1}^{L} a_u)·ψ(Scale·k_j)·[v_j, 1]ᵀ, into s
// (BH, F, W): ψ is the order-Order symmetric feature map (F = D, or
// D(D+1)/2 at order 2, row-major upper triangle with √2 off the diagonal;
// Form and Chunk are not read, and Exp has no finite state)
// and W = DV+1 with Norm (the last column is the denominator z), else DV.
// A shape the backend does not take returns an error wrapping
// ErrNotImplemented.
type DeviceSSD interface {
	SSDDevice32(p SSDParams, q, k, v, a, y DeviceBuffer) (form string, err error)
	SSDState32(p SSDParams, k, v, a, s DeviceBuffer) error
}

// AttnBuffers are the device buffers of one DeviceAttentioner call, for
// the record SSDParams p (BH slices of L steps):
//
//	Q, K (BH, L, D), V (BH, L, DV)   inputs
//	A (BH, L)                        per-step log-decays a, or nil (no decay)
//	Y (BH, L, DV), Stat (BH, L)      written by the forward, read by the backward
//	DO (BH, L, DV)                   the output gradient (backward)
//	DQ, DK (BH, L, D), DV (BH, L, DV) written by the backward
//	DA (BH, L)                       written by the backward; nil skips it (nil when A is)
//
// Stat is the row statistic the backward rebuilds P from without an L×L
// matrix: 1/Σ_j P_ij (0 where that sum is exactly 0) with Norm, 1 without,
// at orders p; log Σ_j exp(s_ij + log AM_ij) with Exp and Norm (the
// log-sum-exp), 0 with Exp alone. Outputs must not alias inputs.
type AttnBuffers struct {
	Q, K, V, A     DeviceBuffer
	Y, Stat        DeviceBuffer
	DO             DeviceBuffer
	DQ, DK, DV, DA DeviceBuffer
}

// DeviceAttentioner computes the causal attention of SSDParams forward
// and backward on device buffers. Form "chunked" (orders 1 and 2) runs the
// chunked form (spec §e.3), linear in L: pairs within a chunk of Chunk
// steps as below, earlier chunks through the states S_c and their
// gradients (a chunked record the backend cannot hold returns an error
// wrapping ErrNotImplemented). Any other Form ("quadratic", "auto") runs
// the quadratic form (spec §e.1) flash-attention style: key blocks are
// visited in tiles with the decay mask built from within-block segment
// sums, and no L×L matrix is stored, so any L runs. Y and Stat mean the
// same in both forms, so a backward may use another form than its forward.
//
// AttentionDevice32 writes b.Y (y_i = Σ_j P_ij·v_j, divided by Σ_j P_ij
// with Norm, 0 for a zero sum; with Exp and Norm an online softmax) and
// b.Stat. AttentionBackwardDevice32 reads b.Q, b.K, b.V, b.A, b.Y, b.Stat
// and b.DO and writes the gradients (spec §f, C.1 to C.6 as corrected):
//
//	W = P·Stat (orders p) or exp(s + log AM − Stat) (Exp),  Δ_i = dO_i·y_i with Norm, else 0
//	G'_ij = dO_i·v_j − Δ_i,  dS = G'·f'(s)·AM·Stat (orders p) or G'·W (Exp)
//	dQ = Scale·dS K,  dK = Scale·dSᵀ Q,  dV = Wᵀ dO
//	dlogAM = G' ⊙ W,  da_t = Σ_{u ≥ t} (Σ_j dlogAM_uj − Σ_i dlogAM_iu)
//
// (the query-side sum Σ_j dlogAM_uj is identically 0 with Norm and is not
// computed there). A record or size without a shader returns an error
// wrapping ErrNotImplemented.
type DeviceAttentioner interface {
	AttentionDevice32(p SSDParams, b AttnBuffers) error
	AttentionBackwardDevice32(p SSDParams, b AttnBuffers) error
}

// DeviceGatherer copies strided views on device buffers (the layout
// operations of package tensor: Permute, Transpose, Slice, Concat): for
// every index (i_0, …, i_{r−1}) of shape,
//
//	y[ybase + Σ_d i_d·ystrides[d]] = x[base + Σ_d i_d·strides[d]]
//
// with r = len(shape) ≤ 8 and nil ystrides meaning y's row-major strides
// for shape (a contiguous result). Other elements of y are left as they are.
type DeviceGatherer interface {
	GatherDevice32(x DeviceBuffer, base int, strides []int, y DeviceBuffer, ybase int, ystrides []int, shape []int) error
}

// DeviceBroadcaster applies a binary function with broadcasting on device
// buffers: for every row-major index i of shape (rank ≤ 8),
//
//	y[flat(i)] = a[Σ_d i_d·stridesA[d]] ∘ b[Σ_d i_d·stridesB[d]]
//
// where a broadcast axis has stride 0, and ∘ is "add", "sub", "mul",
// "div", "maximum" or "minimum" (NaN when either operand is NaN).
type DeviceBroadcaster interface {
	BroadcastDevice32(op string, a DeviceBuffer, stridesA []int, b DeviceBuffer, stridesB []int, shape []int, y DeviceBuffer) error
}

// DeviceReducer reduces one axis on device buffers: x is (outer, n,
// inner) row-major and y (outer, inner) receives, for op "sum", "mean",
// "max" or "min", the reduction over n, accumulated as package tensor's
// CPU code does (float64 sums in order, rounded once; max and min
// propagating NaN); for op "cumsum" y is (outer, n, inner) and receives
// the inclusive running sums over n (float64, each rounded once), for
// "reversecumsum" the running sums from the end (y_j = Σ_{i≥j} x_i). An op
// the backend has no kernel for returns an error wrapping ErrNotImplemented.
type DeviceReducer interface {
	ReduceDevice32(op string, x DeviceBuffer, outer, n, inner int, y DeviceBuffer) error
}

// The interfaces below are the device side of package tensor's model
// operations (tensor/nnops.go, conv.go, loss.go). Each works on device
// buffers of one backend, row-major, float32; an operation a backend cannot
// do for some shape returns an error wrapping ErrNotImplemented and package
// tensor runs it on the CPU. A nil buffer stands for an absent optional
// operand or result.

// DeviceIndexer gathers and scatter-adds along one axis: with x viewed as
// (outer, n, inner), GatherIndexDevice32 writes y (outer, len(idx), inner),
// y[o,j,i] = x[o,idx[j],i]; ScatterAddDevice32 writes y (outer, n, inner)
// = zeros plus, for each j, g[o,j,i] added at y[o,idx[j],i] (g is (outer,
// len(idx), inner)).
// PadDevice32 writes y (outer, before+m+after, inner) from x (outer, m,
// inner): x's rows at positions before … before+m−1 of the axis, zeros
// around them (the gradient of a slice, with no index upload).
type DeviceIndexer interface {
	GatherIndexDevice32(x DeviceBuffer, outer, n, inner int, idx []int, y DeviceBuffer) error
	ScatterAddDevice32(g DeviceBuffer, outer, n, inner int, idx []int, y DeviceBuffer) error
	PadDevice32(x DeviceBuffer, outer, m, inner, before, after int, y DeviceBuffer) error
}

// DeviceSoftmaxer computes row softmax over x (rows, n): y_i = e^{x_i−m}/Σ_j
// e^{x_j−m}, or with log the log-softmax y_i = x_i − m − log Σ_j e^{x_j−m}
// (m the row maximum); SoftmaxBackwardDevice32 writes dx for the output
// gradient g at the output y: y_i(g_i − Σ_j g_j y_j), or with log
// g_i − e^{y_i} Σ_j g_j.
type DeviceSoftmaxer interface {
	SoftmaxDevice32(log bool, x DeviceBuffer, rows, n int, y DeviceBuffer) error
	SoftmaxBackwardDevice32(log bool, g, y DeviceBuffer, rows, n int, dx DeviceBuffer) error
}

// DeviceNormer computes RMSNorm over rows of x (rows, n) with weight w (n)
// or nil: r_row = 1/√(mean(x²) + eps) into r (rows), y = x·r ⊙ w; and its
// backward for the output gradient g: with x̂ = x·r, ĝ = g ⊙ w,
// dx = r(ĝ − x̂·mean(ĝ ⊙ x̂)), dw = Σ_rows g ⊙ x̂ (dw nil when w is nil).
type DeviceNormer interface {
	RMSNormDevice32(x, w DeviceBuffer, rows, n int, eps float64, y, r DeviceBuffer) error
	RMSNormBackwardDevice32(g, x, w, r DeviceBuffer, rows, n int, dx, dw DeviceBuffer) error
}

// DeviceRotator rotates pairs of x (batch, L, d): for position t and pair
// i, (x_2i, x_2i+1) → (x_2i c − x_2i+1 s, x_2i s + x_2i+1 c) with c, s the
// entries (t, i) of cos and sin (L, d/2).
type DeviceRotator interface {
	RotaryDevice32(x DeviceBuffer, batch, L, d int, cos, sin, y DeviceBuffer) error
}

// DeviceGrader writes the fused elementwise gradient dx_i = g_i·f'(x_i, y_i)
// of the unary function named op (tensor.UnaryGradNames; s is the
// parameter of "scale"); x or y is nil when op does not read it.
type DeviceGrader interface {
	UnaryGradDevice32(op string, s float64, g, x, y, dx DeviceBuffer) error
}

// DeviceConvolver computes the depthwise causal convolution of x (B, L, C)
// with w (C, W) and bias (C) or nil, y[b,t,c] = bias[c] + Σ_κ
// w[c,κ]·x[b,t−(W−1)+κ,c] (zero history), and its backward for g (B, L,
// C): dx[b,s,c] = Σ_κ w[c,κ] g[b,s+W−1−κ,c], dw[c,κ] = Σ_{b,t} g[b,t,c]
// x[b,t−(W−1)+κ,c], db[c] = Σ_{b,t} g[b,t,c] (db nil: not wanted).
type DeviceConvolver interface {
	CausalConv1dDevice32(x, w, bias DeviceBuffer, B, L, C, W int, y DeviceBuffer) error
	CausalConv1dBackwardDevice32(g, x, w DeviceBuffer, B, L, C, W int, dx, dw, db DeviceBuffer) error
}

// DeviceLosser computes the cross-entropy over rows of a log-softmax logp
// (rows, n): the mean of −logp[r, targets[r]] over the rows whose target is
// not ignore (0 when there are none), and its gradient with respect to the
// logits, scale·(e^{logp} − onehot) on counted rows and 0 on ignored ones.
type DeviceLosser interface {
	CrossEntropyDevice32(logp DeviceBuffer, rows, n int, targets []int, ignore int) (float64, error)
	CrossEntropyGradDevice32(logp DeviceBuffer, rows, n int, targets []int, ignore int, scale float64, dx DeviceBuffer) error
}

// DeviceOptimizer updates parameters and gradients in place on the device.
// AdamWDevice32 applies one AdamW step to n parameters p with gradient g
// and moments m, v (all float32 on the device): p ← p − lr·wd·p,
// m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − lr(m/bc1)/(√(v/bc2) + eps).
// AxpyDevice32 sets y ← y + alpha·x (x and y of one length): gradient
// accumulation and plain gradient descent. SumSquaresDevice32 writes
// out[i] = Σ_{j<ns[i]} xs[i][j]² (float64 sums, rounded once) for every
// buffer of xs: the global norm of gradients, for clipping, read back once.
type DeviceOptimizer interface {
	AdamWDevice32(p, g, m, v DeviceBuffer, n int, lr, beta1, beta2, eps, wd, bc1, bc2 float64) error
	AxpyDevice32(alpha float64, x, y DeviceBuffer) error
	SumSquaresDevice32(xs []DeviceBuffer, ns []int, out DeviceBuffer) error
}
