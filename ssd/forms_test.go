package ssd

import (
	"testing"

	"github.com/furious-lab/furious/tensor"
)

type shapeCase struct{ B, H, L, d, dv int }

var shapes = []shapeCase{{2, 3, 37, 8, 5}, {1, 2, 1, 4, 4}, {1, 1, 64, 4, 3}}

// TestFormsAgree64 checks every form against the quadratic oracle in float64
// to 1e-10 relative, for orders 1, 2, 3 × all masks × all norms × shapes
// (including L = 1 and L not a multiple of the chunk), plus strong decay.
func TestFormsAgree64(t *testing.T) {
	for _, order := range []int{1, 2, 3} {
		for _, kind := range maskKinds {
			for _, norm := range []Norm{NormNone, NormOutput, NormSoftmax} {
				for si, sh := range shapes {
					for _, strong := range []bool{false, true} {
						if strong && (kind == MaskNone || kind == MaskOriginal || kind == MaskForget) {
							continue
						}
						o := Options{Order: order, Norm: norm, Eps: DefaultEps}
						pos := norm == NormSoftmax && order%2 == 1
						in := makeInputs(uint64(100*order+10*si+int(kind)), sh.B, sh.H, sh.L, sh.d, sh.dv, kind, pos, strong)
						want := Quadratic(in.q, in.k, in.v, in.a, o)
						for _, f := range finiteForms {
							got := f.run(in, o)
							tol := 1e-10
							if e := relErr(got, want); e > tol {
								t.Errorf("%s %v strong=%v %s: rel err %.3g > %g", caseName(order, kind, norm, ""), sh, strong, f.name, e, tol)
							}
						}
					}
				}
			}
		}
	}
}

// TestFormsAgree32 runs the float32 forms against the float64 oracle (fed the
// same float32-rounded inputs): the quadratic, chunked and blockwise forms
// to 1e-4 relative, Recurrent and State.Step to recurrentTol (1e-6) at every order.
func TestFormsAgree32(t *testing.T) {
	for _, order := range []int{1, 2, 3} {
		for _, kind := range maskKinds {
			for _, norm := range []Norm{NormNone, NormOutput, NormSoftmax} {
				for si, sh := range shapes {
					for _, strong := range []bool{false, true} {
						if strong && (kind == MaskNone || kind == MaskOriginal || kind == MaskForget) {
							continue
						}
						o := Options{Order: order, Norm: norm, Eps: DefaultEps}
						pos := norm == NormSoftmax && order%2 == 1
						in64 := makeInputs(uint64(100*order+10*si+int(kind)), sh.B, sh.H, sh.L, sh.d, sh.dv, kind, pos, strong).round()
						in32 := in64.as(tensor.Float32)
						want := Quadratic(in64.q, in64.k, in64.v, in64.a, o)
						forms := append([]formFn{{"quadratic", func(in inputs, o Options) *tensor.Tensor { return Quadratic(in.q, in.k, in.v, in.a, o) }}}, finiteForms...)
						for _, f := range forms {
							got := f.run(in32, o)
							if got.DType() != tensor.Float32 {
								t.Fatalf("%s returned %s", f.name, got.DType())
							}
							tol := 1e-4
							if f.name == "recurrent" || f.name == "steps" {
								tol = recurrentTol // the state is kept to ~48 bits (State's lo)
							}
							if e := relErr(got, want); e > tol {
								t.Errorf("%s %v strong=%v %s: rel err %.3g > %g", caseName(order, kind, norm, ""), sh, strong, f.name, e, tol)
							}
						}
					}
				}
			}
		}
	}
}
