package ssd

import (
	"fmt"
	"math"

	"github.com/furious-lab/furious/tensor"
)

// MaskKind names how the per-step log-decay a_t ≤ 0 is produced (spec §a).
type MaskKind int

const (
	MaskNone     MaskKind = iota // no decay: AM = tril(1), a = 0
	MaskOriginal                 // Mamba-2: a = −exp(A_log)·softplus(dt + dt_bias)
	MaskSoftplus                 // 2Mamba: a = −softplus(x)
	MaskForget                   // Forgetting Transformer: a = log σ(x) = −softplus(−x)
	MaskCustom                   // any user tensor of log-decays
)

func (m MaskKind) String() string {
	switch m {
	case MaskNone:
		return "none"
	case MaskOriginal:
		return "original"
	case MaskSoftplus:
		return "softplus"
	case MaskForget:
		return "forget"
	case MaskCustom:
		return "custom"
	}
	return fmt.Sprintf("MaskKind(%d)", int(m))
}

// softplus is log(1 + e^x), exact (no threshold shortcut): max(x,0) + log1p(e^{−|x|}).
func softplus(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }

// mapT applies f elementwise, computing in float64, into a new tensor of t's dtype.
func mapT(op, arg string, t *tensor.Tensor, f func(float64) float64) *tensor.Tensor {
	if t == nil {
		tensor.Errorf(op, arg, "must not be nil")
	}
	out := tensor.New(t.DType(), t.Shape()...)
	if t.DType() == tensor.Float64 {
		o, in := out.Float64s(), t.Float64s()
		for i, x := range in {
			o[i] = f(x)
		}
	} else {
		o, in := out.Float32s(), t.Float32s()
		for i, x := range in {
			o[i] = float32(f(float64(x)))
		}
	}
	return checkFinite(op, out).OnDeviceOf(t) // computed on the CPU; the result follows t
}

// Softplus returns log(1 + eˣ) elementwise (any shape), computed exactly.
func Softplus(x *tensor.Tensor) *tensor.Tensor { return mapT("ssd.Softplus", "x", x, softplus) }

// LogDecaySoftplus is the 2Mamba mask: a = −softplus(x), x (B, H, L).
func LogDecaySoftplus(x *tensor.Tensor) *tensor.Tensor {
	checkDecayShape("ssd.LogDecaySoftplus", "x", x)
	return mapT("ssd.LogDecaySoftplus", "x", x, func(v float64) float64 { return -softplus(v) })
}

// LogDecayForget is the Forgetting-Transformer mask: a = log σ(x) = −softplus(−x), x (B, H, L).
func LogDecayForget(x *tensor.Tensor) *tensor.Tensor {
	checkDecayShape("ssd.LogDecayForget", "x", x)
	return mapT("ssd.LogDecayForget", "x", x, func(v float64) float64 { return -softplus(-v) })
}

// DT returns the discretisation step dt = softplus(x + dtBias_h), x (B, H, L),
// dtBias (H) or nil (the 2Mamba configs use no bias).
func DT(x, dtBias *tensor.Tensor) *tensor.Tensor {
	const op = "ssd.DT"
	checkDecayShape(op, "x", x)
	H, L := x.Dim(1), x.Dim(2)
	var bias []float64
	if dtBias != nil {
		tensor.CheckShape(op, "dtBias", dtBias.Shape(), "(one per head of x)", H)
		bias = dtBias.Data()
	}
	i := 0
	return mapT(op, "x", x, func(v float64) float64 {
		h := (i / L) % H
		i++
		if bias != nil {
			v += bias[h]
		}
		return softplus(v)
	})
}

// LogDecayOriginal is the Mamba-2 mask: a = −exp(A_log_h)·softplus(x + dtBias_h),
// x (B, H, L) the dt pre-activation, aLog (H), dtBias (H) or nil.
func LogDecayOriginal(x, aLog, dtBias *tensor.Tensor) *tensor.Tensor {
	const op = "ssd.LogDecayOriginal"
	checkDecayShape(op, "x", x)
	H, L := x.Dim(1), x.Dim(2)
	tensor.CheckShape(op, "aLog", aLog.Shape(), "(one per head of x)", H)
	al := aLog.Data()
	dt := DT(x, dtBias)
	i := 0
	return mapT(op, "x", dt, func(v float64) float64 {
		h := (i / L) % H
		i++
		return -math.Exp(al[h]) * v
	})
}

// LogDecay builds the log-decay a (B, H, L) of a mask kind from its
// pre-activation x (B, H, L): MaskNone → nil; MaskOriginal → needs aLog (H)
// and optionally dtBias (H); MaskSoftplus → −softplus(x); MaskForget → log σ(x);
// MaskCustom → x itself (the user's log-decays, checked for shape and NaN).
func LogDecay(kind MaskKind, x, aLog, dtBias *tensor.Tensor) *tensor.Tensor {
	const op = "ssd.LogDecay"
	switch kind {
	case MaskNone:
		return nil
	case MaskOriginal:
		if aLog == nil {
			tensor.Errorf(op, "aLog", "is nil; the original (Mamba-2) mask needs A_log per head (InitALog)")
		}
		checkDecayShape(op, "x", x)
		if a := maskDevice(kind, x, aLog, dtBias); a != nil {
			return a // resident x: on its device (device.go)
		}
		return LogDecayOriginal(x, aLog, dtBias)
	case MaskSoftplus, MaskForget:
		checkDecayShape(op, "x", x)
		if a := maskDevice(kind, x, nil, nil); a != nil {
			return a
		}
		if kind == MaskForget {
			return LogDecayForget(x)
		}
		return LogDecaySoftplus(x)
	case MaskCustom:
		checkDecayShape(op, "x", x)
		return checkFinite(op, x)
	}
	tensor.Errorf(op, "kind", "unknown %s", kind)
	return nil
}

// InitALog returns the Mamba-2 initial A_log = log U[1, 16] per head (H), seeded.
func InitALog(seed uint64, heads int) *tensor.Tensor {
	u := tensor.NewRNG(seed).Rand64(1, 16, heads)
	return mapT("ssd.InitALog", "u", u, math.Log)
}

func checkDecayShape(op, arg string, x *tensor.Tensor) {
	if x == nil {
		tensor.Errorf(op, arg, "must not be nil")
	}
	if x.Rank() != 3 {
		tensor.CheckShape(op, arg, x.Shape(), "(B, H, L)", -1, -1, -1)
	}
}

// SegSum returns the segment sums of the log-decay a (B, H, L) as (B, H, L, L):
// out_ij = Σ_{u=j+1}^{i} a_u for j ≤ i (0 on the diagonal), −Inf above it.
// Each row is accumulated directly (never a difference of a global cumsum).
func SegSum(a *tensor.Tensor) *tensor.Tensor {
	const op = "ssd.SegSum"
	checkDecayShape(op, "a", a)
	B, H, L := a.Dim(0), a.Dim(1), a.Dim(2)
	out := tensor.New(a.DType(), B, H, L, L)
	av := a.Data()
	seg := make([]float64, L*L)
	flat := out.Reshape(-1)
	for bh := 0; bh < B*H; bh++ {
		segSumHead(av[bh*L:(bh+1)*L], seg)
		for i, s := range seg {
			flat.Set(s, bh*L*L+i)
		}
	}
	return out
}

// segSumHead fills seg (L×L) with Σ_{u=j+1}^{i} a_u for j ≤ i, −Inf for j > i.
func segSumHead(a []float64, seg []float64) {
	L := len(a)
	for i := 0; i < L; i++ {
		row := seg[i*L : (i+1)*L]
		s := 0.0
		for j := i; j >= 0; j-- {
			row[j] = s
			s += a[j]
		}
		for j := i + 1; j < L; j++ {
			row[j] = math.Inf(-1)
		}
	}
}

// DecayMask returns the materialised (L, L) decay mask of head (b, h) for
// plotting: AM_ij = exp(Σ_{u=j+1}^{i} a_u) for j ≤ i, 0 above the diagonal.
// a is (B, H, L); a nil a with length L cannot be given: use zeros for "none".
func DecayMask(a *tensor.Tensor, b, h int) *tensor.Tensor {
	const op = "ssd.DecayMask"
	checkDecayShape(op, "a", a)
	B, H, L := a.Dim(0), a.Dim(1), a.Dim(2)
	if b < 0 || b >= B || h < 0 || h >= H {
		tensor.Errorf(op, "b, h", "(%d, %d) out of range for a of shape %s", b, h, tensor.ShapeString(a.Shape()))
	}
	av := a.Data()[(b*H+h)*L : (b*H+h+1)*L]
	seg := make([]float64, L*L)
	segSumHead(av, seg)
	out := tensor.New(a.DType(), L, L)
	flat := out.Reshape(-1)
	for i, s := range seg {
		flat.Set(math.Exp(s), i)
	}
	return out
}
