// Package ssd is the math of Mamba-2 / 2Mamba (State Space Duality) as a
// library a notebook calls: decay masks, feature maps of any order, norms,
// the block's small parts, the three equivalent computation forms and the
// backward passes of the quadratic and chunked ones, the one preset table of
// the paper's variants and their memory accounting.
//
// # Shapes and conventions
//
// Per head, queries and keys are (B, H, L, d), values (B, H, L, d_v), the
// per-step log-decay a is (B, H, L) with a_t ≤ 0 (nil means no decay). Every
// function works on float32 and float64 tensors through the same code; the
// float64 quadratic form is the oracle the other forms are tested against.
// The score is s_ij = q_i·k_j·scale with scale = 1/√d unless Options.Scale
// says otherwise, applied before the power: order p uses s^p. The decay mask
// is AM_ij = exp(Σ_{u=j+1}^{i} a_u) (j ≤ i), formed from segment sums within a
// row, chunk or block, never from a difference of one global cumulative sum.
//
// # The forms
//
//	Quadratic   P = f(Q Kᵀ·scale) ⊙ AM ⊙ M, Y = P V              O(L²d), the oracle
//	Recurrent   S_t = e^{a_t} S_{t−1} + ψ(k_t·scale) v_tᵀ, y_t = ψ(q_t)ᵀ S_t
//	Chunked     the SSD algorithm: diagonal blocks with s^p, states passed between chunks
//	Blockwise   online (flash-attention style), also for exp
//	State.Step, KVCache.Step   one token at a time (decoding)
//	Auto        the fastest form where it runs (on a device the backend's choice)
//
// ψ is the order-p symmetric feature map (Feature): C(d+p−1, p) features with
// φ_p(x)·φ_p(y) = (x·y)^p; for p = 2 the row-major upper triangle of x xᵀ with
// √2 off the diagonal (D = 2080 for d = 64). Exp (softmax) attention has no
// finite state: only Quadratic, Blockwise and a KVCache apply, and the other
// forms refuse it with an error.
//
// # Normalisation
//
// NormOutput applies RMSNorm over the merged heads (eps DefaultEps = 1.19e-7,
// torch.finfo(float32).eps, unless set). NormSoftmax divides by Σ_j P_ij; a
// row whose denominator is exactly zero outputs zeros (0/0 := 0) in every
// form. The recurrent and chunked forms carry the denominator as an extra
// value column (State.S has d_v + 1 columns, the last being z).
//
// # Gradients
//
// QuadraticBackward and ChunkedBackward return dq, dk, dv and the gradient
// w.r.t. the per-step log-decays a for an output gradient (spec §f,
// Appendix C with C.5 corrected, f'(s) = p·s^{p−1} for any order p, exp,
// every norm; NormOutput goes back through its RMSNorm first). They are what
// package nn trains with. The quadratic backward recomputes P per head (O(L²)
// memory); the chunked one replays the chunk states and runs the chunks in
// reverse (O(L·(chunk·d + D·d_v)) per head). Tests: central differences
// ≤ 1e-6 for orders 1–4 and exp × every norm × three masks, chunked =
// quadratic ≤ 1e-10 in float64 for every mask and chunk length. Always on
// the CPU.
//
// # Variants and presets
//
// Variant names every axis of the paper's ablation (order, scale, mask, norm,
// eps, conv width and SiLU, QK activation, V ⊙ dt, D residual, Z gate);
// PresetTable is the module's one table of the paper's configurations, each
// row naming the 2Mamba code's config it reproduces (spec §d) and the block
// parts the variant does not describe (dt bias, conv and Z biases, RoPE):
// Linear, Mamba2 (Alg. 3: scale 1, eps 1e-5), Mamba2S (Alg. 4), TwoMamba
// (Alg. 5 as run for the medium model, no dt) and TwoMambaDT (with dt on the
// values), TwoMambaE and TwoMambaEDT, Softmax. package nn's Preset reads it.
//
// # Accuracy
//
// Float64 forms agree with the quadratic form to 1e-10 relative (max abs
// difference over max abs value). Float32 forms against the float64 oracle
// fed the same float32-rounded inputs: Quadratic, Chunked and Blockwise to
// 1e-4 (float32 GEMMs; they square after the dot product inside a chunk),
// Recurrent and State.Step to 1e-6 at every order and norm (measured
// ≤ 6e-8, TestRecurrentAccuracy32), and KVCache.Step (exp), which keeps
// its cache in float64, likewise. A float32 state is updated in float64:
// State keeps a float64 copy of S and rounds it into S after every call.
// A float32 state alone is not enough, because every recurrent output is a
// feature-map product φ(q)ᵀS = Σ_r φ_r(q) S_r of D terms of both signs that
// cancel down to Σ_j w_j (q·k_j)^p v_j (spec §e), worst when one nearly
// orthogonal pair carries a row's mass (strong decay); the roundings of
// ψ(k), of S and of the sum each mattered. Order 2, softmax norm, B = 1,
// H = 2, d = d_v = 16, the softplus mask (strong: a ≈ −20 per step), the
// oracle float64 Quadratic (float64 Chunked at L = 8192); Recurrent and
// Step give the same numbers:
//
//	L      normal decay             strong decay
//	       before      after        before      after
//	       (float32 S) (float64)    (float32 S) (float64)
//	1      6.2e-6      1.1e-16      6.2e-6      1.1e-16
//	200    4.9e-6      4.1e-8       1.6e-2      3.2e-8
//	2048   1.4e-5      5.4e-8       1.2         3.4e-8
//	8192   1.1e-5      3.1e-8       1.6         4.3e-8
//
// The cost, measured with BenchmarkStepOrder2 (one token) and
// BenchmarkRecurrentOrder2 (L = 256), H = 4, d = 64, D = 2080, softmax
// norm, on a shared 2-core machine (load ≈ 8), medians of 6 runs
// alternating the float32 and the float64 state in one session:
//
//	                     before: float32 S  after: float64 copy of S
//	Step, OpenBLAS       0.50 ms            1.55 ms
//	Step, pure Go        0.65 ms            1.24 ms
//	Recurrent, OpenBLAS  74 ms              143 ms
//	Recurrent, pure Go   178 ms             149 ms
//	state memory/head    529 KiB (Bytes)    1.55 MiB (Footprint: S + copy)
//
// Step runs one fused scalar pass over S and its copy; Recurrent runs the
// float64 BLAS calls per token and rounds S once per call.
// A Step continuing from a Chunked state (or a hand-written S) starts
// from that float32 S. Decay exponents are always summed in float64;
// float32 weights below 1e-30 in the quadratic, chunked and blockwise forms are
// flushed to zero (subnormal arithmetic is 10-20x slower, and such a weight
// is far below float32 precision next to the current token's weight 1).
//
// # Devices
//
// Every form follows tensor's one rule: it runs where its inputs live.
// Quadratic, Chunked and Auto run on a device (package gpu's shaders, via
// backend.DeviceSSD) when their float32 inputs are resident there
// (tensor's To("gpu"), or constructors under tensor.SetDevice("gpu")):
// their results, and Chunked's final state, are then resident too, and
// nothing is read back but one float of the NaN/Inf check. Host inputs run
// on the CPU; inputs on two devices are an error naming both
// (tensor.ErrDevice).
//
//	on the device   orders 1 and 2; NormNone, NormSoftmax, NormOutput (its RMSNorm
//	                on the host, so that result is read back); a nil or per-step a;
//	                any scale; d, d_v ≤ 256; chunk ≤ 1024 (the fused chunked shader
//	                for d ≤ 64, the staged one above)
//	on the cpu      Exp (softmax) attention, order ≥ 3, Chunked from a state s0 ≠ nil,
//	                Recurrent, Blockwise, State.Step, and float64: with resident
//	                inputs after tensor's one-time notice naming the primitive,
//	                their results moved back to the inputs' device
//
// Chunked's final state on the device, S = Σ_j exp(Σ_{u=j+1}^{L} a_u)·
// ψ(k_j·scale)·[v_j, 1]ᵀ, is summed from the fused shader's chunk states
// where it takes the shape (d ≤ 64): each chunk's state, then one pass over
// the chunks, all on the device; for larger d from k, v and a in one pass
// (the recursion unrolled). Either equals the CPU's state to float32
// accuracy (tested against the float64 state), and State.Step continues
// from it (on the CPU, reading it back once). Variant.Core and Auto skip
// the state; on a device, Auto and Variant.Core's FormAuto let the backend
// choose between the chunked and quadratic forms for the shape
// (gpu.SSDForm). The state costs a second pass over k and v: on an H100
// (B=1, H=16, d=64) Chunked with its state takes 8.3 ms at order 1, L =
// 128K, against 8.0 ms for Auto, and 24.1 against 16.5 ms at order 2, L =
// 32K (bench/results/h100-2026-11-23f-lead.txt): call Auto when the state
// is not needed.
//
// # Errors
//
// Shape mistakes, impossible forms, chunk ≤ 0 and order < 1 panic with a
// *tensor.Error naming the primitive, the argument and both shapes; a NaN or
// Inf in a primitive's output panics with an error wrapping
// tensor.ErrNotFinite and naming the primitive. The notebook boundary
// recovers both. Large buffers are allocated through tensor.New (memory cap).
//
// # Speed
//
// GEMMs are the module's one SGEMM and DGEMM (backend/cpu's Sgemm and
// Dgemm: OpenBLAS when built with it, gonum otherwise), which speed up
// Quadratic, Chunked and Blockwise; a recurrent step is three float64
// level-2 BLAS calls per head (State.Step on a float32 state: one fused
// pass, see Accuracy). Heads (b, h) run in parallel on
// GOMAXPROCS goroutines (SetWorkers caps them): use a single-threaded BLAS
// (OPENBLAS_NUM_THREADS=1), since a threaded OpenBLAS inside each goroutine
// oversubscribes the cores (measured 5-10x slower on 2 cores).
//
// Chunked at order 1 is three GEMMs a chunk and no pass over a mask: the
// decay is folded into the operands, exp(cs_i − cs_j) = exp(cs_i)·exp(−cs_j),
// and the diagonal block and the entering state share one product,
// Y_c = [diag(e^{cs}) Q_c | G] [S; diag(e^{−cs}) V_c]. It applies on the
// longest prefix of each chunk whose log-decays stay within ±60 of the
// chunk's start in float32 (±300 in float64), so the factors stay in range;
// a chunk where that prefix is shorter than half the chunk (decays below
// about −2 a step at chunk 64) runs the general path, as orders p > 1 do.
package ssd
