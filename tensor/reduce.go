package tensor

import (
	"errors"
	"math"

	"github.com/furious-lab/furious/backend"
)

// Reductions along one axis, or over every element (the *All forms, which
// return a float64). Axis may be negative (−1 is the last). With keepdim the
// reduced axis stays as size 1: (B, L, d) summed over axis 1 is (B, 1, d),
// else (B, d). float32 data is accumulated in float64 and the result rounded
// once. Max and Min propagate NaN; over an empty axis they panic (Sum gives
// 0, Mean gives NaN).

type reduceOp uint8

const (
	redSum reduceOp = iota
	redMean
	redMax
	redMin
	redCumsum    // Cumsum's running sums (layout.go), on a device only
	redCumsumRev // CumsumReverse's running sums (nnops.go), on a device only
)

// Sum returns Σ_j x[…, j, …] over axis: shape without axis (or 1 with keepdim).
func Sum(x *Tensor, axis int, keepdim bool) *Tensor {
	return reduce("tensor.Sum", redSum, x, axis, keepdim)
}

// Mean returns (1/n) Σ_j x[…, j, …] over axis, n = x.Dim(axis).
func Mean(x *Tensor, axis int, keepdim bool) *Tensor {
	return reduce("tensor.Mean", redMean, x, axis, keepdim)
}

// Max returns max_j x[…, j, …] over axis.
func Max(x *Tensor, axis int, keepdim bool) *Tensor {
	return reduce("tensor.Max", redMax, x, axis, keepdim)
}

// Min returns min_j x[…, j, …] over axis.
func Min(x *Tensor, axis int, keepdim bool) *Tensor {
	return reduce("tensor.Min", redMin, x, axis, keepdim)
}

// SumAll returns Σ_i x_i over every element, in float64.
func SumAll(x *Tensor) float64 { return reduceAll("tensor.SumAll", redSum, x) }

// MeanAll returns the mean of every element (NaN for an empty tensor).
func MeanAll(x *Tensor) float64 { return reduceAll("tensor.MeanAll", redMean, x) }

// MaxAll returns the largest element (NaN if any is NaN).
func MaxAll(x *Tensor) float64 { return reduceAll("tensor.MaxAll", redMax, x) }

// MinAll returns the smallest element (NaN if any is NaN).
func MinAll(x *Tensor) float64 { return reduceAll("tensor.MinAll", redMin, x) }

// Norm returns the Euclidean (Frobenius) norm √(Σ_i x_i²), in float64,
// scaled internally so that it neither overflows nor underflows. A
// resident x is reduced on its device: √SumSquares(x), one read; where
// that sum passes float32's range, s = max|x| then s·√Σ(x/s)², reading
// back two values (within about 1e-7 of the host's result).
func Norm(x *Tensor) float64 {
	if v, ok := normDevice(x); ok {
		return v
	}
	hostFallback("tensor.Norm", nil, x)
	scale := 0.0
	for i := 0; i < x.Len(); i++ {
		if a := math.Abs(x.flat(i)); a > scale || a != a {
			scale = a
		}
	}
	if scale == 0 || math.IsInf(scale, 0) || scale != scale {
		return scale
	}
	s := 0.0
	for i := 0; i < x.Len(); i++ {
		v := x.flat(i) / scale
		s += v * v
	}
	return scale * math.Sqrt(s)
}

// SumSquares returns Σ over the tensors xs of Σ_i x_i², accumulated in
// float64: the squared global L2 norm of a set of gradients (nil and empty
// tensors count 0). Resident float32 tensors are summed on their device,
// one dispatch each, and their len(xs) sums come back in one read.
func SumSquares(xs ...*Tensor) float64 {
	const op = "tensor.SumSquares"
	var live []*Tensor
	for _, x := range xs {
		if x != nil && x.Len() > 0 {
			live = append(live, x)
		}
	}
	if len(live) == 0 {
		return 0
	}
	if v, ok := sumSquaresDevice(op, live); ok {
		return v
	}
	hostFallback(op, nil, live...)
	s := 0.0
	for _, x := range live {
		if x.dtype == Float64 {
			for _, v := range x.f64 {
				s += v * v
			}
			continue
		}
		for _, v := range x.host() {
			s += float64(v) * float64(v)
		}
	}
	return s
}

// sumSquaresDevice is SumSquares on the device of xs (all float32 and
// resident there); ok is false when it cannot run there.
func sumSquaresDevice(op string, xs []*Tensor) (float64, bool) {
	mixedDevices(op, xs...)
	d, ok := resident(xs...).(backend.DeviceOptimizer)
	if !ok {
		return 0, false
	}
	for _, x := range xs {
		if x.dtype != Float32 {
			return 0, false
		}
	}
	p := planDevice(op, xs...)
	defer p.done()
	out, err := p.alloc([]int{len(xs)})
	if err != nil {
		deviceError(op, err)
	}
	ns := make([]int, len(xs))
	for i, x := range xs {
		ns[i] = x.Len()
	}
	if err := d.SumSquaresDevice32(p.bufs, ns, out.dev.buf); err != nil {
		out.drop()
		if errors.Is(err, backend.ErrOutOfMemory) {
			deviceError(op, err)
		}
		hostFallback(op, err, xs...)
		return 0, false
	}
	s := 0.0
	for _, v := range out.host() {
		s += float64(v)
	}
	out.Release()
	return s, true
}

// reduceAll reduces every element, returning the float64 accumulator
// unrounded even for float32 data. A resident x is reduced on its device
// (backend.DeviceReducer), and the one result, rounded to float32 there,
// is all that is read back.
func reduceAll(name string, op reduceOp, x *Tensor) float64 {
	n := x.Len()
	if n == 0 && (op == redMax || op == redMin) {
		panic(&Error{Op: name, Arg: "x", Got: x.Shape(), Msg: "(cannot take max or min of an empty tensor)", Kind: ErrShape})
	}
	var err error
	if n > 0 {
		var y *Tensor
		if y, err = reduceDevice(name, op, x, 1, n, 1, []int{}); y != nil {
			v := float64(y.host()[0])
			y.Release()
			return v
		}
	}
	hostFallback(name, err, x)
	acc := make([]float64, 1)
	if x.dtype == Float64 {
		reduceInto(op, acc, x.f64, 1, n, 1)
	} else {
		reduceInto(op, acc, x.f32, 1, n, 1)
	}
	return acc[0]
}

func reduce(name string, op reduceOp, x *Tensor, axis int, keepdim bool) *Tensor {
	ax := axisOf(name, axis, x.shape)
	outer, n, inner := split(x.shape, ax)
	if n == 0 && (op == redMax || op == redMin) {
		panic(&Error{Op: name, Arg: "x", Got: x.Shape(), Msg: "(cannot take max or min over an empty axis)", Kind: ErrShape})
	}
	shape := make([]int, 0, len(x.shape))
	shape = append(shape, x.shape[:ax]...)
	if keepdim {
		shape = append(shape, 1)
	}
	shape = append(shape, x.shape[ax+1:]...)
	y, err := reduceDevice(name, op, x, outer, n, inner, shape)
	if y != nil {
		return y
	}
	hostFallback(name, err, x)
	y = like(name, x, shape)
	acc := make([]float64, outer*inner)
	if x.dtype == Float64 {
		reduceInto(op, acc, x.f64, outer, n, inner)
	} else {
		reduceInto(op, acc, x.f32, outer, n, inner)
	}
	for i, v := range acc {
		y.setFlat(i, v)
	}
	return y.OnDeviceOf(x)
}

// reduceInto views x as (outer, n, inner) and writes the reduction over the
// middle axis into acc (outer, inner), walking x in memory order.
func reduceInto[T float](op reduceOp, acc []float64, x []T, outer, n, inner int) {
	for o := 0; o < outer; o++ {
		dst := acc[o*inner : (o+1)*inner]
		base := o * n * inner
		switch {
		case inner == 1 && (op == redSum || op == redMean):
			// Contiguous: one running sum (the common case of axis −1).
			acc := 0.0
			for _, v := range x[base : base+n] {
				acc += float64(v)
			}
			dst[0] = acc
			if op == redMean {
				dst[0] /= float64(n)
			}
		case op == redSum || op == redMean:
			for j := 0; j < n; j++ {
				row := x[base+j*inner : base+(j+1)*inner]
				for i, v := range row {
					dst[i] += float64(v)
				}
			}
			if op == redMean {
				for i := range dst {
					dst[i] /= float64(n)
				}
			}
		default: // redMax, redMin
			for i := range dst {
				dst[i] = float64(x[base+i])
			}
			for j := 1; j < n; j++ {
				row := x[base+j*inner : base+(j+1)*inner]
				for i, v := range row {
					f := float64(v)
					switch {
					case dst[i] != dst[i]:
					case f != f:
						dst[i] = f
					case op == redMax && f > dst[i], op == redMin && f < dst[i]:
						dst[i] = f
					}
				}
			}
		}
	}
}

// reduceDevice reduces a resident x on its device (backend.DeviceReducer),
// with the CPU's accumulation, into a new resident tensor; a nil result
// leaves the operation to the CPU (err says why, when the device refused).
func reduceDevice(name string, op reduceOp, x *Tensor, outer, n, inner int, shape []int) (*Tensor, error) {
	r, ok := resident(x).(backend.DeviceReducer)
	if !ok {
		return nil, nil
	}
	return onDevice(name, shape, []*Tensor{x}, func(in []backend.DeviceBuffer, out backend.DeviceBuffer) error {
		return r.ReduceDevice32([...]string{redSum: "sum", redMean: "mean", redMax: "max", redMin: "min", redCumsum: "cumsum", redCumsumRev: "reversecumsum"}[op], in[0], outer, n, inner, out)
	})
}

// normDevice computes Norm with device operations when x is resident on a
// backend with elementwise functions and reductions (false otherwise).
func normDevice(x *Tensor) (float64, bool) {
	b := resident(x)
	if _, ok := b.(backend.DeviceOptimizer); ok && x.dtype == Float32 && x.Len() > 0 {
		// One dispatch and one read (double sums); only a sum past
		// float32's range takes the scaled path below.
		if s := SumSquares(x); !math.IsInf(s, 1) {
			return math.Sqrt(s), true
		}
	}
	_, el := b.(backend.DeviceElementwiser)
	_, red := b.(backend.DeviceReducer)
	if b == nil || !el || !red || x.Len() == 0 {
		return 0, false
	}
	a := Abs(x)
	defer a.drop() // temporaries: freed without reading them back
	scale := MaxAll(a)
	if scale == 0 || math.IsInf(scale, 0) || scale != scale {
		return scale, true
	}
	u := Scale(x, 1/scale)
	defer u.drop()
	sq := Square(u)
	defer sq.drop()
	return scale * math.Sqrt(SumAll(sq)), true
}
