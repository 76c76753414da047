// Package gpu is furious's OpenGL 4.3 compute backend: a headless context,
// storage buffers of float32, and compute shaders for the primitives.
//
// # Context
//
// Open (or the shared Default) makes an OpenGL 4.3 core context through EGL
// with no surface and no window system: the EGL devices of
// EGL_EXT_platform_device first (NVIDIA's driver, Mesa), then Mesa's
// surfaceless platform, then the default display. GL entry points are loaded
// with go-gl's gl.InitWithProcAddrFunc over eglGetProcAddress. A context is
// bound to one OS thread and goroutines migrate, so every GL call runs on one
// goroutine that locked its thread, fed by a queue; Device methods may be
// called from any goroutine. Describe names the renderer, GL version and
// EGL platform, as seen on the CI-like machine:
//
//	gpu: llvmpipe (LLVM 15.0.6, 256 bits), OpenGL 4.5 (Core Profile) Mesa 22.3.6, EGL device 0 of 1
//
// # Builds
//
// The code that calls EGL and GL is built only with the tags gl and egl
// (scripts/buildtags.sh prints them where libEGL and its headers are
// present) and with cgo. Any other build still compiles and runs: Open
// returns an error wrapping backend.ErrUnavailable that says "built without
// OpenGL: install libegl-dev libgl-dev and rebuild with make".
//
// A binary built with the tags links no GL library: libEGL.so.1 (glvnd, or
// the file named by FURIOUS_EGL_LIBRARY) is opened with dlopen when the
// first device is opened, and go-gl's reference to eglGetProcAddress is
// answered by a forwarder here. So the binary starts on a machine without
// EGL, and Open says "cannot load the EGL library ... (install libegl1)".
// The tag egl matters: without it go-gl links libGL, and through it GLX
// and X11, which then must be present for the binary to start.
//
// # Tensor backend
//
// Importing the package registers Backend under "gpu" with package tensor:
// tensor.SetDevice("gpu") or FURIOUS_DEVICE=gpu sends float32 matrix
// products (MatMul32) and the unary elementwise functions (Unary32) to the
// default device, over host slices (upload, compute, download); every other
// operation runs on the CPU after tensor's one-time notice. FURIOUS_DEVICE=auto
// picks it when a hardware context can be made: a software renderer such as
// llvmpipe counts as unavailable unless FURIOUS_GPU_SOFTWARE=1.
//
// Backend also keeps tensors resident (resident.go): it implements
// backend.Resident (Upload32, Alloc32, DeviceBytes; a *Buffer is a
// backend.DeviceBuffer) and the device-side op sets package tensor and
// package ssd dispatch to for resident operands: DeviceMatMuler (Gemm),
// DeviceElementwiser (exp, softplus, neg, square, scale, addscalar, abs,
// relu, log, sqrt, sigmoid, logsigmoid, silu; add, sub, mul, div;
// AllFinite32, a NaN/Inf check that reads back one float),
// DeviceBroadcaster (Broadcast), DeviceGatherer (Gather: Permute,
// Transpose, Slice, Concat), DeviceReducer (ReduceAxis, with the reverse
// cumulative sum) and DeviceSSD (SSDDevice32 over SSD; SSDState32, the final state of a sequence: ssdf.comp's chunk
// states summed by ssdstate.comp for d_k ≤ 64, else FeatureMap2 and two
// batched GEMMs).
//
// The model operations of package tensor run on resident tensors too
// (model.go), so that a training step's tensors stay on the device:
// DeviceIndexer (gather and scatter-add along an axis: embeddings and their
// gradient), DeviceSoftmaxer (softmax, log-softmax, their backward),
// DeviceLosser (cross-entropy with an ignore index, and its gradient; the
// loss is the one value read back), DeviceNormer (RMSNorm and backward),
// DeviceConvolver (causal depthwise conv and backward), DeviceRotator
// (rotary embeddings), DeviceGrader (the fused unary gradients) and
// DeviceOptimizer (AdamW and axpy, in place). Index lists (gather,
// scatter-add, targets) are host slices, written to a scratch buffer per
// call. Row operations take one work group per row and reduce in shared
// memory in float32; column sums over many rows (RMSNorm's dw, the conv's
// dw and db) sum blocks of 64 rows in float32 and the blocks in double.
// model_test.go states each op's bound against tensor's CPU code.
//
// # Buffers
//
// A Buffer is a shader storage buffer of float32s: NewBuffer, Upload, Write,
// Read, Download, CopyFrom, Release. The device counts live buffers and bytes
// (Stats), and reads NVIDIA's free-memory counter where the driver has it;
// a buffer dropped without Release is freed after the garbage collector
// finds it. Released buffers go to a pool by byte size, bounded, that
// NewBuffer takes from without a GL call; fresh device bytes past half the
// pool's bound start a garbage collection, and an allocation the driver
// refuses empties the pool, collects and retries once (pool.go). Sizes are
// in float32 elements throughout.
//
// # Submission
//
// Every GL call runs on the device's one locked thread, fed by one FIFO
// queue. Dispatches, copies, writes (of a copy of the caller's data) and
// deletions are posted without waiting; reads, allocations the pool cannot
// serve, compiles, Finish, Stats and Sync wait, and so follow all the work
// queued before them. The GL error of a posted call (checked on the GL
// thread right after it) or a panic in it is reported by the next call
// that returns an error, or by Sync, naming its shader.
//
// # Shaders
//
// Each dispatcher .go file embeds the GLSL 430 .comp beside it. Programs are
// compiled on first use per set of #defines and cached. Every dispatch is
// followed by a memory barrier, so the next dispatch or read sees its
// writes. Compile and link failures (with the driver's log), GL errors after
// a dispatch (reported late, see Submission), and GL_OUT_OF_MEMORY are
// returned as *Error naming the shader;
// errors.Is(err, ErrOutOfMemory) picks out the last. Wrong sizes or released
// buffers are programmer errors and panic with *Error; SSD alone returns an
// error for a record or buffers it cannot take, since the backend
// interfaces pass its record through and their callers fall back to the CPU.
//
//	matmul.comp        C = α·op(A)·op(B) + β·C, batched, register-tiled, 128×128 or 64×64 tiles by
//	                   shape, optionally causal (Gemm, MatMul)
//	elementwise.comp   a+b, a−b, a⊙b, a⊘b, αa+β, exp, softplus (Add … Softplus)
//	unary.comp         abs, relu, log, sqrt, sigmoid, logsigmoid, silu (Unary), for resident tensors
//	gather.comp        strided copies: Permute, Transpose, Slice, Concat of resident tensors (Gather; batched transposes through tiles: also the GEMM attention's Kᵀ)
//	broadcast.comp     a∘b with broadcasting: + − ⊙ ⊘ max min of resident tensors (Broadcast)
//	reduceaxis.comp    sum, mean, cumsum and its reverse (double accumulation), max, min over one
//	                   axis (ReduceAxis)
//	reduce.comp        row sums (SumRows)
//	cumsum.comp        within-chunk cumulative sums (ChunkCumsum)
//	featuremap.comp    order-2 symmetric Kronecker feature map (FeatureMap2)
//	rmsnorm.comp       RMSNorm, optionally gated by silu(z) and weighted, keeping 1/rms per row
//	                   (RMSNorm); its backward, dx per row and dw by row blocks (RMSNormBackward)
//	conv1d.comp        causal depthwise conv along the sequence, optional bias and SiLU (Conv1D);
//	                   its backward, dx per row and dw, db by row blocks (Conv1DBackward)
//	model_index.comp   gather and scatter-add along an axis with an index buffer; scatter-add
//	                   sums host-inverted index lists, without atomics (model_index.go)
//	model_softmax.comp row softmax, log-softmax and their backward, one work group a row;
//	                   cross-entropy loss (double sum) and gradient (model_softmax.go)
//	model_pointwise.comp  fused unary gradients, rotary, AdamW and axpy in place, flat grid
//	                   (model_pointwise.go)
//	ssdf.comp          chunked SSD of order 1 or 2, optional softmax norm, fused: a register-tiled
//	                   chunk-state product, an in-place scan over chunks, and one output pass per
//	                   (row tile, chunk) that adds φ(Q)·S_c to the masked within-chunk product (SSD,
//	                   form "chunked", for d_k ≤ 64); both products load their next slice into registers while
//	                   they multiply the current one
//	ssdstate.comp      the state after a sequence from ssdf.comp's chunk states, one thread an
//	                   entry walking the chunks (SSDState32)
//	ssd.comp           ssdf.comp's SSD in four stages, one output per thread (SSD for d_k > 64)
//	ssdx.comp          ssdf.comp's two state products at order 2 as SGEMM-style products
//	                   (double-buffered slices, one barrier a slice, the φ slice of the next
//	                   step built during this one's product): OUTX, exp(cs_i)·φ(q_i)ᵀS_c into a
//	                   scratch that ssdf.comp's OUT adds to the within-chunk part, and STATEX in
//	                   place of STATE; under the norm the denominator column is summed apart
//	                   (SSD at order 2)
//	attndev.comp       the quadratic form forward (SSD's "quadratic" and training's) and backward
//	                   on resident buffers, any L (below 512, or where attngemm.comp's L×L does not fit)
//	                   (orders p ≥ 1 and exp; decay; norm): key or query blocks staged in shared
//	                   memory, four rows a step, no L×L matrix; the decay gradient's reverse
//	                   cumulative sum in double (AttentionDevice32, AttentionBackwardDevice32)
//	attnchunk.comp     the chunked form's states and their gradients for attndev.comp (orders 1, 2)
//	attngemm.comp      the quadratic form through matmul.comp from L = 512 to 8192 (heads in
//	                   groups whose L×L fit 1 GiB): S = scale·Q·Kᵀ, a pass per row (W, stat; the backward's dS,
//	                   W, dl), causal products for y, dq, dk, dv (attngemm.go; FURIOUS_ATTN_FORM=
//	                   tiled or gemm forces one form)
//
// Buffers are immutable storage (glBufferStorage with only
// GL_DYNAMIC_STORAGE_BIT, where GL 4.4 or GL_ARB_buffer_storage offers it;
// FURIOUS_GL_BUFFERDATA=1 goes back to glBufferData). Released buffers are
// pooled (pool.go; FURIOUS_GPU_POOL sets the pool's bytes). GL errors are
// read at the next check, not after each dispatch (FURIOUS_GPU_CHECK=each
// checks each; =finish also serialises every dispatch, to locate a fault);
// host writes are ordered against dispatches (driver_gl.go, beforeWrite;
// FURIOUS_GPU_WRITESYNC=none turns that off). Device.StartProfile and
// StopProfile time each dispatch (profile.go).
//
// # One record per SSD call
//
// One backend.SSDParams describes an SSD (causal attention) call from package
// nn through the backend interfaces to the dispatchers here: BH, L, D, DV,
// Order (p), Exp, Norm, Scale, Form and Chunk, with the maths on the type.
// Device.SSD takes it and runs p.Form: "quadratic" (attndev.comp's forward),
// "chunked" (ssdf.comp, with ssdx.comp at order 2, or ssd.comp) or "auto",
// the form SSDForm chooses for the shape: the quadratic form for short
// sequences, the chunked one for long (on the H100 the order-2 crossover lies
// between L = 1K and 2K; BENCH.md). SSDDevice32, SSDState32, AttentionDevice32
// and AttentionBackwardDevice32 take the same record. ssdCheck validates it for
// the SSD paths (newAttnDev for training's; what no shader implements wraps backend.ErrNotImplemented, so
// the caller runs the CPU code), and newSSDCall derives the sizes the chunked
// dispatchers share (ssdCall); each shader's macro set is built from it by one
// function (stagedDefs, fusedDefs, ssdxPlan.defs, attnDev.defs).
// The chunked form keeps its decays and chunk states in scratch buffers
// between calls (FreeScratch releases them).
//
// # Mesa llvmpipe
//
// The software renderer runs every shader here correctly and slowly (about
// 0.01 TFLOP/s for SGEMM on two cores), which is what the tests need. It
// also stops a shader invocation's loops after about 65,535 iterations in
// all, silently (observed with Mesa 22.3): shaders keep each invocation's
// loops short by giving each thread one output, and tests poison their
// outputs with NaN so that a truncated dispatch fails instead of passing.
//
// # Invariants
//
//   - Buffers are float32; a float64 tensor is converted by the caller.
//   - Sizes need not be multiples of any tile: shaders bound-check.
//   - Results agree with float64 references to 1e-4 relative (tests print
//     the largest difference); checked on Mesa llvmpipe, and h100.sh runs
//     the same tests on a lent NVIDIA H100.
//   - Indices inside shaders are 32-bit: one buffer holds at most 2³¹−1
//     floats, and no more than GL_MAX_SHADER_STORAGE_BLOCK_SIZE bytes.
package gpu
