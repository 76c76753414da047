package gpu

import _ "embed"

//go:embed elementwise.comp
var elementwiseSrc string

// elementwise runs elementwise.comp with OP defined as op over out.Len()
// elements; b may be nil for unary ops.
func (d *Device) elementwise(op string, out, a, b *Buffer, alpha, beta float32) error {
	const name = "elementwise.comp"
	n := out.Len()
	if a == nil || a.Len() < n || (b != nil && b.Len() < n) {
		blen := -1
		if b != nil {
			blen = b.Len()
		}
		argPanic(name, op, "out has %d floats, inputs have %d and %d", n, lenOf(a), blen)
	}
	if n == 0 {
		return nil
	}
	if b == nil {
		b = a
	}
	p, err := d.program(name, elementwiseSrc, op)
	if err != nil {
		return err
	}
	return d.run(p, [3]int{min(ceilDiv(n, 256), 65535), 1, 1}, []*Buffer{a, b, out},
		iarg("n", n), farg("alpha", alpha), farg("beta", beta))
}

func lenOf(b *Buffer) int {
	if b == nil {
		return -1
	}
	return b.Len()
}

// Add sets out = a + b elementwise over out.Len() floats.
func (d *Device) Add(out, a, b *Buffer) error { return d.elementwise("ADD", out, a, b, 0, 0) }

// Sub sets out = a − b elementwise.
func (d *Device) Sub(out, a, b *Buffer) error { return d.elementwise("SUB", out, a, b, 0, 0) }

// Mul sets out = a ⊙ b elementwise.
func (d *Device) Mul(out, a, b *Buffer) error { return d.elementwise("MUL", out, a, b, 0, 0) }

// Div sets out = a ⊘ b elementwise.
func (d *Device) Div(out, a, b *Buffer) error { return d.elementwise("DIV", out, a, b, 0, 0) }

// Scale sets out = alpha·a + beta elementwise.
func (d *Device) Scale(out, a *Buffer, alpha, beta float32) error {
	return d.elementwise("AXPB", out, a, nil, alpha, beta)
}

// Exp sets out = exp(a) elementwise.
func (d *Device) Exp(out, a *Buffer) error { return d.elementwise("EXP", out, a, nil, 0, 0) }

// Softplus sets out = log(1 + exp(a)) elementwise (a itself above 20).
func (d *Device) Softplus(out, a *Buffer) error { return d.elementwise("SOFTPLUS", out, a, nil, 0, 0) }
