// Package tensor is the n-dimensional array every notebook and primitive uses.
//
// # Overview
//
// A Tensor has a shape, a dtype (Float32 by default, Float64 for reference
// checks on the CPU), a device (backend.CPU, or backend.GPU for a resident
// tensor, see below) and row-major (C order) data. Shapes follow the paper: queries, keys and values are
// (B, H, L, d), per-step log-decays are (B, H, L).
//
// # Operations
//
// Functions read their arguments and return new tensors; methods that
// rearrange (Permute, Transpose, Slice) also return new, contiguous
// tensors; only Reshape, Unsqueeze and Squeeze share data. Every result is
// allocated through CheckAlloc, so the memory cap applies. Arithmetic on
// two tensors of different dtypes panics (convert with As); the comparisons
// accept mixed dtypes.
//
//   - Matrix products (matmul.go): MatMul, MatMulT — batched over leading
//     axes with broadcasting, optional transposes, float32 through blas32
//     (SGEMM) and float64 through blas64 (DGEMM): OpenBLAS when built with
//     the openblas tag, pure-Go gonum otherwise (see package backend/cpu).
//   - Elementwise, one tensor (unary.go): Neg, Square, Abs, ReLU, Scale,
//     AddScalar, Exp, Log, Sqrt, Softplus (x above 20 passes through, like
//     PyTorch), Sigmoid, LogSigmoid, SiLU, and Apply(x, f) for any
//     func(float64) float64.
//   - Elementwise, two tensors (binary.go): Add, Sub, Mul, Div, Maximum,
//     Minimum with NumPy broadcasting (BroadcastShape).
//   - Reductions (reduce.go): Sum, Mean, Max, Min over an axis with keepdim;
//     SumAll, MeanAll, MaxAll, MinAll, Norm over everything (float64 results).
//     float32 data is accumulated in float64.
//   - Layout (layout.go): Permute, Transpose, Slice, Concat, Cumsum (copies);
//     Unsqueeze, Squeeze (share data, like Reshape).
//   - Selection and ranges (select.go), as in NumPy and PyTorch: Arange,
//     Linspace (and their float64 forms), Tril and Triu with a diagonal
//     offset, ArgMax and ArgMin along an axis with keepdim (indices in the
//     input's dtype; Ints converts them), Where(cond, a, b) with
//     broadcasting, Stack along a new axis, Index (one index along an axis,
//     the axis removed) and Take (an index tensor along an axis); Gather
//     below is the []int form (IndexSelect).
//   - Model operations (nnops.go, conv.go, loss.go), what package nn's ops
//     and gradients are composed of: Gather and ScatterAdd along an axis
//     (embedding rows and their gradient), Softmax, LogSoftmax and their
//     backward passes over the last axis, CumsumReverse (Cumsum's adjoint),
//     RMSNorm and RMSNormBackward, Rotary (RoPE's rotation), UnaryGrad (the
//     fused g·f'(x, y) of each unary function), SumTo and BroadcastTo (a
//     broadcast operand's gradient and its adjoint), Axpy (y += αx in
//     place), AdamW (one fused optimiser step), CausalConv1d and
//     CausalConv1dBackward (depthwise, causal), CrossEntropy and
//     CrossEntropyGrad over a log-softmax with an ignore index.
//   - Random numbers (random.go): NewRNG(seed) is an explicit generator
//     whose Randn, Randn64, Rand(lo, hi, ...) and Rand64 take only a shape
//     and continue its stream call after call; the package-level Randn,
//     Randn64, Rand and Rand64 draw from the session default generator,
//     which ManualSeed resets (DefaultSeed at start-up).
//   - Comparisons for oracle tests (compare.go): MaxAbsDiff, MaxRelDiff
//     (max |a−b| over max |b|), AllClose (|a−b| ≤ atol + rtol·|b|), IsFinite,
//     CheckFinite (panics with ErrNotFinite naming the op and first bad index).
//   - Files (npy.go): Load, Save, ReadNpy, WriteNpy for NumPy .npy files,
//     little-endian float32/float64 in C order.
//   - Rendering (render.go): String (shape, dtype, device, a few values) and
//     HTML (header, summary, tables), the method the notebook kernel displays.
//
// # Devices
//
// One rule decides where an operation runs: where its operands live. A
// host tensor's operations run on the CPU; a tensor resident on a device
// (see below) has its operations run there; operands on two devices are an
// error of kind ErrDevice naming both (move one with To). Nothing else
// moves work between devices.
//
// Backends register by name (Register; the CPU backend is registered at
// init). SetDevice("cpu"|"gpu"|"auto") or the FURIOUS_DEVICE environment
// variable only chooses where the float32 constructors (Zeros, Ones, Full,
// FromFloat32, Randn, Rand) and loaders (Load, ReadNpy) place new tensors:
// the CPU by default; "auto" takes the GPU when a registered "gpu" backend
// reports itself available (backend.Prober). New and every float64 tensor
// stay on the host (float64 is the CPU oracle). Device() says which is
// chosen and why, e.g.
//
//	cpu: gonum + OpenBLAS 0.3.21 (2 BLAS threads), 2 threads (default)
//
// # Resident tensors
//
// t.To("gpu") uploads a float32 tensor to the gpu backend's device and
// returns a resident tensor: Device() is backend.GPU, the data lives in a
// backend.DeviceBuffer, and the host copy is made only when needed.
// t.To("cpu") returns a host tensor, t.Release() frees the device memory
// now (the garbage collector frees it otherwise, later), and the tensor
// stays usable on the host. Float64 tensors cannot go to the gpu: To panics
// with an *Error naming the dtype (convert with As(Float32)).
//
// Dispatch on a device. An operation on resident float32 operands runs on
// their device when the backend has a device-side implementation for it
// (backend.DeviceMatMuler, backend.DeviceElementwiser,
// backend.DeviceBroadcaster, backend.DeviceGatherer, backend.DeviceReducer,
// backend.DeviceSSD in package ssd, and for the model operations
// backend.DeviceIndexer, DeviceSoftmaxer, DeviceNormer, DeviceRotator,
// DeviceGrader, DeviceConvolver, DeviceLosser, DeviceOptimizer), and the
// result is resident. Otherwise the operands are copied to the host, the
// operation runs on the CPU, and its result is moved back to the device,
// after a one-line notice naming the operation (once per operation, to the
// SetNoticeWriter writer): the result always lives where its operands do.
//
//	on the device: MatMul, MatMulT (any batch broadcast); every unary function
//	               (Neg, Square, Abs, ReLU, Scale, AddScalar, Exp, Log, Sqrt,
//	               Softplus, Sigmoid, LogSigmoid, SiLU); every binary function
//	               (Add, Sub, Mul, Div, Maximum, Minimum; broadcasting up to rank 8);
//	               Permute, Transpose, Slice, Concat (rank ≤ 8); Sum, Mean, Max,
//	               Min, Cumsum over an axis (the CPU's float64 accumulation: equal
//	               results, Mean to one rounding); Clone; ssd.Quadratic,
//	               ssd.Chunked (from the zero state), ssd.Auto of orders 1 and 2
//	on the cpu:    the float64 *All reductions and Norm, Apply, rank > 8 (with
//	               the notice; Apply's result moves back to the device)
//	no copy:       Reshape, Unsqueeze, Squeeze share the device buffer
//
// Lazy synchronisation. A result computed on the device is not copied to
// the host until something reads it there: At, Data, Float32s, String,
// HTML, Save and WriteNpy, the comparisons (MaxAbsDiff, AllClose, ...),
// IsFinite, As, To("cpu"), Release, or a CPU fallback. The copy is made
// once and kept (Transfers counts them). Set, Fill and Float32s make the
// host copy the newer one; the next device operation uploads it.
//
// Memory. DeviceBytes reports the bytes held by the device's live buffers.
// A device that runs out of memory makes the operation panic with an
// *Error of kind ErrMemory naming the operation (errors.Is(err,
// backend.ErrOutOfMemory) on the device's own error).
//
// # Errors
//
// Shape mistakes and other programmer errors panic with an *Error whose
// message names the operation, the argument and both shapes, e.g.
//
//	ssd.Quadratic: k has shape (1,2,8,16), want (1,2,8,32) (same as q)
//
// The notebook session (package dsl) recovers such panics once, at its
// boundary, and shows the message; the kernel lives on. An allocation larger
// than the memory available, or than the cap set by SetMemoryLimit or the
// FURIOUS_MEM_LIMIT environment variable, panics with an *Error that names
// the size instead of letting the operating system kill the process.
// Operands that mix float32 and float64 panic with an *Error of kind
// ErrDType naming both and the conversion meant, e.g.
//
//	tensor.Add: b: is float64 but a is float32: float32 and float64 do not mix; convert one, e.g. b.As(tensor.Float32) (or a.As(tensor.Float64))
//
// Data-dependent failures (a file that is not a float .npy) are returned as
// errors.
//
// # Threads
//
// Large elementwise loops are split over cpu.Threads() goroutines
// (FURIOUS_THREADS, default runtime.NumCPU()); BLAS threads itself.
// cpu.SetThreads changes both.
//
// # Invariants
//
// len(data) == product(shape) always (for a resident tensor once its host
// copy exists); a rank-0 tensor holds one value.
// Reshape, Unsqueeze and Squeeze share data; Clone copies. Exported
// functions are not generic so that yaegi can export them to notebooks.
package tensor
