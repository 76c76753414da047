package tensor

import (
	"fmt"

	"github.com/furious-lab/furious/backend"
)

// Tensor is an n-dimensional array in row-major (C) order.
// The zero value is not usable; create tensors with New, Zeros, FromFloat32, ...
type Tensor struct {
	shape []int
	dtype DType
	f32   []float32 // host data when dtype == Float32
	f64   []float64 // host data when dtype == Float64
	// dev is the device copy of a resident tensor (resident.go), nil for a
	// host tensor. f32 is then the lazily synced host copy: read it only
	// after t.host() (or syncHost, hostFallback), which sets it.
	dev *devData
}

// New returns a zero tensor of the given dtype and shape on the host
// (libraries allocate their CPU results with it). The float32 constructors
// below place their tensor where SetDevice / FURIOUS_DEVICE say.
func New(dtype DType, shape ...int) *Tensor {
	CheckAlloc("tensor.New", dtype, shape)
	return newUnchecked(dtype, shape)
}

func newUnchecked(dtype DType, shape []int) *Tensor {
	n := numel("tensor.New", shape)
	t := &Tensor{shape: append([]int{}, shape...), dtype: dtype}
	if dtype == Float64 {
		t.f64 = make([]float64, n)
	} else {
		t.f32 = make([]float32, n)
	}
	return t
}

// Zeros returns a float32 tensor of zeros, placed on the device SetDevice
// chose (the CPU by default).
func Zeros(shape ...int) *Tensor { return placed(New(Float32, shape...)) }

// Zeros64 returns a float64 tensor of zeros.
func Zeros64(shape ...int) *Tensor { return New(Float64, shape...) }

// Ones returns a float32 tensor of ones.
func Ones(shape ...int) *Tensor { return Full(1, shape...) }

// Ones64 returns a float64 tensor of ones.
func Ones64(shape ...int) *Tensor { return New(Float64, shape...).Fill(1) }

// Full64 returns a float64 tensor filled with v.
func Full64(v float64, shape ...int) *Tensor { return New(Float64, shape...).Fill(v) }

// Full returns a float32 tensor filled with v, placed on the device
// SetDevice chose.
func Full(v float64, shape ...int) *Tensor {
	t := New(Float32, shape...)
	t.Fill(v)
	return placed(t)
}

// FromFloat32 wraps data (not copied) as a float32 tensor of the given shape;
// with no shape it is a vector. len(data) must equal the shape's size. When
// SetDevice chose a device, the tensor is placed there (data is uploaded,
// and later writes to data are not seen by the device).
func FromFloat32(data []float32, shape ...int) *Tensor {
	if len(shape) == 0 {
		shape = []int{len(data)}
	}
	if n := numel("tensor.FromFloat32", shape); n != len(data) {
		Errorf("tensor.FromFloat32", "data", "has %d values, shape %s needs %d", len(data), ShapeString(shape), n)
	}
	return placed(&Tensor{shape: append([]int{}, shape...), dtype: Float32, f32: data})
}

// FromFloat64 wraps data (not copied) as a float64 tensor of the given shape;
// with no shape it is a vector.
func FromFloat64(data []float64, shape ...int) *Tensor {
	if len(shape) == 0 {
		shape = []int{len(data)}
	}
	if n := numel("tensor.FromFloat64", shape); n != len(data) {
		Errorf("tensor.FromFloat64", "data", "has %d values, shape %s needs %d", len(data), ShapeString(shape), n)
	}
	return &Tensor{shape: append([]int{}, shape...), dtype: Float64, f64: data}
}

// Shape returns a copy of the shape.
func (t *Tensor) Shape() []int { return append([]int{}, t.shape...) }

// Rank is the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// Dim returns the size of dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.shape)
	}
	if i < 0 || i >= len(t.shape) {
		Errorf("tensor.Dim", "i", "dimension %d out of range for shape %s", i, ShapeString(t.shape))
	}
	return t.shape[i]
}

// Len is the number of elements.
func (t *Tensor) Len() int {
	if t.dev != nil {
		return t.dev.n
	}
	if t.dtype == Float64 {
		return len(t.f64)
	}
	return len(t.f32)
}

// Device returns where the tensor's data lives: backend.GPU for a tensor
// moved there with To("gpu") or computed there from one (until Release),
// else backend.CPU.
func (t *Tensor) Device() backend.Kind {
	if b := resident(t); b != nil {
		return b.Kind()
	}
	return backend.CPU
}

// DType returns the element type.
func (t *Tensor) DType() DType { return t.dtype }

// Bytes is the size of the data in bytes.
func (t *Tensor) Bytes() int64 { return int64(t.Len()) * int64(t.dtype.Size()) }

// Float32s returns the float32 host data (shared, not copied). It panics for
// a float64 tensor; use As(Float32) first. For a resident tensor it is the
// host copy, read back from the device when stale; since the caller may
// write it, the next device operation on t uploads it again (writes made
// after that operation are not seen by the device: call Float32s again).
func (t *Tensor) Float32s() []float32 {
	if t.dtype != Float32 {
		Errorf("tensor.Float32s", "", "tensor is %s; call As(tensor.Float32) first", t.dtype)
	}
	return t.hostWrite()
}

// Float64s returns the float64 host data (shared, not copied). It panics for
// a float32 tensor; use As(Float64) or Data.
func (t *Tensor) Float64s() []float64 {
	if t.dtype != Float64 {
		Errorf("tensor.Float64s", "", "tensor is %s; call As(tensor.Float64) or Data() first", t.dtype)
	}
	return t.f64
}

// Data returns a float64 copy of the data, whatever the dtype.
func (t *Tensor) Data() []float64 {
	syncHost(t)
	out := make([]float64, t.Len())
	if t.dtype == Float64 {
		copy(out, t.f64)
	} else {
		for i, v := range t.f32 {
			out[i] = float64(v)
		}
	}
	return out
}

func (t *Tensor) flat(i int) float64 {
	if t.dtype == Float64 {
		return t.f64[i]
	}
	return float64(t.f32[i])
}

func (t *Tensor) setFlat(i int, v float64) {
	if t.dtype == Float64 {
		t.f64[i] = v
	} else {
		t.f32[i] = float32(v)
	}
}

// offset returns the flat index of idx, panicking with the shape on a bad index.
func (t *Tensor) offset(op string, idx []int) int {
	if len(idx) != len(t.shape) {
		Errorf(op, "index", "%d indices for shape %s", len(idx), ShapeString(t.shape))
	}
	off := 0
	for i, v := range idx {
		if v < 0 || v >= t.shape[i] {
			Errorf(op, "index", "%v out of range for shape %s", idx, ShapeString(t.shape))
		}
		off = off*t.shape[i] + v
	}
	return off
}

// At returns the element at idx as a float64.
func (t *Tensor) At(idx ...int) float64 {
	syncHost(t)
	return t.flat(t.offset("tensor.At", idx))
}

// Set writes v at idx (rounded to float32 for a float32 tensor).
// On a resident tensor it writes the host copy; the next device operation
// uploads it.
func (t *Tensor) Set(v float64, idx ...int) {
	if t.dev != nil {
		t.hostWrite()
	}
	t.setFlat(t.offset("tensor.Set", idx), v)
}

// Fill sets every element to v and returns t.
func (t *Tensor) Fill(v float64) *Tensor {
	if t.dev != nil {
		t.hostWrite()
	}
	if t.dtype == Float64 {
		for i := range t.f64 {
			t.f64[i] = v
		}
	} else {
		f := float32(v)
		for i := range t.f32 {
			t.f32[i] = f
		}
	}
	return t
}

// Clone returns a deep copy, on t's device: a resident tensor's clone is
// resident too, copied on the device (backend.DeviceGatherer) or, without
// a device copy, through the host.
func (t *Tensor) Clone() *Tensor {
	if resident(t) != nil {
		if n := t.Len(); n > 0 {
			if c, _ := gatherDevice("tensor.Clone", t, 0, []int{n}, []int{1}); c != nil {
				return c.Reshape(t.shape...)
			}
		}
		c := t.To("cpu")
		if c == t {
			c = c.Clone()
		}
		return c.To("gpu")
	}
	syncHost(t)
	c := &Tensor{shape: t.Shape(), dtype: t.dtype}
	if t.dtype == Float64 {
		c.f64 = append([]float64(nil), t.f64...)
	} else {
		c.f32 = append([]float32(nil), t.f32...)
	}
	return c
}

// As returns t converted to dtype (t itself when it already is).
func (t *Tensor) As(dtype DType) *Tensor {
	if t.dtype == dtype {
		return t
	}
	syncHost(t)
	c := New(dtype, t.shape...)
	for i := 0; i < t.Len(); i++ {
		c.setFlat(i, t.flat(i))
	}
	return c
}

// Reshape returns a tensor sharing t's data with a new shape; one dimension
// may be -1 and is then inferred.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	shape = append([]int{}, shape...)
	infer, known := -1, 1
	for i, s := range shape {
		if s == -1 {
			if infer >= 0 {
				Errorf("tensor.Reshape", "shape", "%s has more than one -1", ShapeString(shape))
			}
			infer = i
			continue
		}
		if s < 0 {
			Errorf("tensor.Reshape", "shape", "%s has a negative dimension", ShapeString(shape))
		}
		known *= s
	}
	if infer >= 0 && known > 0 {
		shape[infer] = t.Len() / known
	}
	if numel("tensor.Reshape", shape) != t.Len() {
		ShapeMismatch("tensor.Reshape", "t", t.shape, shape, fmt.Sprintf("(%d elements cannot take the new shape)", t.Len()))
	}
	return &Tensor{shape: shape, dtype: t.dtype, f32: t.f32, f64: t.f64, dev: t.dev}
}
