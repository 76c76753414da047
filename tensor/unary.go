package tensor

import (
	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/backend/cpu"
)

// Elementwise functions of one tensor: y_i = f(x_i), same shape and dtype as
// x, always a new tensor. The kernels are backend/cpu's Map32 and Map64:
// float32 data is computed in float32 for the cheap functions (Neg, Square,
// Abs, ReLU, Scale, AddScalar) and through float64 math for the
// transcendental ones, then rounded once.

// Neg returns −x.
func Neg(x *Tensor) *Tensor { return unary("tensor.Neg", "neg", x, 0) }

// Square returns x².
func Square(x *Tensor) *Tensor { return unary("tensor.Square", "square", x, 0) }

// Abs returns |x|.
func Abs(x *Tensor) *Tensor { return unary("tensor.Abs", "abs", x, 0) }

// ReLU returns max(x, 0); NaN stays NaN.
func ReLU(x *Tensor) *Tensor { return unary("tensor.ReLU", "relu", x, 0) }

// Scale returns s·x.
func Scale(x *Tensor, s float64) *Tensor { return unary("tensor.Scale", "scale", x, s) }

// AddScalar returns x + s.
func AddScalar(x *Tensor, s float64) *Tensor { return unary("tensor.AddScalar", "addscalar", x, s) }

// Exp returns eˣ.
func Exp(x *Tensor) *Tensor { return unary("tensor.Exp", "exp", x, 0) }

// Log returns ln x (NaN for x < 0, −Inf at 0).
func Log(x *Tensor) *Tensor { return unary("tensor.Log", "log", x, 0) }

// Sqrt returns √x (NaN for x < 0).
func Sqrt(x *Tensor) *Tensor { return unary("tensor.Sqrt", "sqrt", x, 0) }

// Softplus returns ln(1 + eˣ), and x itself where x > 20 (PyTorch's
// threshold), which avoids overflow and is exact to float64 rounding there.
func Softplus(x *Tensor) *Tensor { return unary("tensor.Softplus", "softplus", x, 0) }

// Sigmoid returns σ(x) = 1/(1 + e⁻ˣ) (0 and 1 in the limits, never NaN for
// finite x).
func Sigmoid(x *Tensor) *Tensor { return unary("tensor.Sigmoid", "sigmoid", x, 0) }

// LogSigmoid returns ln σ(x) = −softplus(−x) = min(x, 0) − ln(1 + e^−|x|).
func LogSigmoid(x *Tensor) *Tensor { return unary("tensor.LogSigmoid", "logsigmoid", x, 0) }

// SiLU returns x·σ(x) (also called swish).
func SiLU(x *Tensor) *Tensor { return unary("tensor.SiLU", "silu", x, 0) }

// Apply returns f(x_i) for every element, computed in float64 and rounded to
// x's dtype. f must be safe to call from several goroutines.
func Apply(x *Tensor, f func(float64) float64) *Tensor {
	hostFallback("tensor.Apply", nil, x)
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
	return y.OnDeviceOf(x)
}

// unaryDevice runs op on the device of a resident x (backend.DeviceElementwiser);
// a nil result leaves it to the CPU, err saying why when the device refused.
func unaryDevice(name, op string, x *Tensor, s float64) (*Tensor, error) {
	e, ok := resident(x).(backend.DeviceElementwiser)
	if !ok {
		return nil, nil
	}
	return onDevice(name, x.shape, []*Tensor{x}, func(in []backend.DeviceBuffer, out backend.DeviceBuffer) error {
		return e.UnaryDevice32(op, s, in[0], out)
	})
}

// grain is the smallest number of elements worth a goroutine.
const grain = 1 << 15

func unary(name, op string, x *Tensor, s float64) *Tensor {
	y, err := unaryDevice(name, op, x, s)
	if y != nil {
		return y
	}
	hostFallback(name, err, x)
	y = like(name, x, x.shape)
	if x.dtype == Float64 {
		err = cpu.Map64(op, s, x.f64, y.f64)
	} else {
		err = cpu.Map32(op, s, x.f32, y.f32)
	}
	if err != nil {
		panic(&Error{Op: name, Msg: err.Error()})
	}
	return y.OnDeviceOf(x)
}
