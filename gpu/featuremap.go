package gpu

import _ "embed"

//go:embed featuremap.comp
var featuremapSrc string

// FeatureMapDim is D = d(d+1)/2, the size of the order-2 feature map.
func FeatureMapDim(d int) int { return d * (d + 1) / 2 }

// FeatureMap2 sets out to the order-2 symmetric Kronecker feature map of
// each row of x scaled by s: φ(sx)_p = c_ij·(s x_i)(s x_j) for i ≤ j in
// row-major upper-triangle order, c = 1 on the diagonal and √2 off it, so
// φ(sx)·φ(sy) = s⁴(x·y)²; x (rows, d), out (rows, d(d+1)/2), d ≤ 1024.
func (d *Device) FeatureMap2(out, x *Buffer, rows, dim int, s float32) error {
	const name = "featuremap.comp"
	if rows < 0 || dim < 1 || dim > 1024 || x.Len() < rows*dim || out.Len() < rows*FeatureMapDim(dim) {
		argPanic(name, "dispatch", "x has %d floats for %d rows × d=%d (d ≤ 1024), out %d for D=%d",
			x.Len(), rows, dim, out.Len(), FeatureMapDim(dim))
	}
	if rows == 0 {
		return nil
	}
	p, err := d.program(name, featuremapSrc)
	if err != nil {
		return err
	}
	return d.run(p, rowGroups(rows), []*Buffer{x, out}, iarg("rows", rows), iarg("d", dim), farg("scale", s))
}
