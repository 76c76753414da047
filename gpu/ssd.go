package gpu

import (
	_ "embed"
	"fmt"

	"github.com/furious-lab/furious/backend"
)

//go:embed ssd.comp
var ssdSrc string

// ssdMaxStateFloats, when positive, caps the chunk-state buffers below the
// device's limit (tests use it to exercise the loop over head batches).
var ssdMaxStateFloats int

// SSD computes one SSD call (backend.SSDParams, whose comment has the
// maths) on the device, in the form p.Form names, and returns that form:
//
//	y_i = Σ_{j≤i} f(s_ij)·AM_ij·v_j,  s_ij = Scale·q_i·k_j,  AM_ij = exp(Σ_{u=j+1}^{i} a_u)
//	f(s) = s (Order 1), s² (Order 2), eˢ (Exp: softmax attention, quadratic form with Norm only)
//
// and with Norm (softmax norm) y_i divided by Σ_{j≤i} f(s_ij)·AM_ij (0 where
// that is 0). q, k (BH, L, D), v, y (BH, L, DV), a (BH, L) log-decays or nil
// (no decay); D, DV ≤ 256.
//
// "quadratic" runs attndev.comp's forward (training's, AttentionDevice32):
// cost quadratic in L and linear in d, the better form for short sequences.
// It sums the decay bias within blocks of up to 64 positions and across
// whole blocks, never as a difference of one long cumulative sum; with Exp
// it subtracts an online row maximum.
//
// "chunked" runs chunks of p.Chunk positions (≤ 1024; 64 is a good start):
// within a chunk the quadratic form, across chunks the states S_c (F × DV,
// plus a ones column under Norm; F = D, or D(D+1)/2 features φ(q),
// φ(Scale·k) of order 2) passed by S_{c+1} = exp(Σ_{u∈c} a_u)·S_c + T_c. The
// decays are within-chunk cumulative sums, never one long float32
// cumulative sum. Where the shapes allow (D ≤ 64, and the tiles fit the
// device's shared memory) the fused shader ssdf.comp runs (see ssdFused),
// else the four stages of ssd.comp.
//
// "auto" runs the form SSDForm chooses for the shape, with its chunk.
//
// Order-1 scores may be negative; the softmax norm assumes they are not
// (use non-negative features such as ReLU(q), ReLU(k)). A record the
// shaders do not take (ssdCheck) returns an error wrapping
// backend.ErrNotImplemented; buffers too short for it are an error too.
func (d *Device) SSD(y, q, k, v, a *Buffer, p backend.SSDParams) (string, error) {
	c, err := newSSDCall("SSD", p, q, k, v, a, y)
	if err != nil {
		return "", err
	}
	if c.BH == 0 || c.L == 0 {
		return c.Form, nil
	}
	if c.Form == "quadratic" {
		return c.Form, d.quadratic(c, y, q, k, v, a)
	}
	if a == nil {
		if a, err = d.zeros(c.BH * c.L); err != nil {
			return "", err
		}
		defer a.Release()
	}
	if cfg, ok := d.ssdFusedConfig(c.D, c.DV, c.Norm); ok && !ssdNoFused {
		return c.Form, d.ssdFused(cfg, c, y, q, k, v, a)
	}
	return c.Form, d.ssdStaged(c, y, q, k, v, a)
}

// ssdNoFused, when set, makes SSD use the four-stage shader (tests).
var ssdNoFused bool

// ssdCall is a backend.SSDParams that ssdCheck accepted, its form
// resolved ("auto" replaced by SSDForm's choice and chunk), with the sizes
// the dispatchers derive from it.
type ssdCall struct {
	backend.SSDParams
	nf  int // features of a chunk state: D at order 1, FeatureMapDim(D) at order 2
	dve int // value columns of a state: DV, plus the ones column under Norm
	nch int // chunks of Chunk positions (chunked form)
}

// newSSDCall checks p for op (ssdCheck) and, where y is not nil, the
// buffers' lengths: q, k (BH, L, D), v, y (BH, L, DV), a (BH, L) or nil;
// y nil is a state call (q not read, Form not read: chunked with
// SSDChunk(Order)).
func newSSDCall(op string, p backend.SSDParams, q, k, v, a, y *Buffer) (ssdCall, error) {
	if y == nil {
		p.Form, p.Chunk = "chunked", SSDChunk(p.Order)
	}
	if err := ssdCheck(op, p); err != nil {
		return ssdCall{}, err
	}
	if p.Form == "auto" {
		p.Form, p.Chunk = SSDForm(p)
	}
	c := ssdCall{SSDParams: p, nf: p.D, dve: p.DV}
	if p.Order == 2 {
		c.nf = FeatureMapDim(p.D)
	}
	if p.Norm {
		c.dve++
	}
	if p.Form == "chunked" {
		c.nch = ceilDiv(p.L, p.Chunk)
	}
	n := p.BH * p.L
	if y != nil && (q.Len() < n*p.D || k.Len() < n*p.D || v.Len() < n*p.DV || y.Len() < n*p.DV || (a != nil && a.Len() < n)) {
		return ssdCall{}, fmt.Errorf("gpu.%s: BH=%d L=%d d=%d d_v=%d: q %d, k %d, v %d, y %d, a %d floats",
			op, p.BH, p.L, p.D, p.DV, q.Len(), k.Len(), v.Len(), y.Len(), lenOf(a))
	}
	return c, nil
}

// ssdCheck returns an error for a record p that op cannot run: negative
// sizes, D or DV below 1, or an order below 1 without Exp, are errors; what
// the SSD shaders (attndev.comp, ssdf.comp, ssd.comp) have no code for
// wraps backend.ErrNotImplemented: they take orders 1 and 2 in either
// form, Exp with Norm in the quadratic form, D, DV ≤ 256, and Form
// "quadratic", "chunked" with Chunk 1 to 1024, or "auto".
func ssdCheck(op string, p backend.SSDParams) error {
	ni := backend.ErrNotImplemented
	switch {
	case p.BH < 0 || p.L < 0 || p.D < 1 || p.DV < 1:
		return fmt.Errorf("gpu.%s: bad sizes BH=%d L=%d d=%d d_v=%d", op, p.BH, p.L, p.D, p.DV)
	case !p.Exp && p.Order < 1:
		return fmt.Errorf("gpu.%s: order %d, want p ≥ 1 (or Exp)", op, p.Order)
	case !p.Exp && p.Order > 2:
		return fmt.Errorf("gpu.%s: order %d (the shaders take 1, 2 and exp): %w", op, p.Order, ni)
	case p.D > 256 || p.DV > 256:
		return fmt.Errorf("gpu.%s: d=%d, d_v=%d (the shaders take 1 to 256): %w", op, p.D, p.DV, ni)
	case p.Form != "chunked" && p.Form != "quadratic" && p.Form != "auto":
		return fmt.Errorf("gpu.%s: form %q: %w", op, p.Form, ni)
	case p.Exp && (p.Form == "chunked" || !p.Norm):
		return fmt.Errorf("gpu.%s: exp scores in form %q, norm %v (the shaders take softmax attention, exp with the norm, in the quadratic form): %w", op, p.Form, p.Norm, ni)
	case p.Form == "chunked" && (p.Chunk < 1 || p.Chunk > 1024):
		return fmt.Errorf("gpu.%s: chunk %d (the shaders take 1 to 1024): %w", op, p.Chunk, ni)
	}
	return nil
}

// ssdStateCap is the most floats of chunk states one storage buffer holds
// for the chunked shaders (GL_MAX_SHADER_STORAGE_BLOCK_SIZE, at most 2 GiB
// so that 32-bit indices stay in range; ssdMaxStateFloats in tests).
func (d *Device) ssdStateCap() int {
	maxFloats := d.info.MaxSSBOBytes / 4
	if ssdMaxStateFloats > 0 {
		maxFloats = ssdMaxStateFloats
	}
	if maxFloats <= 0 || maxFloats > 1<<29 {
		maxFloats = 1 << 29
	}
	return maxFloats
}

// ssdStaged is SSD in the four stages of ssd.comp, one output per thread.
func (d *Device) ssdStaged(c ssdCall, y, q, k, v, a *Buffer) error {
	const name = "ssd.comp"
	nch, nf, dve := c.nch, c.nf, c.dve
	// T and S hold one state per chunk for hb heads at a time: as many as
	// one storage buffer may hold.
	perHead := nch * nf * dve
	maxFloats := d.ssdStateCap()
	if perHead > maxFloats {
		return &Error{Shader: name, Op: "dispatch", Err: fmt.Errorf("%d chunk states of %d×%d floats exceed one storage buffer (%d floats): use a longer chunk", nch, nf, dve, maxFloats)}
	}
	bh, L := c.BH, c.L
	hb := min(bh, maxFloats/perHead)
	cs, err := d.NewBuffer(bh * L)
	if err != nil {
		return err
	}
	defer cs.Release()
	T, err := d.NewBuffer(hb * perHead)
	if err != nil {
		return err
	}
	defer T.Release()
	S, err := d.NewBuffer(hb * perHead)
	if err != nil {
		return err
	}
	defer S.Release()
	Z, err := d.NewBuffer(bh * L * dve)
	if err != nil {
		return err
	}
	defer Z.Release()
	if err := d.ChunkCumsum(cs, a, bh, L, c.Chunk); err != nil {
		return err
	}
	defs := c.stagedDefs()
	if hb*nch > 65535 {
		argPanic(name, "dispatch", "%d chunks per head exceed 65535: use a longer chunk", nch)
	}
	bufs := []*Buffer{q, k, v, cs, T, S, y, Z}
	for h0 := 0; h0 < bh; h0 += hb {
		n := min(hb, bh-h0)
		args := []arg{iarg("BH", n), iarg("H0", h0), iarg("L", L), iarg("nch", nch), farg("scale", c.Scale)}
		for _, stage := range []string{"STATES", "PASS", "INTER", "OUTPUT"} {
			p, err := d.program(name, ssdSrc, append(defs, stage)...)
			if err != nil {
				return err
			}
			var groups [3]int
			switch stage {
			case "STATES":
				groups = [3]int{ceilDiv(nf*dve, 256), n * nch, 1}
			case "PASS":
				groups = rowGroups(ceilDiv(n*perHead, 256))
			case "INTER":
				groups = rowGroups(n * L)
			case "OUTPUT":
				groups = rowGroups(n * nch)
			}
			if err := d.run(p, groups, bufs, args...); err != nil {
				return err
			}
		}
	}
	return nil
}

// stagedDefs is ssd.comp's macro set for the call (the stage is added per
// dispatch).
func (c ssdCall) stagedDefs() []string {
	defs := []string{fmt.Sprintf("CH %d", c.Chunk), fmt.Sprintf("DK %d", c.D), fmt.Sprintf("DV %d", c.DV),
		fmt.Sprintf("ELS %d", ceilDiv(c.dve, 32)*32)}
	if c.Norm {
		defs = append(defs, "NORM")
	}
	if c.Order == 2 {
		defs = append(defs, "ORDER2")
	}
	return defs
}
