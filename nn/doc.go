// Package nn trains models: a reverse-mode autograd engine over
// tensor.Tensor, gradients for the ops a model needs, the quadratic
// attention forms of every 2Mamba/Mamba-2 variant (forwards from package
// ssd) with their whole-tensor backward passes, finite-difference gradient checks, optimisers, schedules,
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
//	w := nn.Param(tensor.Randn(1, 16, 8))            // (D, E)
//	x := nn.Const(tensor.Randn(2, 4, 16))            // (B, L, D)
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
// Attention computes the quadratic (attention) form of spec §e for order
// 1, 2 or exp, with or without the A-mask and with or without softmax
// normalisation, scale 1/√d, and returns its gradients by the formulas of
// spec §f (Appendix C, with C.5 corrected). Its forward is ssd.Quadratic
// (one oracle: nn has no second copy of the forward math); the backward
// recomputes the L×L weights per head and runs the gradient GEMMs. Heads
// run in parallel (GOMAXPROCS goroutines). Conventions are ssd's: segment
// sums Σ_{u=j+1}^{i} a_u for the mask, a row max subtracted inside the
// exponent for exp with softmax norm, and a softmax-norm row whose
// denominator Σ_j P_ij is exactly 0 outputs 0 (with gradient 0).
//
// ChunkedAttention is the chunked (SSD) form for orders 1 and 2: its
// forward is ssd.Chunked, its own reverse-chunk backward pass replays the
// chunk states and lets the state gradient flow backwards chunk by chunk;
// it matches Attention to ≤ 1e-13 forward and backward in float64 and is
// what long sequences should use.
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
// BlockConfig chooses the axes of an attention block (spec §d: order, mask,
// norm, conv, q/k activation, dt on values, D residual, Z gate, quadratic or
// chunked form); Preset("linear" | "mamba2" | "mamba2s" | "2mamba" |
// "2mamba-e" | "softmax") gives the paper's six. NewLM builds a
// decoder-only model (pre-norm block + SwiGLU per layer, final RMSNorm, LM
// head) from a ModelConfig and a seed. A Trainer runs the loop of a
// notebook cell: AdamW with a Schedule, clipping, evaluation every
// EvalEvery steps, safetensors checkpoints, a Progress callback (its String
// is a one-line progress bar) and a clean stop between steps when its
// context is cancelled; Run again resumes. LossPlot renders curves as SVG.
//
// CompareMQAR and CompareChars train the same small model with each preset
// on MQAR or on the Opticks characters and return a table (Markdown) and
// test-loss curves (LossPlot): the experiment in one notebook call.
// Results of a run are in nn/testdata/experiment.
//
// One simplification against the paper's code, by design: Mamba-2 is its
// attention-form simplification (per-head B and C, no separate MLP path,
// no grouped RMSNorm gate). The Softmax baseline uses RoPE, as in the paper.
//
// # Recurrent inference
//
// LM.NewDecoder returns an LMDecoder, the token-by-token state of one
// sequence: per layer the conv history (ssd.ConvState) and, per head, the
// finite state S ∈ R^{D×d} (+ z ∈ R^D with softmax norm) of ssd.State for
// orders 1 and 2, or an ssd.KVCache for the exp order (2Mamba-E, softmax;
// RoPE applied at each token's own position). Step(id) returns the next-token
// logits (Vocab), equal to LM.Forward's at that position (tests: ≤ 1e-5 in
// float32, ≤ 1e-9 in float64 for every preset); Generate(prompt, n, T, seed)
// draws what LM.Sample draws, at constant cost per token for the finite
// orders instead of rerunning the window; StateBytes is the decoding memory.
//
// # Gradient checks
//
// GradCheck (functions of tensors) and GradCheckParams (a model's
// parameters) compare Backward with fourth-order central differences in
// float64 and return max|g − n| / max(|g|, |n|) per input; the tests
// require < 1e-6 for every op, attention variant, preset block and whole
// model, and float32 gradients within a stated bound (1e-5 ops, 1e-4
// attention and layers, 1e-3 whole models) of float64 ones.
//
// # On a GPU
//
// Tensors stay on the host. When the active backend of package tensor is
// not the CPU (tensor.SetDevice("gpu"), FURIOUS_DEVICE=gpu, or "auto" with
// a hardware GPU, in a program that imports package gpu), float32 Attention
// and ChunkedAttention run forward and backward on its
// backend.Attentioner (package gpu: the quadratic form, L×L matrices per
// head, L ≤ 2048; longer sequences stay on the CPU), and float32 GEMMs of
// at least GPUGEMMMinWork multiply-adds on its backend.MatMuler; each call
// uploads its inputs and downloads its results. Everything else (the
// elementwise ops, norms, the loss, AdamW) stays on the CPU. Float64 never
// leaves the CPU. AttentionForward, AttentionBackward and the chunked ones
// on plain tensors always run on the CPU: they are the oracle. A backend
// error other than backend.ErrNotImplemented panics naming the op.
//
// Measured on an NVIDIA H100 with 16 CPU cores (pure-Go BLAS there),
// training the benchmark model (2 layers, d_model 128, 4 heads, L 256,
// batch 4): 1.5x (2Mamba-E) to 2.2x (linear, softmax) the tokens/s of the
// same machine's CPU; gradients of every parameter agree with the CPU's to
// a few 1e-6 of their scale (package nn/gputest;
// bench/results/train-h100-2026-11-23.txt).
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
