package nn

import (
	"errors"
	"math"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/tensor"
)

// Offloading to the active backend (tensor.ActiveBackend, chosen by
// tensor.SetDevice or FURIOUS_DEVICE). Tensors stay on the host; when the
// active backend is not the CPU, float32 attention (Attention and
// ChunkedAttention, forward and backward) goes to its backend.Attentioner
// and float32 GEMMs of at least GPUGEMMMinWork multiply-adds to its
// backend.MatMuler, each call uploading its inputs and downloading its
// results. A backend that answers backend.ErrNotImplemented (a sequence
// longer than it takes, say) leaves the call to the CPU code; any other
// error panics naming the op and the backend.

// GPUGEMMMinWork is the smallest float32 product, in multiply-adds m·n·k,
// that nn sends to a non-CPU active backend; smaller products stay on the
// CPU, where they cost less than the transfers. 0 sends every product.
// The default is where the two tied on an NVIDIA H100 against 16 CPU cores
// with gonum's pure-Go BLAS (256×128×128: 0.45 ms each; a GPU call costs
// about 0.4 ms whatever its size; bench/results/train-h100-2026-11-23.txt).
// With OpenBLAS on the host the tie lies higher.
var GPUGEMMMinWork = 1 << 22

// accelerator returns the active backend when it is not the CPU and the
// dtype is float32, else nil.
func accelerator(dt tensor.DType) backend.Backend {
	if dt != tensor.Float32 {
		return nil
	}
	b := tensor.ActiveBackend()
	if b.Kind() == backend.CPU {
		return nil
	}
	return b
}

// declined reports whether the backend's answer err leaves the work to
// the CPU (backend.ErrNotImplemented); nil means the backend did it, and
// any other error panics with a *tensor.Error naming op and the backend.
func declined(op string, b backend.Backend, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, backend.ErrNotImplemented):
		return true
	}
	tensor.Errorf(op, "device", "the %s backend failed: %v", b.Name(), err)
	return true
}

// attnAccel returns the active backend's Attentioner for q's dtype, or nil.
func attnAccel(q *tensor.Tensor) (backend.Backend, backend.Attentioner) {
	b := accelerator(q.DType())
	if b == nil {
		return nil, nil
	}
	at, ok := b.(backend.Attentioner)
	if !ok {
		return nil, nil
	}
	return b, at
}

// attnParams is the backend record of Attention's call: scale 1/√d, and
// OrderExp as Exp.
func attnParams(q, v *tensor.Tensor, order int, smNorm bool) backend.SSDParams {
	s := q.Shape()
	p := backend.SSDParams{BH: s[0] * s[1], L: s[2], D: s[3], DV: v.Dim(3), Order: order, Norm: smNorm,
		Scale: float32(1 / math.Sqrt(float64(s[3])))}
	if order == OrderExp {
		p.Order, p.Exp = 0, true
	}
	return p
}

// attnForwardAccel is AttentionForward on the active backend, or nil when
// there is none for the dtype, it declined, or its output is not finite
// (the exp order without a norm can overflow: the CPU code then reports it).
func attnForwardAccel(op string, q, k, v, a *tensor.Tensor, order int, smNorm bool) *tensor.Tensor {
	b, at := attnAccel(q)
	if at == nil {
		return nil
	}
	attnCheck(q, k, v, a, order, nil)
	y := zerosLike(v)
	err := at.Attention32(attnParams(q, v, order, smNorm), q.Float32s(), k.Float32s(), v.Float32s(), slice32(a), y.Float32s())
	if declined(op, b, err) {
		return nil
	}
	for _, x := range y.Float32s() {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil
		}
	}
	return y
}

// attnBackwardAccel is the backward pass of Attention on the active
// backend: dQ, dK, dV and DA (DAN, DAM, DAcs are not formed), and whether
// it ran.
func attnBackwardAccel(op string, q, k, v, a *tensor.Tensor, order int, smNorm bool, dO *tensor.Tensor) (AttnGrads, bool) {
	b, at := attnAccel(q)
	if at == nil {
		return AttnGrads{}, false
	}
	attnCheck(q, k, v, a, order, dO)
	gr := AttnGrads{DQ: zerosLike(q), DK: zerosLike(k), DV: zerosLike(v)}
	if a != nil {
		gr.DA = zerosLike(a)
	}
	err := at.AttentionBackward32(attnParams(q, v, order, smNorm), q.Float32s(), k.Float32s(), v.Float32s(), slice32(a),
		dO.Float32s(), gr.DQ.Float32s(), gr.DK.Float32s(), gr.DV.Float32s(), slice32(gr.DA))
	if declined(op, b, err) {
		return AttnGrads{}, false
	}
	return gr, true
}

// gemmAccel computes C = op(A)·op(B) on the active backend's MatMuler when
// the operands are float32, packed (lda, ldb, ldc the row lengths), alpha
// is 1, beta 0 and m·n·k ≥ GPUGEMMMinWork; it reports whether it did.
func gemmAccel[T float](tA, tB bool, m, n, k int, alpha float64, a []T, lda int, b []T, ldb int, beta float64, c []T, ldc int) bool {
	if m*n*k < GPUGEMMMinWork || alpha != 1 || beta != 0 || ldc != n {
		return false
	}
	if (tA && lda != m) || (!tA && lda != k) || (tB && ldb != k) || (!tB && ldb != n) {
		return false
	}
	a32, ok := any(a).([]float32)
	if !ok {
		return false
	}
	be := accelerator(tensor.Float32)
	if be == nil {
		return false
	}
	mm, ok := be.(backend.MatMuler)
	if !ok {
		return false
	}
	err := mm.MatMul32(tA, tB, 1, m, n, k, a32, 0, any(b).([]float32), 0, any(c).([]float32))
	return !declined("nn.MatMul", be, err)
}
