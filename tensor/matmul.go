package tensor

import (
	"fmt"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/backend/cpu"
)

// MatMul returns the matrix product over the last two axes, batched over the
// leading ones: (…, m, k)·(…, k, n) → (…, m, n), C = A·B. Leading (batch)
// axes broadcast like Add: (B, H, L, d)·(d, n) and (B, H, L, d)·(1, H, d, n)
// both work. Both operands need rank ≥ 2 and the same dtype; float32 goes
// through blas32 (SGEMM), float64 through blas64 (DGEMM), so OpenBLAS when
// it is installed.
func MatMul(a, b *Tensor) *Tensor { return MatMulT(a, b, false, false) }

// MatMulT is MatMul with optional transposes of the last two axes:
// C = op(A)·op(B), op(X) = Xᵀ when its flag is set. With transB,
// (…, m, k)·(…, n, k)ᵀ → (…, m, n): the scores Q·Kᵀ without copying K.
func MatMulT(a, b *Tensor, transA, transB bool) *Tensor {
	const op = "tensor.MatMul"
	sameDType(op, a, b)
	if a.Rank() < 2 {
		panic(&Error{Op: op, Arg: "a", Got: a.Shape(), Want: []int{-1, -1}, Msg: "(needs rank ≥ 2; Reshape a vector to (1, n) or (n, 1))", Kind: ErrShape})
	}
	if b.Rank() < 2 {
		panic(&Error{Op: op, Arg: "b", Got: b.Shape(), Want: []int{-1, -1}, Msg: "(needs rank ≥ 2; Reshape a vector to (1, n) or (n, 1))", Kind: ErrShape})
	}
	ra, rb := a.Rank(), b.Rank()
	m, k := a.shape[ra-2], a.shape[ra-1]
	if transA {
		m, k = k, m
	}
	kb, n := b.shape[rb-2], b.shape[rb-1]
	if transB {
		kb, n = n, kb
	}
	if kb != k {
		want := append(b.Shape()[:rb-2], k, -1)
		if transB {
			want = append(b.Shape()[:rb-2], -1, k)
		}
		ShapeMismatch(op, "b", b.shape, want, fmt.Sprintf("(inner dimensions differ: a has shape %s, transA=%v, transB=%v)", ShapeString(a.shape), transA, transB))
	}
	batchA, batchB := a.shape[:ra-2], b.shape[:rb-2]
	batch := broadcastBatch(op, a.shape, b.shape, batchA, batchB)
	shape := append(append([]int{}, batch...), m, n)
	nb := 1
	for _, s := range batch {
		nb *= s
	}
	// Batch offsets (in matrices) of a and b for each output matrix.
	offA, offB := batchOffsets(batchA, batch), batchOffsets(batchB, batch)
	y, err := matmulDevice(transA, transB, nb, m, n, k, a, b, shape, offA, offB)
	if y != nil {
		return y
	}
	hostFallback(op, err, a, b)
	return matmulHost(op, transA, transB, nb, m, n, k, a, b, shape, offA, offB).OnDeviceOf(a, b)
}

// matmulHost is MatMulT on the CPU: one GEMM (cpu.Sgemm, cpu.Dgemm) per
// output matrix, or one for the whole batch when B is shared and A's batch
// is contiguous.
func matmulHost(op string, transA, transB bool, nb, m, n, k int, a, b *Tensor, shape, offA, offB []int) *Tensor {
	y := like(op, a, shape)
	if y.Len() == 0 {
		return y
	}
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	sa, sb := m*k, k*n
	// One GEMM when B is shared and A's batch is contiguous: rows stack.
	if !transA && isRange(offA) && allZero(offB) {
		if a.dtype == Float64 {
			cpu.Dgemm(false, transB, nb*m, n, k, 1, a.f64, lda, b.f64, ldb, 0, y.f64, n)
		} else {
			cpu.Sgemm(false, transB, nb*m, n, k, 1, a.f32, lda, b.f32, ldb, 0, y.f32, n)
		}
		return y
	}
	g := nb // large products: BLAS threads itself; run the batch in order
	if work := m * n * k; work < cpu.SmallGEMM {
		g = max(1, cpu.SmallGEMM/(work+1)) // small ones: spread the batch over goroutines
	}
	cpu.Parallel(nb, g, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ia, ib := offA[i]*sa, offB[i]*sb
			if a.dtype == Float64 {
				cpu.Dgemm(transA, transB, m, n, k, 1, a.f64[ia:ia+sa], lda, b.f64[ib:ib+sb], ldb, 0, y.f64[i*m*n:(i+1)*m*n], n)
			} else {
				cpu.Sgemm(transA, transB, m, n, k, 1, a.f32[ia:ia+sa], lda, b.f32[ib:ib+sb], ldb, 0, y.f32[i*m*n:(i+1)*m*n], n)
			}
		}
	})
	return y
}

// broadcastBatch broadcasts the batch axes, naming both full shapes on error.
func broadcastBatch(op string, sa, sb, ba, bb []int) []int {
	var out []int
	err := Catch(func() { out = BroadcastShape(op, ba, bb) })
	if err != nil {
		panic(&Error{Op: op, Arg: "b", Got: append([]int{}, sb...), Msg: fmt.Sprintf("(batch axes %s do not broadcast with a's %s; a has shape %s)",
			ShapeString(bb), ShapeString(ba), ShapeString(sa)), Kind: ErrShape})
	}
	return out
}

// batchOffsets returns, for each matrix of the broadcast batch out, the
// index of the matrix of an operand whose batch shape is own.
func batchOffsets(own, out []int) []int {
	n := 1
	for _, s := range out {
		n *= s
	}
	offs := make([]int, n)
	st := bstrides(own, out)
	idx := make([]int, len(out))
	for i := range offs {
		o := 0
		for d, v := range idx {
			o += v * st[d]
		}
		offs[i] = o
		for d := len(out) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < out[d] {
				break
			}
			idx[d] = 0
		}
	}
	return offs
}

func isRange(offs []int) bool {
	for i, o := range offs {
		if o != i {
			return false
		}
	}
	return true
}

func allZero(offs []int) bool {
	for _, o := range offs {
		if o != 0 {
			return false
		}
	}
	return true
}

// uniformStride returns s when offs[i] == i·s for s ∈ {0, 1}.
func uniformStride(offs []int) (int, bool) {
	if allZero(offs) {
		return 0, true
	}
	return 1, isRange(offs)
}

// matmulDevice runs the product on the device of a resident operand
// (backend.DeviceMatMuler) when each operand's batch is packed or shared;
// a nil result leaves it to the CPU (err says why, when the device refused).
func matmulDevice(transA, transB bool, nb, m, n, k int, a, b *Tensor, shape []int, offA, offB []int) (*Tensor, error) {
	mm, ok := resident(a, b).(backend.DeviceMatMuler)
	if !ok || a.dtype != Float32 {
		return nil, nil
	}
	ua, okA := uniformStride(offA)
	ub, okB := uniformStride(offB)
	return onDevice("tensor.MatMul", shape, []*Tensor{a, b}, func(in []backend.DeviceBuffer, out backend.DeviceBuffer) error {
		if okA && okB {
			return mm.MatMulDevice32(transA, transB, nb, m, n, k, in[0], 0, ua*m*k, in[1], 0, ub*k*n, out, 0)
		}
		for i := 0; i < nb; i++ { // batch axes broadcast both ways: one product per output matrix
			if err := mm.MatMulDevice32(transA, transB, 1, m, n, k, in[0], offA[i]*m*k, 0, in[1], offB[i]*k*n, 0, out, i*m*n); err != nil {
				return err
			}
		}
		return nil
	})
}
