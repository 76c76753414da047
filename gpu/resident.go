package gpu

import (
	"errors"
	"fmt"
	"math"

	"github.com/furious-lab/furious/backend"
)

// Resident tensors: the gpu backend keeps float32 data in *Buffer between
// operations (backend.Resident) and runs matrix products, elementwise
// functions and the SSD forward on them (backend.DeviceMatMuler,
// backend.DeviceElementwiser, backend.DeviceSSD). Package tensor's
// To("gpu") and its device dispatch sit on these.

var (
	_ backend.DeviceBuffer       = (*Buffer)(nil)
	_ backend.Resident           = Backend{}
	_ backend.DeviceMatMuler     = Backend{}
	_ backend.DeviceElementwiser = Backend{}
	_ backend.DeviceSSD          = Backend{}
)

// Read32 is Read: it implements backend.DeviceBuffer.
func (b *Buffer) Read32(dst []float32) error { return b.Read(dst) }

// Write32 is Write: it implements backend.DeviceBuffer.
func (b *Buffer) Write32(src []float32) error { return b.Write(src) }

// oom adds backend.ErrOutOfMemory to a device refusal, so that package
// tensor tells it apart without importing gpu.
func oom(err error) error {
	if err != nil && errors.Is(err, ErrOutOfMemory) && !errors.Is(err, backend.ErrOutOfMemory) {
		return fmt.Errorf("%w (%w)", err, backend.ErrOutOfMemory)
	}
	return err
}

// Upload32 implements backend.Resident: a buffer on the default device
// holding a copy of x.
func (Backend) Upload32(x []float32) (backend.DeviceBuffer, error) {
	d, err := Default()
	if err != nil {
		return nil, err
	}
	b, err := d.Upload(x)
	if err != nil {
		return nil, oom(err)
	}
	return b, nil
}

// Alloc32 implements backend.Resident: n uninitialised float32s on the
// default device.
func (Backend) Alloc32(n int) (backend.DeviceBuffer, error) {
	d, err := Default()
	if err != nil {
		return nil, err
	}
	b, err := d.NewBuffer(n)
	if err != nil {
		return nil, oom(err)
	}
	return b, nil
}

// DeviceBytes implements backend.Resident: the bytes in the default
// device's live buffers (Stats().Bytes), 0 when it is not open. Released
// buffers kept in the device's pool for reuse are not counted
// (Stats().PooledBytes has them).
func (Backend) DeviceBytes() int64 {
	d, err := Default()
	if err != nil {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.bytes
}

// bufs returns the default device and xs as its *Buffers; a buffer of
// another backend or device, or a released one, is an error wrapping
// backend.ErrNotImplemented (the caller then works on the host).
func bufs(op string, xs ...backend.DeviceBuffer) (*Device, []*Buffer, error) {
	d, err := Default()
	if err != nil {
		return nil, nil, err
	}
	out := make([]*Buffer, len(xs))
	for i, x := range xs {
		if x == nil {
			continue
		}
		b, ok := x.(*Buffer)
		if !ok || b == nil || b.d != d || b.id == 0 {
			return nil, nil, fmt.Errorf("gpu.%s: operand %d is not a live buffer of the default device: %w", op, i, backend.ErrNotImplemented)
		}
		out[i] = b
	}
	return d, out, nil
}

// zeros returns a buffer of n zeros (filled by a dispatch: nothing crosses
// the bus, and no host write lands on a buffer the GPU may still be using).
func (d *Device) zeros(n int) (*Buffer, error) {
	b, err := d.NewBuffer(n)
	if err != nil {
		return nil, err
	}
	if err := d.Fill(b, n, 0); err != nil {
		b.Release()
		return nil, err
	}
	return b, nil
}

// Fill sets the first n values of b to v, in one dispatch.
func (d *Device) Fill(b *Buffer, n int, v float32) error {
	if n < 0 || n > b.Len() {
		argPanic("model_pointwise.comp", "fill", "%d values into a buffer of %d", n, b.Len())
	}
	return d.pointwise("FILL", n, b, nil, nil, b, farg("s", v))
}

// MatMulDevice32 implements backend.DeviceMatMuler: C_i = op(A_i)·op(B_i)
// for i < batch on buffers of the default device, with MatMul32's layout
// from the offsets offA, offB, offC.
func (Backend) MatMulDevice32(transA, transB bool, batch, m, n, k int, a backend.DeviceBuffer, offA, strideA int, b backend.DeviceBuffer, offB, strideB int, c backend.DeviceBuffer, offC int) error {
	d, bs, err := bufs("MatMulDevice32", a, b, c)
	if err != nil {
		return err
	}
	A, B, C := bs[0], bs[1], bs[2]
	if batch < 0 || m < 0 || n < 0 || k < 0 || strideA < 0 || strideB < 0 || offA < 0 || offB < 0 || offC < 0 {
		return fmt.Errorf("gpu.MatMulDevice32: negative size (batch %d, m %d, n %d, k %d, strides %d, %d, offsets %d, %d, %d)", batch, m, n, k, strideA, strideB, offA, offB, offC)
	}
	if batch == 0 || m == 0 || n == 0 {
		return nil
	}
	needA, needB := offA+(batch-1)*strideA+m*k, offB+(batch-1)*strideB+k*n
	if A.Len() < needA || B.Len() < needB || C.Len() < offC+batch*m*n {
		return fmt.Errorf("gpu.MatMulDevice32: a, b, c have %d, %d, %d values, the batch needs %d, %d, %d", A.Len(), B.Len(), C.Len(), needA, needB, offC+batch*m*n)
	}
	if k == 0 {
		return oom(C.WriteAt(offC, make([]float32, batch*m*n)))
	}
	g := Gemm{TransA: transA, TransB: transB, M: m, N: n, K: k, Alpha: 1, A: A, B: B, C: C, OffA: offA, OffB: offB, OffC: offC}
	if strideB == 0 && strideA == m*k && !transA && batch > 1 {
		// One B for a packed batch of A (x·W over (batch, m) rows): one
		// product of batch·m rows, not batch small ones.
		g.M = batch * m
		return oom(d.Gemm(g))
	}
	if (strideA == 0 || strideB == 0) && batch > 1 {
		for i := 0; i < batch; i++ { // Gemm reads a zero stride as "packed"
			g.OffA, g.OffB, g.OffC = offA+i*strideA, offB+i*strideB, offC+i*m*n
			if err := d.Gemm(g); err != nil {
				return oom(err)
			}
		}
		return nil
	}
	if batch == 1 && offC == 0 {
		if s := splitK(m, n, k); s > 1 {
			return oom(d.gemmSplitK(g, s))
		}
	}
	g.Batch, g.StrideA, g.StrideB, g.StrideC = batch, strideA, strideB, m*n
	return oom(d.Gemm(g))
}

// splitK returns how many slices of the inner dimension a single product
// of m×n outputs over k should be split into, 1 for none. The SGEMM tile
// is sgemmBM×sgemmBN (128×128), so a product with fewer than sgemmGroups
// such tiles (the work groups that fill a large GPU, as chooseTile counts
// them; a weight's gradient, (d, d') summed over B·L tokens) keeps most of
// the GPU idle while a few work groups walk all of k; split into s slices
// of k (each a multiple of 64), it runs s times as many groups, and a
// reduction adds the slices.
func splitK(m, n, k int) int {
	tiles := ceilDiv(m, sgemmBM) * ceilDiv(n, sgemmBN)
	if tiles >= sgemmGroups || k < 512 {
		return 1
	}
	s := 1
	for s*2*tiles <= 2*sgemmGroups && k%(s*2*64) == 0 && k/(s*2) >= 128 {
		s *= 2
	}
	return s
}

// gemmSplitK runs the product g (one, C at offset 0, K divisible by s) as
// s products over slices of K into a scratch (s, M, N), one batched
// dispatch, then sums the slices into C (float64 sums, rounded once).
func (d *Device) gemmSplitK(g Gemm, s int) error {
	kc := g.K / s
	part, err := d.NewBuffer(s * g.M * g.N)
	if err != nil {
		return err
	}
	defer part.Release()
	h := g
	h.K, h.C, h.OffC, h.Batch, h.StrideC = kc, part, 0, s, g.M*g.N
	if g.TransA { // A is (K, M)
		h.LDA, h.StrideA = g.M, kc*g.M
	} else { // (M, K)
		h.LDA, h.StrideA = g.K, kc
	}
	if g.TransB { // B is (N, K)
		h.LDB, h.StrideB = g.K, kc
	} else { // (K, N)
		h.LDB, h.StrideB = g.N, kc*g.N
	}
	if err := d.Gemm(h); err != nil {
		return err
	}
	return d.ReduceAxis("sum", g.C, part, 1, s, g.M*g.N)
}

// UnaryDevice32 implements backend.DeviceElementwiser with Device.unary:
// all of package tensor's unary functions.
func (Backend) UnaryDevice32(op string, s float64, x, y backend.DeviceBuffer) error {
	d, bs, err := bufs("UnaryDevice32", x, y)
	if err != nil {
		return err
	}
	X, Y := bs[0], bs[1]
	if X.Len() != Y.Len() {
		return fmt.Errorf("gpu.UnaryDevice32(%q): x has %d values, y %d", op, X.Len(), Y.Len())
	}
	return oom(d.unary(op, s, Y, X))
}

// unary computes Y = f(X) for the functions with a shader: "exp",
// "softplus", "neg" (−x), "square" (x²), "scale" (s·x) and "addscalar"
// (x + s) in elementwise.comp, and "abs", "relu", "log", "sqrt", "sigmoid",
// "logsigmoid", "silu" in unary.comp (Unary). Any other name returns an
// error wrapping backend.ErrNotImplemented (hasUnary says which in advance).
func (d *Device) unary(op string, s float64, Y, X *Buffer) error {
	if !hasUnary(op) {
		return fmt.Errorf("gpu: unary %q: no shader: %w", op, backend.ErrNotImplemented)
	}
	switch op {
	case "exp":
		return d.Exp(Y, X)
	case "softplus":
		return d.Softplus(Y, X)
	case "neg":
		return d.Scale(Y, X, -1, 0)
	case "square":
		return d.Mul(Y, X, X)
	case "scale":
		return d.Scale(Y, X, float32(s), 0)
	case "addscalar":
		return d.Scale(Y, X, 1, float32(s))
	}
	return d.Unary(op, Y, X)
}

// hasUnary reports whether unary has a shader for op.
func hasUnary(op string) bool {
	switch op {
	case "exp", "softplus", "neg", "square", "scale", "addscalar",
		"abs", "relu", "log", "sqrt", "sigmoid", "logsigmoid", "silu":
		return true
	}
	return false
}

// BinaryDevice32 implements backend.DeviceElementwiser: y = a ∘ b for
// "add", "sub", "mul", "div" on three buffers of one length.
func (Backend) BinaryDevice32(op string, a, b, y backend.DeviceBuffer) error {
	d, bs, err := bufs("BinaryDevice32", a, b, y)
	if err != nil {
		return err
	}
	A, B, Y := bs[0], bs[1], bs[2]
	if A.Len() != Y.Len() || B.Len() != Y.Len() {
		return fmt.Errorf("gpu.BinaryDevice32(%q): a, b, y have %d, %d, %d values", op, A.Len(), B.Len(), Y.Len())
	}
	switch op {
	case "add":
		err = d.Add(Y, A, B)
	case "sub":
		err = d.Sub(Y, A, B)
	case "mul":
		err = d.Mul(Y, A, B)
	case "div":
		err = d.Div(Y, A, B)
	default:
		return fmt.Errorf("gpu.BinaryDevice32(%q): no shader: %w", op, backend.ErrNotImplemented)
	}
	return oom(err)
}

// finiteCols is the row length of AllFinite32's first reduction.
const finiteCols = 1024

// AllFinite32 implements backend.DeviceElementwiser: it reports whether x
// holds no NaN or ±Inf, reading back one float (plus fewer than 1024 tail
// values): t = 0·x is 0 where x is finite and NaN elsewhere, and the sums
// of t's rows of 1024, then of those sums, are NaN exactly when some x is.
func (Backend) AllFinite32(x backend.DeviceBuffer) (bool, error) {
	d, bs, err := bufs("AllFinite32", x)
	if err != nil {
		return false, err
	}
	X := bs[0]
	n := X.Len()
	rows := n / finiteCols
	if rows > 0 {
		T, err := d.NewBuffer(rows * finiteCols)
		if err != nil {
			return false, oom(err)
		}
		defer T.Release()
		R, err := d.NewBuffer(rows)
		if err != nil {
			return false, oom(err)
		}
		defer R.Release()
		one, err := d.NewBuffer(1)
		if err != nil {
			return false, oom(err)
		}
		defer one.Release()
		if err := d.Scale(T, X, 0, 0); err != nil {
			return false, err
		}
		if err := d.SumRows(R, T, rows, finiteCols); err != nil {
			return false, err
		}
		if err := d.SumRows(one, R, 1, rows); err != nil {
			return false, err
		}
		var s [1]float32
		if err := one.Read(s[:]); err != nil {
			return false, err
		}
		if s[0] != 0 { // NaN, or (impossible) a nonzero sum of zeros
			return false, nil
		}
	}
	tail := make([]float32, n-rows*finiteCols)
	if err := X.ReadAt(rows*finiteCols, tail); err != nil {
		return false, err
	}
	for _, v := range tail {
		if v != v || v > math.MaxFloat32 || v < -math.MaxFloat32 {
			return false, nil
		}
	}
	return true, nil
}

// SSDDevice32 implements backend.DeviceSSD with Device.SSD, in the form
// p.Form says (attndev.comp's forward, or ssdf.comp / ssd.comp chunked). A
// nil a is no decay (a buffer of zeros for the chunked shaders).
func (Backend) SSDDevice32(p backend.SSDParams, q, k, v, a, y backend.DeviceBuffer) (string, error) {
	return ssdDevice32(p, q, k, v, a, y)
}

func ssdDevice32(p backend.SSDParams, q, k, v, a, y backend.DeviceBuffer) (string, error) {
	d, bs, err := bufs("SSDDevice32", q, k, v, a, y)
	if err != nil {
		return "", err
	}
	form, err := d.SSD(bs[4], bs[0], bs[1], bs[2], bs[3], p)
	return form, oom(err)
}

// stateMaxFeatures caps the feature rows SSDState32 holds at once
// (heads × L × F floats); tests lower it to exercise the groups.
var stateMaxFeatures = 1 << 26

// stateNoFused makes SSDState32 take its general path where the fused one
// applies (tests compare the two).
var stateNoFused bool

// SSDState32 implements backend.DeviceSSD: the state after the sequence,
//
//	S_h = Σ_j w_j·ψ(k_j)·[v_j, 1]ᵀ,  w_j = Scale^Order·exp(Σ_{u=j+1}^{L} a_u)
//
// into s (BH, F, W). Where ssdf.comp takes the shape (d ≤ 64) it runs that
// shader's chunk states and sums them over the chunks (ssdFusedState): all
// on the device, with no buffer allocated once warm. Otherwise the general
// path below: the weights are summed in float64 on the host from a
// (BH·L floats read back) and flushed to 0 below 1e-30, as package ssd does;
// ψ(K) is K at order 1 and FeatureMap2(K) at order 2; then per head
// S[:, :DV] = ψ(K)ᵀ·(w ⊙ V) and, with Norm, S[:, DV] = ψ(K)ᵀ·w by the
// SGEMM shader (split along the sequence: stateProducts), over groups of
// heads that keep ψ(K) under 2²⁶ floats.
func (Backend) SSDState32(p backend.SSDParams, k, v, a, s backend.DeviceBuffer) error {
	c, err := newSSDCall("SSDState32", p, nil, nil, nil, nil, nil)
	if err != nil {
		return err
	}
	d, bs, err := bufs("SSDState32", k, v, a, s)
	if err != nil {
		return err
	}
	K, V, A, S := bs[0], bs[1], bs[2], bs[3]
	F, W := c.nf, c.dve
	n := p.BH * p.L
	if K.Len() < n*p.D || V.Len() < n*p.DV || S.Len() < p.BH*F*W || (A != nil && A.Len() < n) {
		return fmt.Errorf("gpu.SSDState32: BH=%d L=%d d=%d d_v=%d F=%d: k %d, v %d, s %d, a %d floats", p.BH, p.L, p.D, p.DV, F, K.Len(), V.Len(), S.Len(), lenOf(A))
	}
	if p.BH == 0 {
		return nil
	}
	if p.L == 0 {
		return oom(d.Fill(S, p.BH*F*W, 0))
	}
	if cfg, ok := d.ssdFusedConfig(p.D, p.DV, p.Norm); ok && !ssdNoFused && !stateNoFused {
		if A == nil {
			if A, err = d.zeros(n); err != nil {
				return oom(err)
			}
			defer A.Release()
		}
		return oom(d.ssdFusedState(cfg, c, S, K, V, A))
	}
	// w_j per head, on the host in float64.
	av := make([]float32, n)
	if A != nil {
		if err := A.Read(av); err != nil {
			return err
		}
	}
	scp := float64(p.Scale)
	if p.Order == 2 {
		scp *= scp
	}
	w := make([]float32, n)
	for h := 0; h < p.BH; h++ {
		acc := 0.0 // Σ_{u=j+1}^{L} a_u
		for j := p.L - 1; j >= 0; j-- {
			x := scp * math.Exp(acc)
			if math.Abs(x) < 1e-30 {
				x = 0
			}
			w[h*p.L+j] = float32(x)
			acc += float64(av[h*p.L+j])
		}
	}
	Wb, err := d.Upload(w)
	if err != nil {
		return oom(err)
	}
	defer Wb.Release()
	WV, err := d.NewBuffer(n * p.DV)
	if err != nil {
		return oom(err)
	}
	defer WV.Release()
	// w ⊙ V: w_j broadcast over v_j's columns, on the device (only w, n
	// floats, crosses the bus).
	if err := d.Broadcast("mul", WV, V, []int{p.DV, 1}, Wb, []int{1, 0}, []int{n, p.DV}); err != nil {
		return oom(err)
	}
	group := max(1, min(p.BH, stateMaxFeatures/max(1, p.L*F)))
	Phi := K
	if p.Order == 2 {
		if Phi, err = d.NewBuffer(group * p.L * F); err != nil {
			return oom(err)
		}
		defer Phi.Release()
	}
	for h0 := 0; h0 < p.BH; h0 += group {
		g := min(group, p.BH-h0)
		offPhi := h0 * p.L * F
		if p.Order == 2 {
			tmp := K
			if h0 > 0 { // FeatureMap2 reads from the start of its input
				if tmp, err = d.NewBuffer(g * p.L * p.D); err != nil {
					return oom(err)
				}
				if err := tmp.CopyFrom(K, h0*p.L*p.D, 0, g*p.L*p.D); err != nil {
					tmp.Release()
					return err
				}
			}
			err = d.FeatureMap2(Phi, tmp, g*p.L, p.D, 1)
			if tmp != K {
				tmp.Release()
			}
			if err != nil {
				return oom(err)
			}
			offPhi = 0
		}
		if err := d.stateProducts(c, Phi, offPhi, WV, Wb, S, h0, g); err != nil {
			return err
		}
	}
	return nil
}

// stateSplitRows is the length of the slices of the sequence that
// SSDState32's products are split into (split-K): one product over all L
// rows has only ⌈F/128⌉·⌈DV/128⌉ output tiles a head, each summing L rows
// alone, too few work groups to fill a GPU at long L. The partial states of
// the slices are then summed (in double, ReduceAxis). Tests lower it.
var stateSplitRows = 512

// statePartialMax caps the floats of partial states held at once.
const statePartialMax = 1 << 25

// stateProducts sets S_h[:, :DV] = ψ(K_h)ᵀ (w ⊙ V_h) ((F, L)·(L, DV), rows
// of W) and, with Norm, S_h[:, DV] = ψ(K_h)ᵀ w_h, for the g heads from h0
// of the call c (F = c.nf, W = c.dve); ψ(K) of head h0+i starts at
// Phi[offPhi + i·L·F].
func (d *Device) stateProducts(c ssdCall, Phi *Buffer, offPhi int, WV, Wb, S *Buffer, h0, g int) error {
	L, F, DV, W := c.L, c.nf, c.DV, c.dve
	P := L / stateSplitRows
	if P > 1 {
		P = min(P, statePartialMax/(g*F*W))
	}
	if P <= 1 { // one product a head over all L rows
		return d.stateGemms(c, stateOperands{Phi, offPhi, L * F, WV, h0 * L * DV, L * DV, Wb, h0 * L, L, S, h0 * F * W, F * W}, g, L, 0)
	}
	Lp := L / P
	Pt, err := d.NewBuffer(g * P * F * W)
	if err != nil {
		return oom(err)
	}
	defer Pt.Release()
	for i := 0; i < g; i++ { // the P slices of Lp rows of head h0+i, each into a partial state
		h := h0 + i
		if err := d.stateGemms(c, stateOperands{Phi, offPhi + i*L*F, Lp * F, WV, h * L * DV, Lp * DV, Wb, h * L, Lp, Pt, i * P * F * W, F * W}, P, Lp, 0); err != nil {
			return err
		}
	}
	Sum, err := d.NewBuffer(g * F * W)
	if err != nil {
		return oom(err)
	}
	defer Sum.Release()
	if err := d.ReduceAxis("sum", Sum, Pt, g, P, F*W); err != nil {
		return oom(err)
	}
	if err := S.CopyFrom(Sum, 0, h0*F*W, g*F*W); err != nil {
		return err
	}
	if rem := L - P*Lp; rem > 0 { // the last rem rows of every head, added to S (β = 1)
		return d.stateGemms(c, stateOperands{Phi, offPhi + P*Lp*F, L * F, WV, h0*L*DV + P*Lp*DV, L * DV, Wb, h0*L + P*Lp, L, S, h0 * F * W, F * W}, g, rem, 1)
	}
	return nil
}

// stateOperands places a batch of state products: entry b reads ψ(K) rows
// from Phi[offA + b·strideA] (F floats a row), w ⊙ V rows from
// WV[offB + b·strideB] (DV a row), w from Wb[offW + b·strideW], and writes
// C[offC + b·strideC] (F rows of W).
type stateOperands struct {
	Phi           *Buffer
	offA, strideA int
	WV            *Buffer
	offB, strideB int
	Wb            *Buffer
	offW, strideW int
	C             *Buffer
	offC, strideC int
}

// stateGemms computes, for each of batch entries, C[:, :DV] = ψᵀ (w ⊙ V) +
// β·C[:, :DV] over K rows, and with c.Norm C[:, DV] = ψᵀ w + β·C[:, DV]
// (F = c.nf features, rows of W = c.dve).
func (d *Device) stateGemms(c ssdCall, o stateOperands, batch, K int, beta float32) error {
	F, DV, W := c.nf, c.DV, c.dve
	gm := Gemm{TransA: true, M: F, N: DV, K: K, Alpha: 1, Beta: beta, A: o.Phi, B: o.WV, C: o.C,
		LDA: F, LDB: DV, LDC: W, OffA: o.offA, OffB: o.offB, OffC: o.offC,
		Batch: batch, StrideA: o.strideA, StrideB: o.strideB, StrideC: o.strideC}
	if err := d.Gemm(gm); err != nil {
		return oom(err)
	}
	if !c.Norm {
		return nil
	}
	gz := Gemm{TransA: true, M: F, N: 1, K: K, Alpha: 1, Beta: beta, A: o.Phi, B: o.Wb, C: o.C,
		LDA: F, LDB: 1, LDC: W, OffA: o.offA, OffB: o.offW, OffC: o.offC + DV,
		Batch: batch, StrideA: o.strideA, StrideB: o.strideW, StrideC: o.strideC}
	return oom(d.Gemm(gz))
}
