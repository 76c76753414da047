package tensor

import (
	"math"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/backend/cpu"
)

// Elementwise functions of one tensor: y_i = f(x_i), same shape and dtype as
// x, always a new tensor. float32 data is computed in float32 for the cheap
// functions (Neg, Square, Abs, ReLU, Scale, AddScalar) and through float64
// math for the transcendental ones, then rounded.

type unaryOp uint8

const (
	opNeg unaryOp = iota
	opSquare
	opAbs
	opReLU
	opScale
	opAddScalar
	opExp
	opLog
	opSqrt
	opSoftplus
	opSigmoid
	opLogSigmoid
	opSiLU
)

var unaryNames = [...]string{"neg", "square", "abs", "relu", "scale", "addscalar", "exp", "log", "sqrt",
	"softplus", "sigmoid", "logsigmoid", "silu"}

// Neg returns −x.
func Neg(x *Tensor) *Tensor { return unary("tensor.Neg", opNeg, x, 0) }

// Square returns x².
func Square(x *Tensor) *Tensor { return unary("tensor.Square", opSquare, x, 0) }

// Abs returns |x|.
func Abs(x *Tensor) *Tensor { return unary("tensor.Abs", opAbs, x, 0) }

// ReLU returns max(x, 0); NaN stays NaN.
func ReLU(x *Tensor) *Tensor { return unary("tensor.ReLU", opReLU, x, 0) }

// Scale returns s·x.
func Scale(x *Tensor, s float64) *Tensor { return unary("tensor.Scale", opScale, x, s) }

// AddScalar returns x + s.
func AddScalar(x *Tensor, s float64) *Tensor { return unary("tensor.AddScalar", opAddScalar, x, s) }

// Exp returns eˣ.
func Exp(x *Tensor) *Tensor { return unary("tensor.Exp", opExp, x, 0) }

// Log returns ln x (NaN for x < 0, −Inf at 0).
func Log(x *Tensor) *Tensor { return unary("tensor.Log", opLog, x, 0) }

// Sqrt returns √x (NaN for x < 0).
func Sqrt(x *Tensor) *Tensor { return unary("tensor.Sqrt", opSqrt, x, 0) }

// Softplus returns ln(1 + eˣ), and x itself where x > 20 (PyTorch's
// threshold), which avoids overflow and is exact to float64 rounding there.
func Softplus(x *Tensor) *Tensor { return unary("tensor.Softplus", opSoftplus, x, 0) }

// Sigmoid returns σ(x) = 1/(1 + e⁻ˣ) (0 and 1 in the limits, never NaN for
// finite x).
func Sigmoid(x *Tensor) *Tensor { return unary("tensor.Sigmoid", opSigmoid, x, 0) }

// LogSigmoid returns ln σ(x) = −softplus(−x) = min(x, 0) − ln(1 + e^−|x|).
func LogSigmoid(x *Tensor) *Tensor { return unary("tensor.LogSigmoid", opLogSigmoid, x, 0) }

// SiLU returns x·σ(x) (also called swish).
func SiLU(x *Tensor) *Tensor { return unary("tensor.SiLU", opSiLU, x, 0) }

// Apply returns f(x_i) for every element, computed in float64 and rounded to
// x's dtype. f must be safe to call from several goroutines.
func Apply(x *Tensor, f func(float64) float64) *Tensor {
	y := like("tensor.Apply", x, x.shape)
	if x.dtype == Float64 {
		cpu.Parallel(len(x.f64), grain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				y.f64[i] = f(x.f64[i])
			}
		})
	} else {
		cpu.Parallel(len(x.f32), grain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				y.f32[i] = float32(f(float64(x.f32[i])))
			}
		})
	}
	return y
}

// grain is the smallest number of elements worth a goroutine.
const grain = 1 << 15

func softplus(v float64) float64 {
	if v > 20 {
		return v
	}
	return math.Log1p(math.Exp(v))
}

// sigmoid is 1/(1 + e⁻ᵛ) without a branch on the sign (a data-dependent
// branch made it five times slower on random data). It cannot overflow into
// a wrong answer: for v ≪ 0, e⁻ᵛ = +Inf and 1/Inf = 0.
func sigmoid(v float64) float64 { return 1 / (1 + math.Exp(-v)) }

func logSigmoid(v float64) float64 { return min(v, 0) - math.Log1p(math.Exp(-math.Abs(v))) }

func unary(name string, op unaryOp, x *Tensor, s float64) *Tensor {
	y := like(name, x, x.shape)
	if x.dtype == Float32 && op != opScale && op != opAddScalar {
		if b := accelerator(); b != nil {
			if e, ok := b.(backend.Elementwiser); ok && !fallback(b, name, e.Unary32(unaryNames[op], x.f32, y.f32)) {
				return y
			}
		}
	}
	if x.dtype == Float64 {
		cpu.Parallel(len(x.f64), grain, func(lo, hi int) { unaryLoop(op, s, y.f64[lo:hi], x.f64[lo:hi]) })
	} else {
		cpu.Parallel(len(x.f32), grain, func(lo, hi int) { unaryLoop(op, s, y.f32[lo:hi], x.f32[lo:hi]) })
	}
	return y
}

type float interface{ ~float32 | ~float64 }

// unaryLoop writes op(src) into dst: one tight loop per op.
func unaryLoop[T float](op unaryOp, s float64, dst, src []T) {
	dst = dst[:len(src)]
	switch op {
	case opNeg:
		for i, v := range src {
			dst[i] = -v
		}
	case opSquare:
		for i, v := range src {
			dst[i] = v * v
		}
	case opAbs:
		for i, v := range src {
			dst[i] = T(math.Abs(float64(v)))
		}
	case opReLU:
		for i, v := range src {
			if v < 0 {
				dst[i] = 0
			} else {
				dst[i] = v // NaN stays NaN
			}
		}
	case opScale:
		c := T(s)
		for i, v := range src {
			dst[i] = c * v
		}
	case opAddScalar:
		c := T(s)
		for i, v := range src {
			dst[i] = v + c
		}
	case opExp:
		for i, v := range src {
			dst[i] = T(math.Exp(float64(v)))
		}
	case opLog:
		for i, v := range src {
			dst[i] = T(math.Log(float64(v)))
		}
	case opSqrt:
		for i, v := range src {
			dst[i] = T(math.Sqrt(float64(v)))
		}
	case opSoftplus:
		for i, v := range src {
			dst[i] = T(softplus(float64(v)))
		}
	case opSigmoid:
		for i, v := range src {
			dst[i] = T(sigmoid(float64(v)))
		}
	case opLogSigmoid:
		for i, v := range src {
			dst[i] = T(logSigmoid(float64(v)))
		}
	case opSiLU:
		for i, v := range src {
			dst[i] = T(float64(v) * sigmoid(float64(v)))
		}
	default:
		panic("tensor: unknown unary op")
	}
}
