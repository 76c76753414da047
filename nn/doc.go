// Package nn trains models: a reverse-mode autograd engine over
// tensor.Tensor, gradients for the ops a model needs, the attention forms of
// every variant package ssd computes as graph nodes (forwards and backward
// passes from package ssd), finite-difference gradient checks, optimisers, schedules,
// layers and safetensors checkpoints. Data (MQAR, the Opticks character
// corpus) lives in nn/data.
//
// # Overview
//
// A Var is a node of the graph. Leaves are Param (trainable) or Const;
// every op (Add, MatMul, RMSNorm, Attention, ...) returns a new Var that
// remembers its parents and a BackwardFunc. Backward, called on a
// one-element loss, walks the graph once in reverse topological order and
// adds dL/dx to x.Grad for every Param x:
//
//	w := nn.Param(tensor.NewRNG(1).Randn(16, 8))            // (D, E)
//	x := nn.Const(tensor.NewRNG(2).Randn(4, 16))            // (B, L, D)
//	loss := nn.Mean(nn.Square(nn.MatMul(x, w)))      // ()
//	loss.Backward()                                  // w.Grad: (D, E)
//
// Each backward is a whole-tensor formula (a GEMM, a row-wise softmax
// Jacobian, a reverse cumsum), never a tape of scalar operations. nn owns
// the graph, the gradient formulas and the layers; every kernel is a
// package tensor operation (MatMulT, the broadcasting functions and SumTo,
// UnaryGrad, Gather/ScatterAdd, RMSNorm, CausalConv1d, CrossEntropy, AdamW,
// ...), so an op runs where tensor runs it.
// Gradients accumulate across Backward calls until ZeroGrad; the graph is
// released by Backward, so call it once per forward pass. NoGrad(f) runs f
// without recording (evaluation, optimiser steps). New differentiable ops
// (ssd primitives) are added with NewOp(value, parents, back).
//
// # Dtypes
//
// Every op works in float32 (the default, what training uses) and float64
// (what GradCheck uses); the result has the inputs' dtype and mixing dtypes
// panics. Reductions (sums, norms, softmax) accumulate in float64 in both.
//
// # Broadcasting
//
// Add, Sub, Mul and Div follow numpy: shapes align on the right and a
// size-1 or missing dim stretches, e.g. (B, L, D) + (D) or
// (B, H, L, d) ⊙ (H, 1, d). The gradient of a stretched input is summed
// back to its shape. MatMul is batched over equal leading dims, or shares a
// 2-D right operand across the batch (a linear layer).
//
// # Attention
//
// Attention (the quadratic form of spec §e) and ChunkedAttention (the
// chunked SSD form, finite orders) are thin graph nodes over package ssd:
// they take an ssd.Options — any order p ≥ 1 or exp, any score scale (0:
// 1/√d), every norm (none, softmax, the unit-weight output RMSNorm with its
// epsilon) — and a log-decay a (B, H, L) of any origin or nil. The forward
// is ssd.Quadratic or ssd.Chunked, the backward ssd.QuadraticBackward or
// ssd.ChunkedBackward (spec §f, Appendix C with C.5 corrected, generalised
// to f(s) = s^p: f' = p·s^{p−1}); nn has no second copy of the maths.
// Conventions are ssd's: segment sums Σ_{u=j+1}^{i} a_u for the mask, a row
// max subtracted inside the exponent for exp with softmax norm, and a
// softmax-norm row whose denominator Σ_j P_ij is exactly 0 outputs 0 (with
// gradient 0). The chunked form matches the quadratic one to ≤ 1e-10
// forward and backward in float64 and is what long sequences should use.
//
// # The block's other primitives
//
// CausalConv1d (depthwise, zero history, spec §d step 2; forward
// ssd.CausalConv1d) and KronFeature (the order-2 symmetric Kronecker map φ
// with φ(x)·φ(y) = (x·y)², spec §b; forward ssd.Feature) have whole-tensor
// backward passes. The decay a = −softplus(h W_A),
// discretisation V ⊙ dt, the D residual and the Z gate are compositions of
// Softplus, Neg, MatMul, Mul (broadcast) and SiLU.
//
// # Layers, optimisers, checkpoints
//
// Linear, Embed, Norm (RMSNorm) and SwiGLU hold named parameters made by an
// Init (seeded: the same seed and construction order give the same model
// everywhere) and expose Forward and Params. NewAdamW (decoupled weight
// decay, float64 moments), Schedule (linear warm-up then linear decay),
// ClipGradNorm and SGD update parameters. SaveParams/LoadParams write and
// read a named parameter set as safetensors (F32/F64);
// WriteSafetensors/ReadSafetensors work on streams.
//
// # Models and training
//
// BlockConfig is an attention block: it embeds ssd.Variant (order or exp,
// scale, mask, norm and its epsilon, conv width and SiLU after it on q, k
// and v, QK activation, V ⊙ dt, D residual, Z gate, chunk length) and adds
// the block's own parts (DModel, Heads, dt bias, conv and Z biases, RoPE,
// and Decay, the user's log-decay for ssd.MaskCustom as a function of the
// block input). It runs paper Alg. 3–5 exactly (spec §d's order of
// operations). Preset(name) reads the one preset table, ssd.PresetTable:
// "linear", "mamba2", "mamba2s", "2mamba", "2mamba-e", "softmax" (the
// paper's six, Presets) and "2mamba-dt", "2mamba-e-dt" (with dt on the
// values), each naming the 2Mamba config it reproduces. NewLM builds a
// decoder-only model (pre-norm block + SwiGLU per layer, final RMSNorm, LM
// head) from a ModelConfig and a seed. A Trainer runs the loop of a
// notebook cell: AdamW with a Schedule, clipping, evaluation every
// EvalEvery steps, safetensors checkpoints, a Progress callback (its String
// is a one-line progress bar) and a clean stop between steps when its
// context is cancelled or the notebook's interrupt (tensor.Interrupt, which
// NewOp and Backward also poll) reaches it; Run again resumes with the same
// callbacks and evaluation schedule. LossPlot draws curves (display.Lines).
//
// CompareMQAR and CompareChars train the same small model with each preset
// name and each named block (Candidate), or any Model a Candidate builds,
// on MQAR or on the Opticks characters and return a table (Markdown) and
// test-loss curves (LossPlot): the experiment in one notebook call.
// Recall scores any Model.
// Results of a run are in nn/testdata/experiment.
//
// NewVariantCard is a new variant's checks in one call, on a block
// configuration (a variant alone: BlockConfig{Variant: v}): its forms
// against the quadratic one in float64 and float32 decoding against
// float64, a gradient check of its nn block, its decoding memory and
// KV-cache crossover, each form's speed, and a short MQAR run beside 2Mamba
// with the test-loss curves. The card prints as text (String) and renders
// as HTML in a notebook, the curves as inline SVG; its numbers are fields.
//
// One simplification against the paper's code, by design: Mamba-2 is its
// attention-form simplification (per-head B and C, no separate MLP path);
// its gated RMSNorm is one group over all heads, as mamba_ssm's with
// ngroups = 1. The Softmax baseline uses RoPE, as in the paper.
//
// # Recurrent inference
//
// LM.NewDecoder returns an LMDecoder, the token-by-token state of one
// sequence: per layer the conv history (ssd.ConvState) and, per head, the
// finite state S ∈ R^{D×d} (+ z ∈ R^D with softmax norm) of ssd.State for
// every finite order p (D = C(d+p−1, p)), or an ssd.KVCache for the exp order (2Mamba-E, softmax;
// RoPE applied at each token's own position). Step(id) returns the next-token
// logits (Vocab), equal to LM.Forward's at that position (tests: ≤ 1e-5 in
// float32, ≤ 1e-9 in float64 for every preset); Generate(prompt, n, T, seed)
// draws what LM.Sample draws, at constant cost per token for the finite
// orders instead of rerunning the window; StateBytes is the decoding memory.
// A Decay function is called on one token at a time, so it must act
// position by position to decode.
//
// # Export to PyTorch
//
// ExportTorch writes an LM as PyTorch: model.py (export_torch.py with the
// model's CONFIG: every block axis, furious's parameter names and shapes
// — a Linear weight stays (in, out) — and numerics conventions; torch ≥ 1.13
// and numpy only, safetensors read and written by a few lines of its own),
// model.safetensors, and train.py (export_train.py: torchrun DDP training on
// the MQAR generator or a token file, drawn with furious's RNG, writing
// safetensors checkpoints under the same names). TorchExport.Train runs it
// here under torchrun; LoadTorch reads a checkpoint back after checking
// every name and shape. A custom log-decay exports when FixedDecay or
// TorchDecay made it (the exporter asks it through a probe input); any other
// Go function is an error naming the axis. Tests (needing python3-torch,
// failing without it under CI=true): logits within 1e-5 (float32) and 1e-10
// (float64) of their scale and gradients within 1e-4 for every preset and
// more, and a two-process torchrun round trip.
//
// # Gradient checks
//
// GradCheck (functions of tensors) and GradCheckParams (a model's
// parameters) compare Backward with fourth-order central differences in
// float64 and return max|g − n| / max(|g|, |n|) per input; the tests
// require < 1e-6 for every op, attention variant (orders 1–4, exp, every
// norm), preset block and whole model, an order-3 block and a block with a
// custom log-decay, and float32 gradients within a stated bound (1e-5 ops, 1e-4
// attention and layers, 1e-3 whole models) of float64 ones.
//
// # On a GPU
//
// Ops run where their inputs live (package tensor's one dispatch rule). A
// model whose parameters are on a device (built after
// tensor.SetDevice("gpu") or with FURIOUS_DEVICE=gpu, or moved with
// LM.To("gpu")) trains there whole in float32: every op of a step, forward
// and backward (embedding gather and scatter-add, products, norms, conv,
// rotary, the attention forms through ssd.Train on the backend's
// backend.DeviceAttentioner at any L, cross-entropy, GradNorm, AdamW), has
// a shader, and a step moves nothing between host and device but the
// token ids and the loss (tensor.Transfers; nn/gputest's
// TestTrainStepStaysOnDevice). What a device lacks (the output norm inside
// the attention, heads wider than its shaders) runs on the CPU after
// tensor's one-time notice, its results moved back. Float64 never leaves
// the CPU: the float64 CPU model is the oracle. On the device the
// gradients of every preset agree with the float32 CPU model's to 1e-4 of
// their scale (nn/gputest, on Mesa llvmpipe in CI and on an NVIDIA H100),
// and with the float64 model's at the benchmark sizes (furious bench
// --train's check column; past 1e-4 only for linear's ReLU on q and k at
// the large size, where one float32 ulp moves the float64 model's own
// gradient by more: README). Speed against PyTorch on the H100 is in the
// README and bench/results.
//
// # Errors
//
// Shape and dtype mistakes panic with a *tensor.Error naming the op
// ("nn.MatMul"), the argument and both shapes; the notebook boundary
// recovers them.
//
// # Invariants
//
// Ops never modify their inputs or the gradient passed to a BackwardFunc.
// A Var's Grad has its Value's shape and dtype. The graph is not safe for
// concurrent use (NoGrad is a global switch).
package nn
