package gpu

import (
	_ "embed"
	"strings"
)

//go:embed unary.comp
var unarySrc string

// unaryOps are the functions of unary.comp, by package tensor's names.
var unaryOps = map[string]bool{"abs": true, "relu": true, "log": true, "sqrt": true, "sigmoid": true, "logsigmoid": true, "silu": true}

// Unary sets out_i = f(a_i) for f one of "abs", "relu" (max(x, 0), NaN
// kept), "log" (NaN below 0, −Inf at 0), "sqrt" (NaN below 0), "sigmoid"
// (1/(1 + e⁻ˣ)), "logsigmoid" (min(x, 0) − ln(1 + e^−|x|)) and "silu"
// (x·σ(x)), over out.Len() floats. GLSL has no log1p: near 0, logsigmoid
// is within 2⁻²³ absolute, not relative.
func (d *Device) Unary(op string, out, a *Buffer) error {
	const name = "unary.comp"
	if !unaryOps[op] {
		argPanic(name, op, "unknown function (want abs, relu, log, sqrt, sigmoid, logsigmoid or silu)")
	}
	n := out.Len()
	if a == nil || a.Len() < n {
		argPanic(name, op, "out has %d floats, a has %d", n, lenOf(a))
	}
	if n == 0 {
		return nil
	}
	p, err := d.program(name, unarySrc, strings.ToUpper(op))
	if err != nil {
		return err
	}
	return d.run(p, [3]int{min(ceilDiv(n, 256), 65535), 1, 1}, []*Buffer{a, out}, iarg("n", n))
}
