package cpu

import (
	"fmt"
	"math"

	"github.com/furious-lab/furious/backend"
)

// Elementwise kernels: y_i = f(x_i). float32 data is computed in float32 for
// the cheap functions (neg, square, abs, relu, scale, addscalar) and through
// float64 math for the transcendental ones, then rounded once.

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

// UnaryNames lists the functions Map32 and Map64 know, in the order of the
// kernels; "scale" (y = s·x) and "addscalar" (y = x + s) use the parameter
// s, the others ignore it. The rest are the names of backend.Elementwiser:
// softplus is ln(1 + eˣ) and x itself above 20 (PyTorch's threshold),
// logsigmoid is ln σ(x) = min(x, 0) − ln(1 + e^−|x|), silu is x·σ(x), relu
// keeps NaN.
var UnaryNames = []string{"neg", "square", "abs", "relu", "scale", "addscalar", "exp", "log", "sqrt",
	"softplus", "sigmoid", "logsigmoid", "silu"}

var unaryByName = func() map[string]unaryOp {
	m := map[string]unaryOp{}
	for i, n := range UnaryNames {
		m[n] = unaryOp(i)
	}
	return m
}()

// grain is the smallest number of elements worth a goroutine.
const grain = 1 << 15

func lookup(op string, nx, ny int) (unaryOp, error) {
	u, ok := unaryByName[op]
	if !ok {
		return 0, fmt.Errorf("cpu: elementwise function %q: %w", op, backend.ErrNotImplemented)
	}
	if nx != ny {
		return 0, fmt.Errorf("cpu: %s: x has %d values, y has %d", op, nx, ny)
	}
	return u, nil
}

// Map32 writes y_i = op(x_i) for the function named op (see UnaryNames),
// splitting long slices over Threads() goroutines. It returns an error
// wrapping backend.ErrNotImplemented for an unknown name.
func Map32(op string, s float64, x, y []float32) error {
	u, err := lookup(op, len(x), len(y))
	if err != nil {
		return err
	}
	Parallel(len(x), grain, func(lo, hi int) { unaryLoop(u, s, y[lo:hi], x[lo:hi]) })
	return nil
}

// Map64 is Map32 for float64 data.
func Map64(op string, s float64, x, y []float64) error {
	u, err := lookup(op, len(x), len(y))
	if err != nil {
		return err
	}
	Parallel(len(x), grain, func(lo, hi int) { unaryLoop(u, s, y[lo:hi], x[lo:hi]) })
	return nil
}

// Unary32 implements backend.Elementwiser (the functions without a
// parameter; "scale" and "addscalar" are computed with s = 0).
func (CPU) Unary32(op string, x, y []float32) error { return Map32(op, 0, x, y) }

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

// Float is the element type constraint of the CPU kernels, shared by the
// packages above (tensor, ssd, nn) so that it is declared once.
type Float interface{ ~float32 | ~float64 }

// unaryLoop writes op(src) into dst: one tight loop per op.
func unaryLoop[T Float](op unaryOp, s float64, dst, src []T) {
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
