package tensor

import "fmt"

// DType is the element type of a tensor.
type DType uint8

const (
	Float32 DType = iota // default: matches the GPU shaders
	Float64              // CPU only: reference checks and gradient checks
)

// String returns "float32" or "float64".
func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Size is the number of bytes of one element.
func (d DType) Size() int {
	if d == Float64 {
		return 8
	}
	return 4
}
