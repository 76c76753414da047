package gpu

import (
	_ "embed"
	"fmt"

	"github.com/furious-lab/furious/backend"
)

//go:embed attndev.comp
var attndevSrc string

//go:embed attnchunk.comp
var attnchunkSrc string

var (
	_ backend.DeviceAttentioner = Backend{}
	_ backend.DeviceAttentioner = (*Device)(nil)
)

// AttentionDevice32 implements backend.DeviceAttentioner on the default
// device.
func (Backend) AttentionDevice32(p backend.SSDParams, b backend.AttnBuffers) error {
	d, err := Default()
	if err != nil {
		return err
	}
	return oom(d.AttentionDevice32(p, b))
}

// AttentionBackwardDevice32 implements backend.DeviceAttentioner on the
// default device.
func (Backend) AttentionBackwardDevice32(p backend.SSDParams, b backend.AttnBuffers) error {
	d, err := Default()
	if err != nil {
		return err
	}
	return oom(d.AttentionBackwardDevice32(p, b))
}

// attnDev is one DeviceAttentioner call: the record, its buffers as
// *Buffer of the device (nil where absent), and the block size.
type attnDev struct {
	d                       *Device
	p                       backend.SSDParams
	q, k, v, a, y, stat, dO *Buffer
	dq, dk, dv, da          *Buffer
	kt                      *Buffer       // the GEMM form's Kᵀ scratch (attngemm.go), or nil
	yp                      *Buffer       // the GEMM form's partial products of y (attngemm.go gemmForward), or nil
	gate                    *dispatchGate // where the GEMM form's forward holds its dispatches while the device chooses its path, or nil
	block                   int
	nb                      int      // blocks of block positions per head
	chunk, nch              int      // chunked form: chunk length (a multiple of block) and chunks per head; 0 for the quadratic form
	cw                      *Buffer  // chunked form with a decay: per row exp(A_r), exp(T_c − A_r) (attnchunk.comp CPREP)
	ff, ee                  int      // chunked form: state features ψ and value columns (DV, +1 with Norm)
	defs                    []string // attndev.comp's macro set (without the stage)
	release                 []func()
}

// attnDevMaxDim is the largest D and DV the shader takes (per-thread
// register arrays of that length).
const attnDevMaxDim = 256

// attnDevBlock, when positive, forces the block size (tests use it to run
// many blocks at small L; BenchmarkAttentionDevice's -attndev.block sets it
// to compare block sizes on a GPU).
var attnDevBlock int

// newAttnDev checks p and the buffers of b for op and picks the block
// size: the forward (back false) needs Q, K, V, Y, Stat and A or nil; the
// backward also DO, DQ, DK, DV, and DA or nil (DA only with A). Bad sizes,
// an order below 1 without Exp, a missing or short buffer are errors; D or
// DV over 256, heads too wide for shared memory, or a buffer that is not a
// live *Buffer of d return an error wrapping backend.ErrNotImplemented.
func (d *Device) newAttnDev(op string, p backend.SSDParams, b backend.AttnBuffers, back bool) (*attnDev, error) {
	ni := backend.ErrNotImplemented
	switch {
	case p.BH < 0 || p.L < 0 || p.D < 1 || p.DV < 1:
		return nil, fmt.Errorf("gpu.%s: bad sizes BH=%d L=%d d=%d d_v=%d", op, p.BH, p.L, p.D, p.DV)
	case !p.Exp && p.Order < 1:
		return nil, fmt.Errorf("gpu.%s: order %d, want p ≥ 1 (or Exp)", op, p.Order)
	case p.D > attnDevMaxDim || p.DV > attnDevMaxDim:
		return nil, fmt.Errorf("gpu.%s: d=%d, d_v=%d (the shader takes 1 to %d): %w", op, p.D, p.DV, attnDevMaxDim, ni)
	}
	j := &attnDev{d: d, p: p}
	n, nv, nr := p.BH*p.L*p.D, p.BH*p.L*p.DV, p.BH*p.L
	type operand struct {
		name string
		buf  backend.DeviceBuffer
		dst  **Buffer
		need int
		want bool // required
	}
	ops := []operand{
		{"Q", b.Q, &j.q, n, true}, {"K", b.K, &j.k, n, true}, {"V", b.V, &j.v, nv, true},
		{"A", b.A, &j.a, nr, false}, {"Y", b.Y, &j.y, nv, true}, {"Stat", b.Stat, &j.stat, nr, true},
	}
	if back {
		ops = append(ops, operand{"DO", b.DO, &j.dO, nv, true}, operand{"DQ", b.DQ, &j.dq, n, true},
			operand{"DK", b.DK, &j.dk, n, true}, operand{"DV", b.DV, &j.dv, nv, true}, operand{"DA", b.DA, &j.da, nr, false})
	}
	for _, o := range ops {
		if o.buf == nil {
			if o.want {
				return nil, fmt.Errorf("gpu.%s: buffer %s is nil", op, o.name)
			}
			continue
		}
		x, ok := o.buf.(*Buffer)
		if !ok || x == nil {
			if ok && !o.want { // a typed nil *Buffer: absent
				continue
			}
			return nil, fmt.Errorf("gpu.%s: %s is not a buffer of the gpu backend: %w", op, o.name, ni)
		}
		if x.d != d || x.id == 0 {
			return nil, fmt.Errorf("gpu.%s: %s is not a live buffer of this device: %w", op, o.name, ni)
		}
		if x.Len() < o.need {
			return nil, fmt.Errorf("gpu.%s: %s has %d floats, %+v needs %d", op, o.name, x.Len(), p, o.need)
		}
		*o.dst = x
	}
	if j.da != nil && j.a == nil {
		return nil, fmt.Errorf("gpu.%s: DA given without A (no decay has no decay gradient)", op)
	}
	// The largest block of 64, 32, 16, 8 or 4 positions whose staged rows
	// (DKV: B·(D' + DV' + 3) floats, D' and DV' rounded up to vec4s) fit
	// in shared memory.
	row := 4 * (4*ceilDiv(p.D, 4) + 4*ceilDiv(p.DV, 4) + 3)
	j.block = 64
	for j.block > 4 && j.block*row > d.info.MaxSharedBytes {
		j.block /= 2
	}
	if j.block*row > d.info.MaxSharedBytes {
		return nil, fmt.Errorf("gpu.%s: d=%d, d_v=%d do not fit %d bytes of shared memory: %w", op, p.D, p.DV, d.info.MaxSharedBytes, ni)
	}
	if attnDevBlock > 0 {
		if attnDevBlock*row > d.info.MaxSharedBytes {
			return nil, fmt.Errorf("gpu.%s: block %d at d=%d, d_v=%d does not fit %d bytes of shared memory", op, attnDevBlock, p.D, p.DV, d.info.MaxSharedBytes)
		}
		j.block = attnDevBlock
	}
	if p.Form == "chunked" {
		switch {
		case p.Exp || p.Order > 2:
			return nil, fmt.Errorf("gpu.%s: the chunked form takes orders 1 and 2, not %s: %w", op, orderName(p), ni)
		case p.Chunk < 1:
			return nil, fmt.Errorf("gpu.%s: chunk %d, want ≥ 1", op, p.Chunk)
		case attnDevBlock > 0 && p.Chunk%attnDevBlock != 0:
			return nil, fmt.Errorf("gpu.%s: chunk %d is not a multiple of the block %d", op, p.Chunk, attnDevBlock)
		}
		for p.Chunk%j.block != 0 { // blocks tile the chunks
			j.block /= 2
		}
		j.chunk, j.nch = p.Chunk, ceilDiv(p.L, p.Chunk)
		j.ff, j.ee = p.D, p.DV
		if p.Order == 2 {
			j.ff = FeatureMapDim(p.D)
		}
		if p.Norm {
			j.ee++
		}
		if n := j.stateFloats(); n > d.ssdStateCap() {
			return nil, fmt.Errorf("gpu.%s: %d chunks × %d heads of %d×%d states (%d floats) exceed a storage buffer (%d floats); take longer chunks or fewer heads a call: %w",
				op, j.nch, p.BH, j.ff, j.ee, n, d.ssdStateCap(), ni)
		}
	}
	j.nb = ceilDiv(p.L, j.block)
	j.defs = j.kindDefs(fmt.Sprintf("B %d", j.block), fmt.Sprintf("DK %d", p.D), fmt.Sprintf("DV %d", p.DV))
	if j.chunk > 0 {
		j.defs = append(j.defs, "CHUNKED")
	}
	return j, nil
}

// stateFloats is the size of one set of chunk states, H_c or dH_c:
// BH·nch·ff·ee floats.
func (j *attnDev) stateFloats() int { return j.p.BH * j.nch * j.ff * j.ee }

// orderName is "exp" or "order p" for error messages.
func orderName(p backend.SSDParams) string {
	if p.Exp {
		return "exp"
	}
	return fmt.Sprintf("order %d", p.Order)
}

func (j *attnDev) free() {
	for i := len(j.release) - 1; i >= 0; i-- {
		j.release[i]()
	}
}

// scratch returns n floats of the device's scratch slot name, kept
// between calls so that a training loop does not allocate.
func (j *attnDev) scratch(name string, n int) (*Buffer, error) {
	b, give, err := j.d.takeScratch("attndev."+name, n)
	if err != nil {
		return nil, err
	}
	j.release = append(j.release, give)
	return b, nil
}

// run dispatches attndev.comp's stage over groups with bufs bound in order
// (a nil buffer is bound to q, unread) and the call's uniforms.
func (j *attnDev) run(stage string, groups [3]int, bufs ...*Buffer) error {
	prog, err := j.d.program("attndev.comp", attndevSrc, append([]string{stage}, j.defs...)...)
	if err != nil {
		return err
	}
	j.bindUnread(bufs)
	return j.d.run(prog, groups, bufs, iarg("BH", j.p.BH), iarg("L", j.p.L), iarg("CB", j.chunk/j.block), farg("scale", j.p.Scale))
}

// kindDefs is defs followed by the attention's kind, the macros every
// attention shader (attndev.comp, attnchunk.comp, attngemm.comp) takes:
// EXP or ORDER p, NORM with the norm, MASKED with a decay.
func (j *attnDev) kindDefs(defs ...string) []string {
	if j.p.Exp {
		defs = append(defs, "EXP")
	} else {
		defs = append(defs, fmt.Sprintf("ORDER %d", j.p.Order))
	}
	if j.p.Norm {
		defs = append(defs, "NORM")
	}
	if j.a != nil {
		defs = append(defs, "MASKED")
	}
	return defs
}

// bindUnread binds j.q, unread, in place of every nil buffer of bufs
// (a shader's binding must hold some buffer).
func (j *attnDev) bindUnread(bufs []*Buffer) {
	for i, b := range bufs {
		if b == nil {
			bufs[i] = j.q
		}
	}
}

// runChunk dispatches attnchunk.comp's stage over n threads with bufs bound
// in order (nil bound to q, unread) and j.cw at binding 7.
func (j *attnDev) runChunk(stage string, n int, bufs ...*Buffer) error {
	defs := j.kindDefs(stage, fmt.Sprintf("DK %d", j.p.D), fmt.Sprintf("DV %d", j.p.DV))
	prog, err := j.d.program("attnchunk.comp", attnchunkSrc, defs...)
	if err != nil {
		return err
	}
	for len(bufs) < 7 {
		bufs = append(bufs, nil)
	}
	bufs = append(bufs, j.cw)
	j.bindUnread(bufs)
	return j.d.run(prog, rowGroups(ceilDiv(n, 64)), bufs, iarg("BH", j.p.BH), iarg("L", j.p.L), iarg("C", j.chunk),
		farg("scale", j.p.Scale))
}

// chunkStates runs the forward half of the chunked form's states into
// states[0 : BH·nch·ff·ee] (attnchunk.comp CPREP with a decay, into j.cw,
// then LOC and SCAN: H_c, the state entering each chunk).
func (j *attnDev) chunkStates(states *Buffer) error {
	p := j.p
	if j.a != nil && j.cw == nil {
		var err error
		if j.cw, err = j.scratch("cw", 2*p.BH*p.L); err != nil {
			return err
		}
		if err := j.runChunk("CPREP", p.BH*j.nch, j.a, j.cw); err != nil {
			return err
		}
	}
	fe := j.ff * j.ee
	if err := j.runChunk("LOC", p.BH*j.nch*fe, j.k, j.v, nil, states); err != nil {
		return err
	}
	return j.runChunk("SCAN", p.BH*fe, nil, nil, nil, states)
}

// blockThreads is the dispatch of the one-thread-per-(head, block) passes
// (64 threads a group).
func (j *attnDev) blockThreads() [3]int { return rowGroups(ceilDiv(j.p.BH*j.nb, 64)) }

// blockGroups is the dispatch of the one-group-per-(head, block) stages.
func (j *attnDev) blockGroups() [3]int { return rowGroups(j.p.BH * j.nb) }

// AttentionDevice32 implements backend.DeviceAttentioner. The quadratic
// form runs through SGEMM from L = 512 where one head's L×L matrix fits
// (attngemm.go: S = scale·Q·Kᵀ, a pass per row, y = W·V; 0.40-0.59× the
// tiled kernels' time for forward + backward on the H100 at L = 1024 and
// 2048); otherwise attndev.comp's PREP (the within-block decay sums, with
// a decay) then FWD, writing b.Y and b.Stat. In the chunked form attnchunk.comp first computes the states
// entering each chunk (CPREP, LOC, SCAN) and their outputs (OINT), which
// FWD, its key loops kept within the chunk, adds before normalising. Nothing is read back, so nothing is checked: exp scores
// without the norm that overflow float32 give ±Inf or NaN in Y (the caller
// may test with AllFinite32).
//
// Cost of the quadratic form: per head L²/2 pairs at 2(d + d_v) FLOPs (the
// backward about 2.5× that), every query block a work group of block
// threads looping over the key blocks at or before it; memory O(BH·L)
// beyond the operands (no L×L matrix), so any L runs. The chunked form
// costs L·Chunk/2 pairs plus O(L·F·d_v) for the states, and holds
// BH·⌈L/Chunk⌉·F·(d_v+1) floats of them; its per-row stages loop over
// F·(d_v+1) state entries: at order 2 and d = d_v = 64, 135,200, past
// llvmpipe's loop limiter, which gave wrong values there (d = d_v = 32
// agrees; TestAttentionDeviceChunkedWide). Blocks are 64 positions where the staged rows fit
// in shared memory (smaller for wide heads: 16 at d = d_v = 256 with 48 KiB).
// On llvmpipe, its loop limiter (resident.go) has not cut these loops short
// at the sizes tested (d = d_v = 4 at L = 2500, 64 at L = 1000, 128 at
// L = 300, 256 at L = 20).
func (d *Device) AttentionDevice32(p backend.SSDParams, b backend.AttnBuffers) error {
	j, err := d.newAttnDev("AttentionDevice32", p, b, false)
	if err != nil || p.BH == 0 || p.L == 0 {
		return err
	}
	defer j.free()
	if j.useGemm() {
		return j.gemmForward()
	}
	var rows, oint *Buffer
	if j.a != nil {
		if rows, err = j.scratch("rows", 4*p.BH*p.L); err != nil {
			return err
		}
		if err := j.run("PREP", j.blockThreads(), j.a, rows); err != nil {
			return err
		}
	}
	if j.chunk > 0 {
		states, err := j.scratch("states", j.stateFloats())
		if err != nil {
			return err
		}
		if err := j.chunkStates(states); err != nil {
			return err
		}
		if oint, err = j.scratch("oint", p.BH*p.L*j.ee); err != nil {
			return err
		}
		if err := j.runChunk("OINT", p.BH*p.L, j.q, nil, nil, states, oint); err != nil {
			return err
		}
	}
	return j.run("FWD", j.blockGroups(), j.q, j.k, j.v, rows, j.y, j.stat, oint)
}

// AttentionBackwardDevice32 implements backend.DeviceAttentioner. Both
// forms start with attndev.comp's DELTA (per row: Stat and Δ = dO·y) and
// end, with b.DA, with DASUM and DASCAN (da's reverse cumulative sum in
// float64, by blocks). Where the forward ran through SGEMM (useGemm) the
// middle is attngemm.go's gemmBackward; else attndev.comp's PREP first
// (with a decay: the within-block decay sums), then DQ (dq and the
// query-side decay gradient into da) and DKV (dk and the key-side decay
// gradient added into da; then dv). In the chunked form DQ and DKV keep to
// the chunk, and attnchunk.comp adds the earlier chunks' part: the states
// H_c again, the gradient states dH_c (DLOC, RSCAN), then IQ (dq,
// query-side da) and IK (dk, dv, key-side da). Memory: 2·BH·⌈L/Chunk⌉·F·
// (DV+1) floats of states (F = D, or D(D+1)/2 at order 2). Nothing is
// read back.
func (d *Device) AttentionBackwardDevice32(p backend.SSDParams, b backend.AttnBuffers) error {
	j, err := d.newAttnDev("AttentionBackwardDevice32", p, b, true)
	if err != nil || p.BH == 0 || p.L == 0 {
		return err
	}
	defer j.free()
	rows, err := j.scratch("rows", 4*p.BH*p.L)
	if err != nil {
		return err
	}
	gemm := j.useGemm()
	da := j.da
	if j.a != nil && da == nil && !gemm { // the decay gradient is not wanted, but DQ and DKV write it
		if da, err = j.scratch("da", p.BH*p.L); err != nil {
			return err
		}
	}
	if j.a != nil && !gemm {
		if err := j.run("PREP", j.blockThreads(), j.a, rows); err != nil {
			return err
		}
	}
	if err := j.run("DELTA", rowGroups(ceilDiv(p.BH*p.L, 64)), rows, j.stat, j.dO, j.y); err != nil {
		return err
	}
	if gemm {
		if err := j.gemmBackward(rows); err != nil {
			return err
		}
		return j.daScan()
	}
	if err := j.run("DQ", j.blockGroups(), j.q, j.k, j.v, rows, j.dO, j.dq, da); err != nil {
		return err
	}
	// DKV in two dispatches, dk (with the key-side da) then dv: one
	// dispatch holding k_j, v_j, dk_j and dv_j per thread (4·64 floats at
	// d = 64) spilled registers on NVIDIA's compiler (gpu/BENCH.md).
	defs := j.defs
	for _, only := range []string{"ONLY_DK", "ONLY_DV"} {
		j.defs = append([]string{only}, defs...)
		err := j.run("DKV", j.blockGroups(), j.q, j.k, j.v, rows, j.dO, j.dk, j.dv, da)
		j.defs = defs
		if err != nil {
			return err
		}
	}
	if j.chunk > 0 {
		S := j.stateFloats()
		states, err := j.scratch("states", S) // H_c
		if err != nil {
			return err
		}
		dstates, err := j.scratch("dstates", S) // dH_c
		if err != nil {
			return err
		}
		if err := j.chunkStates(states); err != nil {
			return err
		}
		if err := j.runChunk("DLOC", S, j.q, j.dO, rows, dstates); err != nil {
			return err
		}
		if err := j.runChunk("RSCAN", p.BH*j.ff*j.ee, nil, nil, nil, dstates); err != nil {
			return err
		}
		if err := j.runChunk("IQ", p.BH*p.L, j.q, j.dO, rows, states, j.dq, da); err != nil {
			return err
		}
		if err := j.runChunk("IK", p.BH*p.L, j.k, j.v, nil, dstates, j.dk, j.dv, da); err != nil {
			return err
		}
	}
	return j.daScan()
}

// daScan turns the per-position decay gradients in j.da (query side minus
// key side) into the gradient w.r.t. a, their reverse cumulative sum in
// float64 by blocks (DASUM, DASCAN); nothing without j.da.
func (j *attnDev) daScan() error {
	if j.da == nil {
		return nil
	}
	bs, err := j.scratch("bs", 2*j.p.BH*j.nb) // doubles
	if err != nil {
		return err
	}
	if err := j.run("DASUM", j.blockThreads(), j.da, bs); err != nil {
		return err
	}
	return j.run("DASCAN", j.blockThreads(), j.da, bs)
}
