// Package backendtest is one conformance suite for every backend: RunAll
// checks a backend's identity and each optional operation set it implements
// (backend.MatMuler, backend.Elementwiser) against plain float64 loops
// written here, with stated tolerances. A GPU backend's test is one line:
//
//	func TestConformance(t *testing.T) { backendtest.RunAll(t, gl.New()) }
//
// Operations a partial backend answers with backend.ErrNotImplemented are
// skipped with a log line, not failed: falling back is allowed, computing
// something wrong is not.
package backendtest

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/furious-lab/furious/backend"
)

// Tolerances: a float32 elementwise result r is accepted against the
// float64 reference w when |r − w| ≤ ATol + RTol·|w|; RTol allows for GLSL's
// exp and log, which are only required to be within a few ulps times |x|.
// An entry of a matrix product, a dot product Σ_p x_p·y_p, is accepted when
// |r − w| ≤ ATol + MatMulRTol·Σ_p |x_p·y_p|, which covers float32
// accumulation in any order for the inner sizes tested (k ≤ 65).
const (
	RTol       = 1e-4
	ATol       = 1e-5
	MatMulRTol = 1e-5
)

// RunAll runs every check that applies to b.
func RunAll(t *testing.T, b backend.Backend) {
	t.Run("Identity", func(t *testing.T) { Identity(t, b) })
	if p, ok := b.(backend.Prober); ok {
		if err := p.Available(); err != nil {
			t.Skipf("%s is unavailable here: %v", b.Name(), err)
		}
	}
	if m, ok := b.(backend.MatMuler); ok {
		t.Run("MatMul32", func(t *testing.T) { MatMul32(t, m) })
	}
	if e, ok := b.(backend.Elementwiser); ok {
		t.Run("Unary32", func(t *testing.T) { Unary32(t, e) })
	}
}

// Identity checks Name, Kind, Describe and Capabilities.
func Identity(t *testing.T, b backend.Backend) {
	if b.Name() == "" || b.Describe() == "" {
		t.Fatalf("backend has an empty name (%q) or description (%q)", b.Name(), b.Describe())
	}
	if b.Kind() != backend.CPU && b.Kind() != backend.GPU {
		t.Fatalf("unknown kind %v", b.Kind())
	}
	if !b.Capabilities().Float32 {
		t.Fatal("every backend must compute in float32")
	}
}

// rng is a small deterministic generator so that failures reproduce.
type rng uint64

func (r *rng) normal() float64 {
	u := func() float64 {
		*r = *r*6364136223846793005 + 1442695040888963407
		return (float64(uint64(*r)>>11) + 0.5) / (1 << 53)
	}
	return math.Sqrt(-2*math.Log(u())) * math.Cos(2*math.Pi*u())
}

func (r *rng) slice(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.normal())
	}
	return s
}

func skipped(t *testing.T, what string, err error) bool {
	if errors.Is(err, backend.ErrNotImplemented) {
		t.Logf("%s: not implemented (the CPU will run it): %v", what, err)
		return true
	}
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return false
}

// MatMul32 checks batched products with every transpose combination, shared
// (stride 0) and strided operands, odd sizes and an empty inner dimension.
func MatMul32(t *testing.T, mm backend.MatMuler) {
	r := rng(1)
	for _, c := range []struct{ batch, m, n, k int }{
		{1, 1, 1, 1}, {1, 7, 5, 3}, {3, 16, 16, 16}, {2, 33, 17, 65}, {4, 64, 64, 32}, {1, 4, 3, 0},
	} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, shareB := range []bool{false, true} {
					what := fmt.Sprintf("batch %d, m %d, n %d, k %d, transA %v, transB %v, shared B %v", c.batch, c.m, c.n, c.k, ta, tb, shareB)
					sa, sb := c.m*c.k, c.k*c.n
					nb := c.batch
					if shareB {
						sb, nb = 0, 1
					}
					a, b := r.slice(c.batch*c.m*c.k), r.slice(nb*c.k*c.n)
					out := make([]float32, c.batch*c.m*c.n)
					for i := range out {
						out[i] = float32(math.NaN()) // must be overwritten
					}
					if skipped(t, what, mm.MatMul32(ta, tb, c.batch, c.m, c.n, c.k, a, sa, b, sb, out)) {
						return
					}
					for bi := 0; bi < c.batch; bi++ {
						for i := 0; i < c.m; i++ {
							for j := 0; j < c.n; j++ {
								w, mag := 0.0, 0.0
								for p := 0; p < c.k; p++ {
									var x, y float32
									if ta {
										x = a[bi*sa+p*c.m+i]
									} else {
										x = a[bi*sa+i*c.k+p]
									}
									if tb {
										y = b[bi*sb+j*c.k+p]
									} else {
										y = b[bi*sb+p*c.n+j]
									}
									w += float64(x) * float64(y)
									mag += math.Abs(float64(x) * float64(y))
								}
								got := float64(out[(bi*c.m+i)*c.n+j])
								if !(math.Abs(got-w) <= ATol+MatMulRTol*mag) {
									t.Fatalf("%s: C[%d][%d,%d] = %g, want %g", what, bi, i, j, got, w)
								}
							}
						}
					}
				}
			}
		}
	}
}

// unaryRefs are the float64 definitions of backend.Elementwiser's names.
var unaryRefs = map[string]func(float64) float64{
	"neg":    func(v float64) float64 { return -v },
	"square": func(v float64) float64 { return v * v },
	"abs":    math.Abs,
	"relu":   func(v float64) float64 { return math.Max(v, 0) },
	"exp":    math.Exp,
	"log":    math.Log,
	"sqrt":   math.Sqrt,
	"softplus": func(v float64) float64 {
		if v > 20 {
			return v
		}
		return math.Log1p(math.Exp(v))
	},
	"sigmoid":    func(v float64) float64 { return 1 / (1 + math.Exp(-v)) },
	"logsigmoid": func(v float64) float64 { return -math.Log1p(math.Exp(-v)) },
	"silu":       func(v float64) float64 { return v / (1 + math.Exp(-v)) },
}

// UnaryNames lists the functions Unary32 checks, the names of
// backend.Elementwiser.
var UnaryNames = []string{"neg", "square", "abs", "relu", "exp", "log", "sqrt", "softplus", "sigmoid", "logsigmoid", "silu"}

// Unary32 checks every named elementwise function on values spread over
// [−30, 30] (positive ones only for log and sqrt), including the softplus
// threshold at 20, and on lengths that are not multiples of a work-group.
func Unary32(t *testing.T, e backend.Elementwiser) {
	r := rng(2)
	for _, name := range UnaryNames {
		ref := unaryRefs[name]
		for _, n := range []int{1, 7, 1000, 4099} {
			x := make([]float32, n)
			for i := range x {
				v := 30 * math.Tanh(r.normal()) // in (−30, 30)
				if i%11 == 0 {
					v = 20 + float64(i%3-1)*0.5 // around the softplus threshold
				}
				if name == "log" || name == "sqrt" {
					v = math.Abs(v) + 1e-3
				}
				x[i] = float32(v)
			}
			y := make([]float32, n)
			if skipped(t, name, e.Unary32(name, x, y)) {
				break
			}
			for i := range x {
				w := ref(float64(x[i]))
				if got := float64(y[i]); !(math.Abs(got-w) <= ATol+RTol*math.Abs(w)) {
					t.Fatalf("%s(%g) = %g, want %g (n = %d)", name, x[i], got, w, n)
				}
			}
		}
	}
	if err := e.Unary32("no-such-function", []float32{1}, []float32{0}); err == nil {
		t.Fatal("an unknown function name was accepted")
	}
}
