package gpu

import (
	_ "embed"
	"fmt"

	"github.com/furious-lab/furious/backend"
)

//go:embed attnback.comp
var attnbackSrc string

// AttnMaxL is the longest sequence Attention32 and AttentionBackward32 take:
// they materialise L×L score matrices per head (16 MiB each at L = 2048).
// Longer sequences return backend.ErrNotImplemented, so nn runs them on the
// CPU (or the chunked form).
const AttnMaxL = 2048

// attnMatFloats bounds the floats of one L×L matrix batch: heads are
// processed nb at a time with nb·L² ≤ this (and the device's SSBO limit).
var attnMatFloats = 1 << 24

var _ backend.Attentioner = Backend{}

// Attention32 implements backend.Attentioner on the default device.
func (Backend) Attention32(p backend.SSDParams, q, k, v, a, y []float32) error {
	d, err := Default()
	if err != nil {
		return err
	}
	return d.Attention32(p, q, k, v, a, y)
}

// AttentionBackward32 implements backend.Attentioner on the default device.
func (Backend) AttentionBackward32(p backend.SSDParams, q, k, v, a, dO, dq, dk, dv, da []float32) error {
	d, err := Default()
	if err != nil {
		return err
	}
	return d.AttentionBackward32(p, q, k, v, a, dO, dq, dk, dv, da)
}

// attnJob is one Attention32 or AttentionBackward32 call on the device: the
// inputs uploaded, the per-head cumulative decays, and the head batch size.
type attnJob struct {
	d          *Device
	p          backend.SSDParams
	Q, K, V, A *Buffer
	acs        *Buffer  // (BH, L) float64 cumsums of a, as 2·BH·L floats; nil without a
	nb         int      // heads per batch of L×L matrices
	defs       []string // attnback.comp's macro set for p (attnDefs)
	release    []func()
}

func (j *attnJob) free() {
	for i := len(j.release) - 1; i >= 0; i-- {
		j.release[i]()
	}
}

// upload copies x into the device's scratch slot name (allocating only
// when the slot is smaller, so a training loop does not reallocate).
func (j *attnJob) upload(slot string, x []float32) (*Buffer, error) {
	b, err := j.buffer(slot, len(x))
	if err != nil {
		return nil, err
	}
	return b, b.Write(x)
}

// buffer returns an uninitialised buffer of n floats from the device's
// scratch slot name (kept between calls, so a training loop does not
// reallocate).
func (j *attnJob) buffer(slot string, n int) (*Buffer, error) {
	b, give, err := j.d.takeScratch("attnback."+slot, n)
	if err != nil {
		return nil, err
	}
	j.release = append(j.release, give)
	return b, nil
}

// newAttnJob checks the sizes, uploads q, k, v, a and runs ACS.
func (d *Device) newAttnJob(op string, p backend.SSDParams, q, k, v, a []float32) (*attnJob, error) {
	if err := ssdCheck(op, p, true); err != nil {
		return nil, err
	}
	n, nv := p.BH*p.L*p.D, p.BH*p.L*p.DV
	if len(q) < n || len(k) < n || len(v) < nv || (a != nil && len(a) < p.BH*p.L) {
		return nil, fmt.Errorf("gpu.%s: q, k, v, a have %d, %d, %d, %d values for %+v", op, len(q), len(k), len(v), len(a), p)
	}
	j := &attnJob{d: d, p: p, defs: attnDefs(p, a != nil)}
	maxMat := attnMatFloats
	if d.info.MaxSSBOBytes > 0 {
		maxMat = min(maxMat, d.info.MaxSSBOBytes/4)
	}
	j.nb = max(1, min(p.BH, maxMat/max(p.L*p.L, 1), (1<<22)/max(p.L, 1)))
	var err error
	ok := false
	defer func() {
		if !ok {
			j.free()
		}
	}()
	if j.Q, err = j.upload("q", q[:n]); err != nil {
		return nil, err
	}
	if j.K, err = j.upload("k", k[:n]); err != nil {
		return nil, err
	}
	if j.V, err = j.upload("v", v[:nv]); err != nil {
		return nil, err
	}
	if a != nil {
		if j.A, err = j.upload("a", a[:p.BH*p.L]); err != nil {
			return nil, err
		}
		if j.acs, err = j.buffer("acs", 2*p.BH*p.L); err != nil {
			return nil, err
		}
		prog, err := d.program("attnback.comp", attnbackSrc, "ACS")
		if err != nil {
			return nil, err
		}
		if err := d.run(prog, [3]int{ceilDiv(p.BH, 64), 1, 1}, []*Buffer{j.A, j.acs},
			iarg("rows", p.BH), iarg("L", p.L), iarg("headOff", 0)); err != nil {
			return nil, err
		}
	}
	ok = true
	return j, nil
}

// attnDefs is attnback.comp's macro set for the record p (masked: a decay
// is given): ORDER1, ORDER2 or EXP, NORM, MASKED.
func attnDefs(p backend.SSDParams, masked bool) []string {
	var defs []string
	switch {
	case p.Exp:
		defs = append(defs, "EXP")
	case p.Order == 1:
		defs = append(defs, "ORDER1")
	default:
		defs = append(defs, "ORDER2")
	}
	if p.Norm {
		defs = append(defs, "NORM")
	}
	if masked {
		defs = append(defs, "MASKED")
	}
	return defs
}

// probs computes, for heads h0 … h0+m−1, S = Scale·Q Kᵀ and W (P, or P/Σ_j P
// with the norm) into the L×L batches S and W, and inv (m·L).
func (j *attnJob) probs(h0, m int, S, W, inv *Buffer) error {
	p, d := j.p, j.d
	if err := d.Gemm(Gemm{TransB: true, M: p.L, N: p.L, K: p.D, Alpha: p.Scale,
		A: j.Q, OffA: h0 * p.L * p.D, StrideA: p.L * p.D,
		B: j.K, OffB: h0 * p.L * p.D, StrideB: p.L * p.D,
		C: S, StrideC: p.L * p.L, Batch: m}); err != nil {
		return err
	}
	prog, err := d.program("attnback.comp", attnbackSrc, append([]string{"PROB"}, j.defs...)...)
	if err != nil {
		return err
	}
	acs := j.acs
	if acs == nil {
		acs = inv // bound but unread
	}
	return d.run(prog, rowGroups(m*p.L), []*Buffer{S, W, acs, inv},
		iarg("rows", m*p.L), iarg("L", p.L), iarg("headOff", h0))
}

// Attention32 computes nn's quadratic attention on host slices
// (backend.Attentioner): q, k (BH, L, D), v, y (BH, L, DV), a (BH, L) or
// nil; p.Form and p.Chunk are not read. Per batch of heads: S = Scale·Q Kᵀ
// (matmul.comp), W = P or P/Σ_j P (attnback.comp PROB), Y = W V
// (matmul.comp). L ≤ AttnMaxL.
func (d *Device) Attention32(p backend.SSDParams, q, k, v, a, y []float32) error {
	if p.BH == 0 || p.L == 0 {
		return nil
	}
	if len(y) < p.BH*p.L*p.DV {
		return fmt.Errorf("gpu.Attention32: y has %d values, want %d", len(y), p.BH*p.L*p.DV)
	}
	j, err := d.newAttnJob("Attention32", p, q, k, v, a)
	if err != nil {
		return err
	}
	defer j.free()
	L2 := j.nb * p.L * p.L
	S, err := j.buffer("S", L2)
	if err != nil {
		return err
	}
	W, err := j.buffer("W", L2)
	if err != nil {
		return err
	}
	inv, err := j.buffer("inv", j.nb*p.L)
	if err != nil {
		return err
	}
	Y, err := j.buffer("Y", p.BH*p.L*p.DV)
	if err != nil {
		return err
	}
	for h0 := 0; h0 < p.BH; h0 += j.nb {
		m := min(j.nb, p.BH-h0)
		if err := j.probs(h0, m, S, W, inv); err != nil {
			return err
		}
		if err := d.Gemm(Gemm{M: p.L, N: p.DV, K: p.L, Alpha: 1,
			A: W, StrideA: p.L * p.L,
			B: j.V, OffB: h0 * p.L * p.DV, StrideB: p.L * p.DV,
			C: Y, OffC: h0 * p.L * p.DV, StrideC: p.L * p.DV, Batch: m}); err != nil {
			return err
		}
	}
	return Y.Read(y[:p.BH*p.L*p.DV])
}

// AttentionBackward32 computes the gradients of Attention32 for the output
// gradient dO (backend.Attentioner), by nn's formulas (spec §f, C.5 as
// corrected), per batch of heads: S and W again, dV = Wᵀ dO, G = dO Vᵀ,
// dS and dlogAM (attnback.comp DS), dQ = Scale·dS K, dK = Scale·dSᵀ Q
// (matmul.comp), dA^M = −Σ_i dlogAM (COLSUM); then on the host
// da_t = Σ_{u ≥ t} (dA^N_u + dA^M_u) in float64.
func (d *Device) AttentionBackward32(p backend.SSDParams, q, k, v, a, dO, dq, dk, dv, da []float32) error {
	if p.BH == 0 || p.L == 0 {
		return nil
	}
	n, nv := p.BH*p.L*p.D, p.BH*p.L*p.DV
	if len(dO) < nv || len(dq) < n || len(dk) < n || len(dv) < nv || (a != nil && len(da) < p.BH*p.L) {
		return fmt.Errorf("gpu.AttentionBackward32: dO, dq, dk, dv, da have %d, %d, %d, %d, %d values for %+v", len(dO), len(dq), len(dk), len(dv), len(da), p)
	}
	j, err := d.newAttnJob("AttentionBackward32", p, q, k, v, a)
	if err != nil {
		return err
	}
	defer j.free()
	DO, err := j.upload("dO", dO[:nv])
	if err != nil {
		return err
	}
	L2 := j.nb * p.L * p.L
	bufs := map[string]int{"S": L2, "W": L2, "G": L2, "inv": j.nb * p.L, "dQ": n, "dK": n, "dV": nv}
	if a != nil {
		bufs["dan"], bufs["dam"] = p.BH*p.L, p.BH*p.L
	}
	B := map[string]*Buffer{}
	for _, name := range []string{"S", "W", "G", "inv", "dQ", "dK", "dV", "dan", "dam"} {
		if size, ok := bufs[name]; ok {
			if B[name], err = j.buffer(name, size); err != nil {
				return err
			}
		}
	}
	ds, err := d.program("attnback.comp", attnbackSrc, append([]string{"DS"}, j.defs...)...)
	if err != nil {
		return err
	}
	var colsum *program
	if a != nil {
		if colsum, err = d.program("attnback.comp", attnbackSrc, "COLSUM"); err != nil {
			return err
		}
	}
	L, D, DV := p.L, p.D, p.DV
	for h0 := 0; h0 < p.BH; h0 += j.nb {
		m := min(j.nb, p.BH-h0)
		if err := j.probs(h0, m, B["S"], B["W"], B["inv"]); err != nil {
			return err
		}
		steps := []Gemm{
			// dV = Wᵀ dO
			{TransA: true, M: L, N: DV, K: L, Alpha: 1, A: B["W"], StrideA: L * L,
				B: DO, OffB: h0 * L * DV, StrideB: L * DV, C: B["dV"], OffC: h0 * L * DV, StrideC: L * DV, Batch: m},
			// G = dO Vᵀ
			{TransB: true, M: L, N: L, K: DV, Alpha: 1, A: DO, OffA: h0 * L * DV, StrideA: L * DV,
				B: j.V, OffB: h0 * L * DV, StrideB: L * DV, C: B["G"], StrideC: L * L, Batch: m},
		}
		for _, g := range steps {
			if err := d.Gemm(g); err != nil {
				return err
			}
		}
		acs, dan := j.acs, B["dan"]
		if acs == nil {
			acs, dan = B["inv"], B["inv"] // bound but unused without a mask
		}
		if err := d.run(ds, rowGroups(m*L), []*Buffer{B["S"], B["W"], acs, B["inv"], B["G"], dan},
			iarg("rows", m*L), iarg("L", L), iarg("headOff", h0)); err != nil {
			return err
		}
		steps = []Gemm{
			// dQ = Scale·dS K
			{M: L, N: D, K: L, Alpha: p.Scale, A: B["G"], StrideA: L * L,
				B: j.K, OffB: h0 * L * D, StrideB: L * D, C: B["dQ"], OffC: h0 * L * D, StrideC: L * D, Batch: m},
			// dK = Scale·dSᵀ Q
			{TransA: true, M: L, N: D, K: L, Alpha: p.Scale, A: B["G"], StrideA: L * L,
				B: j.Q, OffB: h0 * L * D, StrideB: L * D, C: B["dK"], OffC: h0 * L * D, StrideC: L * D, Batch: m},
		}
		for _, g := range steps {
			if err := d.Gemm(g); err != nil {
				return err
			}
		}
		if a != nil {
			if err := d.run(colsum, rowGroups(ceilDiv(m*L, 64)), []*Buffer{B["S"], B["dam"]},
				iarg("rows", m*L), iarg("L", L), iarg("headOff", h0)); err != nil {
				return err
			}
		}
	}
	for _, o := range []struct {
		b   *Buffer
		dst []float32
	}{{B["dQ"], dq[:n]}, {B["dK"], dk[:n]}, {B["dV"], dv[:nv]}} {
		if err := o.b.Read(o.dst); err != nil {
			return err
		}
	}
	if a == nil {
		return nil
	}
	dan, dam := make([]float32, p.BH*L), make([]float32, p.BH*L)
	if err := B["dan"].Read(dan); err != nil {
		return err
	}
	if err := B["dam"].Read(dam); err != nil {
		return err
	}
	for h := 0; h < p.BH; h++ { // da_t = Σ_{u ≥ t} dAcs_u
		acc := 0.0
		for t := L - 1; t >= 0; t-- {
			acc += float64(dan[h*L+t]) + float64(dam[h*L+t])
			da[h*L+t] = float32(acc)
		}
	}
	return nil
}
