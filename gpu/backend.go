package gpu

import (
	"fmt"
	"os"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/tensor"
)

// The gpu backend of package tensor: importing this package registers it
// under "gpu", so that tensor.SetDevice("gpu"), FURIOUS_DEVICE=gpu, or
// "auto" where a hardware GL 4.3 context can be made, send float32 matrix
// products and every unary elementwise function (Unary32) on host tensors
// here, and keep tensors resident on the device: there every op of a
// training step has a shader (resident.go, attndev.go). Other operations run
// on the CPU, with tensor's one-time notice. The
// backend opens the process's Default device on first use, not at import.
func init() { tensor.Register(Backend{}) }

// Backend is the registered gpu backend: a handle on Default. It
// implements backend.Backend, backend.Prober, backend.MatMuler,
// backend.Elementwiser over host slices (upload, compute, download), and,
// for tensors resident on the device, backend.Resident,
// backend.DeviceMatMuler, backend.DeviceElementwiser, backend.DeviceSSD and
// backend.DeviceAttentioner over *Buffer (resident.go, attndev.go) and the
// model ops of model*.go.
type Backend struct{}

var (
	_ backend.Prober       = Backend{}
	_ backend.MatMuler     = Backend{}
	_ backend.Elementwiser = Backend{}
)

// Name returns "gpu".
func (Backend) Name() string { return "gpu" }

// Kind returns backend.GPU.
func (Backend) Kind() backend.Kind { return backend.GPU }

// Describe is the default device's Describe, or why there is none.
func (Backend) Describe() string {
	d, err := Default()
	if err != nil {
		return "gpu: unavailable: " + err.Error()
	}
	return d.Describe()
}

// Capabilities lists float32 and the operations with a shader.
func (Backend) Capabilities() backend.Capabilities {
	ops := map[string]bool{}
	for _, op := range Ops {
		ops[op] = true
	}
	return backend.Capabilities{Float32: true, Ops: ops}
}

// Available opens the default device. A software renderer (Mesa's
// llvmpipe) counts as unavailable, since the CPU backend is much faster,
// unless FURIOUS_GPU_SOFTWARE=1 (tests set it). The error wraps
// backend.ErrUnavailable.
func (Backend) Available() error {
	d, err := Default()
	if err != nil {
		return err
	}
	if d.Software() && os.Getenv("FURIOUS_GPU_SOFTWARE") != "1" {
		return fmt.Errorf("%w: gpu: %s is a software renderer, slower than the cpu backend (FURIOUS_GPU_SOFTWARE=1 uses it anyway)", backend.ErrUnavailable, d.Renderer())
	}
	return nil
}

// MatMul32 implements backend.MatMuler on the default device.
func (Backend) MatMul32(transA, transB bool, batch, m, n, k int, a []float32, strideA int, b []float32, strideB int, c []float32) error {
	d, err := Default()
	if err != nil {
		return err
	}
	return d.MatMul32(transA, transB, batch, m, n, k, a, strideA, b, strideB, c)
}

// Unary32 implements backend.Elementwiser on the default device.
func (Backend) Unary32(op string, x, y []float32) error {
	d, err := Default()
	if err != nil {
		return err
	}
	return d.Unary32(op, x, y)
}

// MatMul32 computes C_i = op(A_i)·op(B_i) for i < batch on host slices,
// as backend.MatMuler specifies: A_i at a[i·strideA] (m×k, stored k×m
// when transA), B_i at b[i·strideB] (k×n, stored n×k when transB), C_i
// at c[i·m·n]; a stride of 0 shares one matrix. The data is uploaded,
// multiplied by the SGEMM shader and downloaded.
func (d *Device) MatMul32(transA, transB bool, batch, m, n, k int, a []float32, strideA int, b []float32, strideB int, c []float32) error {
	if batch < 0 || m < 0 || n < 0 || k < 0 || strideA < 0 || strideB < 0 {
		return fmt.Errorf("gpu.MatMul32: negative size (batch %d, m %d, n %d, k %d, strides %d, %d)", batch, m, n, k, strideA, strideB)
	}
	if batch == 0 || m == 0 || n == 0 {
		return nil
	}
	needA, needB := (batch-1)*strideA+m*k, (batch-1)*strideB+k*n
	if len(a) < needA || len(b) < needB || len(c) < batch*m*n {
		return fmt.Errorf("gpu.MatMul32: a, b, c have %d, %d, %d values, the batch needs %d, %d, %d", len(a), len(b), len(c), needA, needB, batch*m*n)
	}
	if k == 0 {
		clear(c[:batch*m*n])
		return nil
	}
	// Scratch buffers, kept between calls (FreeScratch releases them):
	// repeated calls (a training loop) allocate nothing.
	A, giveA, err := d.takeScratch("matmul32.A", needA)
	if err != nil {
		return err
	}
	defer giveA()
	B, giveB, err := d.takeScratch("matmul32.B", needB)
	if err != nil {
		return err
	}
	defer giveB()
	C, giveC, err := d.takeScratch("matmul32.C", batch*m*n)
	if err != nil {
		return err
	}
	defer giveC()
	if err := A.Write(a[:needA]); err != nil {
		return err
	}
	if err := B.Write(b[:needB]); err != nil {
		return err
	}
	g := Gemm{TransA: transA, TransB: transB, M: m, N: n, K: k, Alpha: 1, A: A, B: B, C: C}
	if (strideA == 0 || strideB == 0) && batch > 1 {
		// Gemm reads a zero stride as "packed": one dispatch per entry.
		for i := 0; i < batch; i++ {
			g.OffA, g.OffB, g.OffC = i*strideA, i*strideB, i*m*n
			if err := d.Gemm(g); err != nil {
				return err
			}
		}
	} else {
		g.Batch, g.StrideA, g.StrideB, g.StrideC = batch, strideA, strideB, m*n
		if err := d.Gemm(g); err != nil {
			return err
		}
	}
	return C.Read(c[:batch*m*n])
}

// Unary32 computes y_i = f(x_i) on host slices for the functions with a
// shader (Device.unary: every unary function package tensor names); any
// other name returns backend.ErrNotImplemented, so the caller runs it on
// the CPU.
func (d *Device) Unary32(op string, x, y []float32) error {
	if len(y) != len(x) {
		return fmt.Errorf("gpu.Unary32(%q): x has %d values, y %d", op, len(x), len(y))
	}
	if !hasUnary(op) || op == "scale" || op == "addscalar" { // those two need the scalar
		return fmt.Errorf("gpu.Unary32(%q): %w", op, backend.ErrNotImplemented)
	}
	if len(x) == 0 {
		return nil
	}
	X, err := d.Upload(x)
	if err != nil {
		return err
	}
	defer X.Release()
	Y, err := d.NewBuffer(len(x))
	if err != nil {
		return err
	}
	defer Y.Release()
	if err := d.unary(op, 0, Y, X); err != nil {
		return err
	}
	return Y.Read(y)
}
