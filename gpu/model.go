package gpu

import (
	"fmt"

	"github.com/furious-lab/furious/backend"
)

// The model operations of package tensor on resident tensors, the device
// side of a training step: RMSNorm and the causal depthwise conv (here, on
// norm.go's rmsnorm.comp and conv1d.comp), gather and scatter-add
// (model_index.go), softmax, log-softmax and cross-entropy
// (model_softmax.go), the unary gradients, rotary embeddings, AdamW and
// axpy (model_pointwise.go). Every one keeps its operands and results on
// the device; only index lists go up and only the loss comes back.

var (
	_ backend.DeviceNormer    = Backend{}
	_ backend.DeviceConvolver = Backend{}
)

// RMSNormDevice32 implements backend.DeviceNormer with RMSNorm: for x
// (rows, n) and w (n) or nil, r = 1/√(mean(x²) + eps) into r (rows) and
// y = x·r ⊙ w.
func (Backend) RMSNormDevice32(x, w backend.DeviceBuffer, rows, n int, eps float64, y, r backend.DeviceBuffer) error {
	d, bs, err := bufs("RMSNormDevice32", x, w, y, r)
	if err != nil {
		return err
	}
	X, W, Y, R := bs[0], bs[1], bs[2], bs[3]
	if rows < 0 || n < 0 || X.Len() < rows*n || Y.Len() < rows*n || (W != nil && W.Len() < n) || (R != nil && R.Len() < rows) {
		return fmt.Errorf("gpu.RMSNormDevice32: rows %d, n %d: x %d, w %d, y %d, r %d values", rows, n, X.Len(), lenOf(W), Y.Len(), lenOf(R))
	}
	if n == 0 || rows == 0 {
		return nil
	}
	return oom(d.RMSNorm(Y, R, X, nil, W, rows, n, float32(eps)))
}

// RMSNormBackwardDevice32 implements backend.DeviceNormer with
// RMSNormBackward: for the output gradient g (rows, n) at x, w and r,
// dx = r(ĝ − x̂·mean(ĝ ⊙ x̂)) and, when dw is not nil, dw = Σ_rows g ⊙ x̂.
func (Backend) RMSNormBackwardDevice32(g, x, w, r backend.DeviceBuffer, rows, n int, dx, dw backend.DeviceBuffer) error {
	d, bs, err := bufs("RMSNormBackwardDevice32", g, x, w, r, dx, dw)
	if err != nil {
		return err
	}
	G, X, W, R, DX, DW := bs[0], bs[1], bs[2], bs[3], bs[4], bs[5]
	if rows < 0 || n < 0 || G == nil || X == nil || R == nil || DX == nil || G.Len() < rows*n || X.Len() < rows*n ||
		DX.Len() < rows*n || R.Len() < rows || (W != nil && W.Len() < n) || (DW != nil && DW.Len() < n) {
		return fmt.Errorf("gpu.RMSNormBackwardDevice32: rows %d, n %d: g %d, x %d, w %d, r %d, dx %d, dw %d values",
			rows, n, lenOf(G), lenOf(X), lenOf(W), lenOf(R), lenOf(DX), lenOf(DW))
	}
	if n == 0 {
		return nil
	}
	return oom(d.RMSNormBackward(DX, DW, G, X, W, R, rows, n))
}

// CausalConv1dDevice32 implements backend.DeviceConvolver with Conv1D (no
// activation): y[b,t,c] = bias[c] + Σ_κ w[c,κ]·x[b,t−(W−1)+κ,c] for x, y
// (B, L, C), w (C, W), bias (C) or nil.
func (Backend) CausalConv1dDevice32(x, w, bias backend.DeviceBuffer, B, L, C, W int, y backend.DeviceBuffer) error {
	d, bs, err := bufs("CausalConv1dDevice32", x, w, bias, y)
	if err != nil {
		return err
	}
	X, Wt, Bs, Y := bs[0], bs[1], bs[2], bs[3]
	n := B * L * C
	if err := convShape("CausalConv1dDevice32", B, L, C, W); err != nil {
		return err
	}
	if X.Len() < n || Y.Len() < n || Wt.Len() < C*W || (Bs != nil && Bs.Len() < C) {
		return fmt.Errorf("gpu.CausalConv1dDevice32: B %d, L %d, C %d, W %d: x %d, w %d, bias %d, y %d values", B, L, C, W, X.Len(), Wt.Len(), lenOf(Bs), Y.Len())
	}
	if n == 0 {
		return nil
	}
	return oom(d.Conv1D(Y, X, Wt, Bs, B, L, C, W, false))
}

// CausalConv1dBackwardDevice32 implements backend.DeviceConvolver with
// Conv1DBackward: for g (B, L, C), dx[b,s,c] = Σ_κ w[c,κ]·g[b,s+W−1−κ,c],
// dw[c,κ] = Σ_{b,t} g[b,t,c]·x[b,t−(W−1)+κ,c] and, when db is not nil,
// db[c] = Σ_{b,t} g[b,t,c].
func (Backend) CausalConv1dBackwardDevice32(g, x, w backend.DeviceBuffer, B, L, C, W int, dx, dw, db backend.DeviceBuffer) error {
	d, bs, err := bufs("CausalConv1dBackwardDevice32", g, x, w, dx, dw, db)
	if err != nil {
		return err
	}
	G, X, Wt, DX, DW, DB := bs[0], bs[1], bs[2], bs[3], bs[4], bs[5]
	n := B * L * C
	if err := convShape("CausalConv1dBackwardDevice32", B, L, C, W); err != nil {
		return err
	}
	if G.Len() < n || X.Len() < n || DX.Len() < n || Wt.Len() < C*W || DW == nil || DW.Len() < C*W || (DB != nil && DB.Len() < C) {
		return fmt.Errorf("gpu.CausalConv1dBackwardDevice32: B %d, L %d, C %d, W %d: g %d, x %d, w %d, dx %d, dw %d, db %d values",
			B, L, C, W, G.Len(), X.Len(), Wt.Len(), DX.Len(), lenOf(DW), lenOf(DB))
	}
	if C == 0 {
		return nil
	}
	return oom(d.Conv1DBackward(DX, DW, DB, G, X, Wt, B, L, C, W))
}

// convShape refuses negative sizes, and a kernel of no taps (W = 0: the
// CPU code computes it) with backend.ErrNotImplemented.
func convShape(op string, B, L, C, W int) error {
	if B < 0 || L < 0 || C < 0 || W < 0 {
		return fmt.Errorf("gpu.%s: B %d, L %d, C %d, W %d", op, B, L, C, W)
	}
	if W == 0 {
		return fmt.Errorf("gpu.%s: a kernel of width 0: %w", op, backend.ErrNotImplemented)
	}
	return nil
}
