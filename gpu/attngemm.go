package gpu

import (
	_ "embed"
	"fmt"
	"os"
	"strings"
)

//go:embed attngemm.comp
var attngemmSrc string

// attnForm, when not "", forces the quadratic form's implementation:
// "gemm" (attngemm.go, where its L×L scratch fits) or "tiled"
// (attndev.comp's FWD, DQ and DKV); "" lets attnDev.useGemm choose. The
// environment's FURIOUS_ATTN_FORM sets it at start (to compare the two in
// a whole model); tests and BenchmarkAttentionDevice set it.
var attnForm = os.Getenv("FURIOUS_ATTN_FORM")

// attnGemmCap is the most floats of one L×L scratch of the GEMM form
// (S, and G and dl in the backward: 1 GiB each); heads are taken in
// groups of ⌊cap / L²⌋, four at L = 8192. One head at a time (a cap of
// 2^26) left the H100 idle there: y = W·V had 128 work groups, and the
// forward took 22.1 ms against 14.4 with 2^28 (16 heads, d 64,
// 2026-12-06 session 8; 2^29 was no faster). A var: the benchmarks'
// -attn.gemmcap sets it.
var attnGemmCap = 1 << 28

// attnGemmMaxL is the longest sequence the GEMM form takes: its L×L
// scratch at 8192 is 256 MiB a head; longer sequences take the chunked or
// tiled forms.
const attnGemmMaxL = 8192

// attnGemmRT is the threads of ROWB, one group a row: 256, or 1024 for
// rows longer than 2048.
func attnGemmRT(L int) int {
	if L <= 2048 {
		return 256
	}
	return 1024
}

// attnGemmFwdCap is attnGemmCap for the forward, which holds one L×L
// scratch where the backward holds three: eight heads a pass at L = 8192
// where a storage block may hold 2 GiB; seven on the H100, whose limit
// (2^31 − 1 bytes, gemmCap) is one byte short of eight (session 15's
// profile: passes of 7, 7 and 2 of 16 heads). On the H100 (2026-12-06
// session 12, BenchmarkAttentionDevice -attn.gemmcap, 16 heads, d 64,
// forward, two processes each) 2^29 took 7.27, 7.19 ms (2mamba) and
// 8.41, 8.50 (softmax with decay) against 7.49, 7.47 and 8.68, 8.78 with
// 2^28 (four heads a pass); 2^30, which the same limit also held to seven
// heads, 7.18, 7.23 and 8.45, 8.43.
// The backward reuses the forward's scratch as its S (one slot), so a
// training step at 8K holds 2 + 1 + 1 GiB of them. A var: the benchmarks'
// -attn.gemmcap sets it with attnGemmCap.
var attnGemmFwdCap = 1 << 29

// gemmCap is the floats an L×L scratch may take: attnGemmFwdCap in the
// forward (fwd), attnGemmCap in the backward, or less where the device's
// storage buffers are smaller or a sixteenth of its free memory (as the
// driver reported it at start) is less. Where the driver reports no free
// memory the cap is attnGemmSafeCap.
func (j *attnDev) gemmCap(fwd bool) int {
	c := attnGemmCap
	if fwd {
		c = attnGemmFwdCap
	}
	c = min(c, j.d.ssdStateCap())
	if kib := j.d.freeKiB; kib > 0 {
		c = min(c, int(kib<<10/16/4))
	} else {
		c = min(c, attnGemmSafeCap)
	}
	return c
}

// attnGemmSafeCap is the L×L scratch's cap on a device of unknown free
// memory: 2^26 floats, three of them 768 MiB in the backward (the cap of
// every device before 2026-12-06 session 8).
const attnGemmSafeCap = 1 << 26

// attnGemmMinL is the shortest sequence useGemm sends through SGEMM: on
// the H100 (2026-12-06, BenchmarkAttentionDevice, forward + backward, two
// calls) the GEMM form took 0.97-1.13× the tiled kernels' time at L = 256
// (16 heads, d = 32), 0.42-0.57× at L = 1024 (64 heads, d = 64),
// 0.40-0.59× at 2048 and 0.70-0.89× at 8192 (16 heads).
const attnGemmMinL = 512

// useGemm reports whether the quadratic form (not the chunked one) runs
// through SGEMM: from attnGemmMinL on, where one head's L×L matrix fits
// gemmCap, unless attnForm says otherwise.
func (j *attnDev) useGemm() bool {
	if j.chunk > 0 || attnForm == "tiled" || j.p.L > attnGemmMaxL || j.p.L*j.p.L > j.gemmCap(false) {
		return false
	}
	return attnForm == "gemm" || j.p.L >= attnGemmMinL
}

// headGroup is the heads one pass of the GEMM form's forward (fwd) or
// backward takes: as many as fit gemmCap floats of L×L.
func (j *attnDev) headGroup(fwd bool) int {
	return max(1, min(j.p.BH, j.gemmCap(fwd)/(j.p.L*j.p.L)))
}

// runGemm dispatches attngemm.comp's stage (its define, and any more,
// space-separated) over groups for the heads
// h0 … h0+n−1 with bufs bound in order (nil bound to q, unread) and the
// uniforms BH, L, h0, scale and args.
func (j *attnDev) runGemm(stage string, groups [3]int, h0, n int, args []arg, bufs ...*Buffer) error {
	return j.runGemmDefs(strings.Fields(stage), groups, h0, n, args, bufs...)
}

// runGemmDefs is runGemm with the stage's defines given one by one (so
// that one may carry a value: "CUMT 1024").
func (j *attnDev) runGemmDefs(stage []string, groups [3]int, h0, n int, args []arg, bufs ...*Buffer) error {
	p := j.p
	defs := j.kindDefs(append(stage, fmt.Sprintf("RT %d", attnGemmRT(p.L)))...)
	if j.da != nil {
		defs = append(defs, "DA")
	}
	prog, err := j.d.program("attngemm.comp", attngemmSrc, defs...)
	if err != nil {
		return err
	}
	j.bindUnread(bufs)
	return j.d.runGated(j.gate, prog, groups, bufs, append([]arg{iarg("BH", n), iarg("L", p.L), iarg("h0", h0), farg("scale", p.Scale)}, args...)...)
}

// gemmCum returns the decay's inclusive cumulative sums per head in
// double (CUM: 2·BH·L floats), or nil without a decay.
func (j *attnDev) gemmCum() (*Buffer, error) {
	if j.a == nil {
		return nil, nil
	}
	cum, err := j.scratch("cum", 2*j.p.BH*j.p.L)
	if err != nil {
		return nil, err
	}
	return cum, j.runGemmDefs([]string{"CUM", fmt.Sprintf("CUMT %d", attnCumThreads)}, rowGroups(j.p.BH), 0, j.p.BH, nil, j.a, cum)
}

// attnCumThreads is the threads of CUM's one work group a head, which
// takes a head's positions in blocks of 8 a thread: 1024 threads, one
// block up to L = 8192. CUM had 64 threads each summing a run of L/64
// positions one after another: on the H100 (16 heads, serialised
// profiles) 30.2-31.7 µs a call at L = 8192 (sessions 11-12), 18.8-20.1
// µs since (session 15). A var: tests shorten it, so that several blocks
// carry.
var attnCumThreads = 1024

// gemm runs g over the n heads from h0 as one batched product: each
// operand's offset and stride per head follow from which buffer it is
// (perHead).
func (j *attnDev) gemm(h0, n int, g Gemm) error {
	g.Batch, g.gate = n, j.gate
	g.OffA, g.StrideA = j.perHead(g.A, h0)
	g.OffB, g.StrideB = j.perHead(g.B, h0)
	g.OffC, g.StrideC = j.perHead(g.C, h0)
	return j.d.Gemm(g)
}

// perHead is the offset of head h0 and the floats between heads in b: an
// operand of the call, (BH, L, D) or (BH, L, DV), or else one of the GEMM
// form's scratches, which hold the pass's heads from its start: Kᵀ (D×L a
// head) or L×L.
func (j *attnDev) perHead(b *Buffer, h0 int) (off, stride int) {
	L := j.p.L
	switch b {
	case j.q, j.k, j.dq, j.dk:
		return h0 * L * j.p.D, L * j.p.D
	case j.v, j.y, j.dO, j.dv:
		return h0 * L * j.p.DV, L * j.p.DV
	case j.kt:
		return 0, L * j.p.D
	case j.yp:
		return 0, L * j.p.DV
	}
	return 0, L * L
}

// gemmForward is the forward of the GEMM form, per group of heads: Kᵀ
// (Gather), P̃ or P = f(scale·Q·Kᵀ) (one product, matmul.comp's EPI;
// CausalOut) with, for exp, each row's per-tile statistics, for exp ROWS
// (stat and the per-row, per-tile factors sc), then y's partial products
// (sc∘P̃)·V or P·V in K chunks (CausalA; sc applied as P̃ is loaded,
// ASCALE) with, for the orders under the norm, the rows' sums of what
// they read (RSUM), and YSUM (y = Σ_c part_c, for the orders / Σ_c z_c,
// and their stat). Exp with the norm (attnExpBound) computes bounds of
// the rows first (BOUND), and DECIDE runs either those steps or the
// orders' with P̃ = exp(x − b_i) (EXPB), RSUM and YSUM EXPB (a
// dispatchGate: both are dispatched, the other with no groups). FLOPs as
// the tiled form's (L²/2·2(d + d_v) per head, plus the diagonal tiles);
// memory one L×L scratch per head of the group, L·⌈L/64⌉·3 floats of
// statistics and factors (exp), L + 4·attnBoundGroups floats of bounds
// (attnExpBound), and ⌈L/KC⌉ partial products of y.
func (j *attnDev) gemmForward() error {
	p := j.p
	L, DV := p.L, p.DV
	cum, S, hb, err := j.gemmStart(true)
	if err != nil {
		return err
	}
	kc := attnGemmKChunk(L)
	chunks := ceilDiv(L, kc)
	lt := ceilDiv(L, narrowestTileN()) // the most column tiles a row can have
	rt := attnGemmRT(L)
	nb := min(ceilDiv(L, rt/4), attnBoundGroups) // BOUND's groups a head
	bound := "BOUND"
	if p.D%4 == 0 {
		bound += " V4"
	}
	var T, sc, z, bnd, part, args *Buffer
	bounded := p.Exp && p.Norm && attnExpBound
	if p.Exp {
		if T, err = j.scratch("gemmT", 2*hb*L*lt); err != nil {
			return err
		}
		if sc, err = j.scratch("gemmSc", hb*L*lt); err != nil {
			return err
		}
	}
	if bounded {
		if bnd, err = j.scratch("gemmBnd", hb*L); err != nil {
			return err
		}
		if part, err = j.scratch("gemmBndPart", 4*hb*nb); err != nil {
			return err
		}
		if args, err = j.scratch("gemmArgs", 3*gateSlots+1); err != nil {
			return err
		}
	}
	if p.Norm && (!p.Exp || bounded) {
		if z, err = j.scratch("gemmZ", chunks*hb*L); err != nil {
			return err
		}
	}
	if j.yp, err = j.scratch("gemmYp", chunks*hb*L*DV); err != nil {
		return err
	}
	ysum, yw := "YSUM", 1 // YSUM's threads take vec4s where d_v allows
	if DV%4 == 0 {
		ysum, yw = "YSUM V4", 4
	}
	ysumArgs := []arg{iarg("HD", DV), iarg("KC", kc)}
	defer func() { j.gate = nil }()
	for h0 := 0; h0 < p.BH; h0 += hb {
		n := min(hb, p.BH-h0)
		if bounded {
			if err := j.runGemm(bound, [3]int{nb, n, 1}, h0, n, []arg{iarg("HD", p.D)}, j.q, j.k, j.a, bnd, part); err != nil {
				return err
			}
			j.gate = &dispatchGate{} // path 0: against the tiles' maxima
		}
		if err := j.gatherKt(h0, n); err != nil {
			return err
		}
		epi := &scoreEpi{exp: p.Exp, order: p.Order, cum: cum, stats: T, h0: h0}
		if err := j.gemmScores(h0, n, S, epi); err != nil {
			return err
		}
		w := epi.width
		g := Gemm{M: L, N: DV, K: L, Alpha: 1, A: S, B: j.v, C: j.yp, Causal: CausalA, kChunk: kc, tile: j.outTile()}
		if p.Exp {
			g.ascale = &rowScale{sc: sc, lt: ceilDiv(L, w), w: w}
			if err := j.runGemm("ROWS", rowGroups(ceilDiv(n*L, 64)), h0, n, []arg{iarg("LT", g.ascale.lt), iarg("W", w)}, T, sc, j.stat); err != nil {
				return err
			}
		} else {
			g.rowSum = z
		}
		if err := j.gemm(h0, n, g); err != nil {
			return err
		}
		if err := j.runGemm(ysum, rowGroups(ceilDiv(n*L*DV/yw, 64)), h0, n, ysumArgs, j.yp, j.y, z, j.stat); err != nil {
			return err
		}
		if !bounded {
			continue
		}
		// path 1, against the rows' bounds: the orders' three steps
		j.gate.path = 1
		if err := j.gemmScores(h0, n, S, &scoreEpi{exp: true, cum: cum, bound: bnd, h0: h0}); err != nil {
			return err
		}
		g.ascale, g.rowSum = nil, z
		if err := j.gemm(h0, n, g); err != nil {
			return err
		}
		if err := j.runGemm(ysum+" EXPB", rowGroups(ceilDiv(n*L*DV/yw, 64)), h0, n, ysumArgs, j.yp, j.y, z, j.stat, bnd); err != nil {
			return err
		}
		gate := j.gate
		j.gate = nil
		prog, err := j.d.program("attngemm.comp", attngemmSrc, j.kindDefs("DECIDE", fmt.Sprintf("RT %d", rt), fmt.Sprintf("NSLOT %d", gateSlots))...)
		if err != nil {
			return err
		}
		if err := j.d.decide(gate, prog, [3]int{ceilDiv(L, rt), n, 1}, []*Buffer{part, bnd, args},
			[]arg{iarg("BH", n), iarg("L", L), iarg("NB", nb), farg("scale", p.Scale)}, args); err != nil {
			return err
		}
	}
	return nil
}

// attnExpBound lets the GEMM form's forward of exp with the norm compute
// P̃ against a bound of each row's scores (attngemm.comp BOUND) instead of
// against each tile's maximum, where the bounds allow (the device decides:
// both are dispatched). A var: tests compare both paths.
var attnExpBound = true

// attnBoundGroups is the most work groups of attngemm.comp BOUND a head
// (each then takes several blocks of rows): DECIDE reads a head's maxima
// from each. A var: tests shorten it.
var attnBoundGroups = 32

// attnGemmKC is the shortest K chunk of the forward's y = (sc∘P̃)·V
// (Gemm.kChunk): a row tile's work group otherwise walks every key up to
// the diagonal, and the last row tiles' groups set the product's time. A
// var: tests shorten it.
var attnGemmKC = 512

// attnGemmKChunk is y's K chunk at length L: attnGemmKC, or L/8 (a
// multiple of 128) where longer, so that a row tile's K range is at most
// eight chunks. On the H100 (2026-12-06 session 12,
// BenchmarkAttentionDevice -attn.kc, 16 heads, d 64, forward, two processes
// each) at L 8192 chunks of 1024 took 7.20, 7.15 ms (2mamba) and 8.38,
// 8.43 (softmax with decay) against 7.49, 7.47 and 8.68, 8.78 with 512
// (256: 7.83, 7.99 and 8.99, 9.09); at L 2048, 512 and 256 were within
// the noise for 2mamba (0.523, 0.527 against 0.526, 0.532), 1024 slower.
func attnGemmKChunk(L int) int {
	return max(attnGemmKC, ceilDiv(ceilDiv(L, 8), 128)*128)
}

// gemmStart begins a call of the GEMM form's forward (fwd) or backward:
// the decay's cumulative sums (nil without a decay), the heads a pass
// takes, their L×L scratch S and the Kᵀ scratch j.kt.
func (j *attnDev) gemmStart(fwd bool) (cum, S *Buffer, hb int, err error) {
	if cum, err = j.gemmCum(); err != nil {
		return nil, nil, 0, err
	}
	hb = j.headGroup(fwd)
	if j.kt, err = j.scratch("gemmKt", hb*j.p.L*j.p.D); err != nil {
		return nil, nil, 0, err
	}
	S, err = j.scratch("gemmS", hb*j.p.L*j.p.L)
	return cum, S, hb, err
}

// gatherKt writes Kᵀ of the n heads from h0 into j.kt: Kt[hl, f, j] =
// k[h0 + hl, j, f] (a batch of transposes, gather.comp's TRANSPOSE).
func (j *attnDev) gatherKt(h0, n int) error {
	L, D := j.p.L, j.p.D
	return j.d.Gather(j.kt, 0, nil, j.k, h0*L*D, []int{L * D, 1, D}, []int{n, D, L})
}

// gemmScores computes S = scale·Q·Kᵀ on and below the diagonal (to the end
// of each row's 128-block: CausalOut) for the n heads from h0, as the
// product of Q and Kᵀ as stored in j.kt (gatherKt); with epi, P̃ or P and
// the tile statistics instead of S (matmul.comp EPI).
func (j *attnDev) gemmScores(h0, n int, S *Buffer, epi *scoreEpi) error {
	L, D := j.p.L, j.p.D
	expStats := j.p.Exp && (epi == nil || epi.bound == nil) // the backward's takes the forward's tiling
	return j.gemm(h0, n, Gemm{M: L, N: L, K: D, Alpha: j.p.Scale, A: j.q, B: j.kt, C: S, Causal: CausalOut, epi: epi, tile: j.scoreTile(expStats)})
}

// scoreTile is the scores' product's tiling (K = d, 64 at the shapes
// measured): chooseTile's 128×128 with 8×8 outputs a thread, its warps 16
// threads wide (two rows of threads) for the orders and exp against row
// bounds, and for exp with its tile statistics (expStats) its
// slices 16 deep (44,032 bytes of shared memory with exp's epilogue: Gemm
// takes chooseTile's where the device has less, as llvmpipe's 32 KiB, or
// where the product cannot take 16-byte loads). On the H100
// (2026-12-06 session 11, BenchmarkAttentionDevice -attn.stile, forward,
// 16 heads, d 64, ms, two processes each; gpu/BENCH.md), 8 deep and 8
// wide / 16 deep / 16 wide / both:
//
//	2mamba  L 2048: 0.597, 0.573 / 0.530, 0.559 / 0.500, 0.508 / 0.523, 0.720
//	2mamba  L 8192: 8.60, 8.59 / 7.92, 8.18 / 7.50, 7.43 / 7.84, 8.21
//	softmax L 2048: 0.665, 0.671 / 0.589, 0.598 / 0.652, 0.647 / 0.602, 0.605
//	softmax L 8192: 9.06, 9.06 / 8.67, 8.64 / 9.15, 9.23 / 8.71, 8.68
//
// attnScoreTiling replaces it.
func (j *attnDev) scoreTile(expStats bool) *sgemmTile {
	if attnScoreTiling != nil {
		return attnScoreTiling
	}
	t := sgemmLadder[0]
	if !expStats {
		t.WTX = 16
		return &t
	}
	t.BK = 16
	return &t
}

// outTile is y's product's tiling where d_v fills three quarters of 64
// columns or more, at most 64: 128 rows × 64 columns, 16-deep slices, 8 × 4
// outputs a thread (256 threads), warps 16 threads wide; chooseTile's
// 128 × 64 has 8 × 8 outputs a thread (128 threads). On the H100 (2026-12-06
// session 12, BenchmarkAttentionDevice -attn.ytile, 16 heads, d 64, forward,
// ms, two processes each; gpu/BENCH.md), chooseTile's / this:
//
//	2mamba  L 2048: 0.523, 0.527 / 0.500, 0.499
//	2mamba  L 8192: 7.49, 7.47 / 7.23, 7.19
//	softmax L 2048: 0.625, 0.633 / 0.638, 0.599
//	softmax L 8192: 8.68, 8.78 / 8.52, 8.60
//
// Elsewhere chooseTile's (nil); attnOutTiling replaces it.
func (j *attnDev) outTile() *sgemmTile {
	if attnOutTiling != nil {
		return attnOutTiling
	}
	if dv := j.p.DV; 4*dv < 3*64 || dv > 64 {
		return nil
	}
	return &sgemmTile{128, 64, 16, 8, 4, 16}
}

// attnScoreTiling and attnOutTiling, when not nil, are the scores'
// product's tiling (its BN at least narrowestTileN's) and y's: experiment
// seams for the gpu tests' -attn.stile and -attn.ytile.
var attnScoreTiling, attnOutTiling *sgemmTile

// gemmBackward is the backward of the GEMM form after attndev.comp's
// DELTA (rows: stat and Δ per row): per group of heads S = scale·Q·Kᵀ and
// G = dO·Vᵀ (CausalOut), ROWB (scale·dS into S, W into G, the query-side
// decay gradient into da), dv = Wᵀ·dO (CausalAT), dq = (scale·dS)·K
// (CausalA), dk = (scale·dS)ᵀ·Q (CausalAT), and with the decay's gradient
// wanted COLDA (the key side of da, before the caller's reverse cumulative
// sum). Memory: two L×L scratches per head of the group, three with the
// decay's gradient (dl_ij).
func (j *attnDev) gemmBackward(rows *Buffer) error {
	p := j.p
	L, D, DV := p.L, p.D, p.DV
	cum, S, hb, err := j.gemmStart(false)
	if err != nil {
		return err
	}
	G, err := j.scratch("gemmG", hb*L*L)
	if err != nil {
		return err
	}
	var dl *Buffer
	if j.da != nil {
		if dl, err = j.scratch("gemmD", hb*L*L); err != nil {
			return err
		}
	}
	for h0 := 0; h0 < p.BH; h0 += hb {
		n := min(hb, p.BH-h0)
		if err := j.gatherKt(h0, n); err != nil {
			return err
		}
		if err := j.gemmScores(h0, n, S, nil); err != nil {
			return err
		}
		if err := j.gemm(h0, n, Gemm{M: L, N: L, K: DV, Alpha: 1, TransB: true, A: j.dO, B: j.v, C: G, Causal: CausalOut}); err != nil {
			return err
		}
		if err := j.runGemm("ROWB", rowGroups(n*L), h0, n, nil, S, cum, rows, G, j.da, dl); err != nil {
			return err
		}
		for _, g := range []Gemm{
			{M: L, N: DV, K: L, Alpha: 1, TransA: true, A: G, B: j.dO, C: j.dv, Causal: CausalAT}, // dv = Wᵀ·dO
			{M: L, N: D, K: L, Alpha: 1, A: S, B: j.k, C: j.dq, Causal: CausalA},                  // dq = (scale·dS)·K
			{M: L, N: D, K: L, Alpha: 1, TransA: true, A: S, B: j.q, C: j.dk, Causal: CausalAT},   // dk = (scale·dS)ᵀ·Q
		} {
			if err := j.gemm(h0, n, g); err != nil {
				return err
			}
		}
		if dl != nil {
			if err := j.runGemm("COLDA", rowGroups(ceilDiv(n*L, 64)), h0, n, nil, dl, j.da); err != nil {
				return err
			}
		}
	}
	return nil
}
