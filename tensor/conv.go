package tensor

import (
	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/backend/cpu"
)

// CausalConv1d is the depthwise causal convolution over time of x (B, L, C)
// with kernel w (C, W) and bias (C) or nil, zero history:
//
//	y[b,t,c] = bias[c] + Σ_{κ=0}^{W−1} w[c,κ]·x[b, t−(W−1)+κ, c]
//
// so w[:, W−1] weighs the current step. Sums are formed in float64 and
// rounded once.
func CausalConv1d(x, w, bias *Tensor) *Tensor {
	const op = "tensor.CausalConv1d"
	B, L, C, W := convShapes(op, x, w, bias)
	if d, ok := resident(x, w, bias).(backend.DeviceConvolver); ok && x.dtype == Float32 {
		if y, err := onDevice(op, x.shape, []*Tensor{x, w, bias}, func(in []backend.DeviceBuffer, out backend.DeviceBuffer) error {
			return d.CausalConv1dDevice32(in[0], in[1], in[2], B, L, C, W, out)
		}); y != nil {
			return y
		} else {
			hostFallback(op, err, x, w, bias)
		}
	}
	hostFallback(op, nil, x, w, bias)
	y := like(op, x, x.shape)
	if x.dtype == Float64 {
		convFwd(y.f64, x.f64, w.f64, f64s(bias), B, L, C, W)
	} else {
		convFwd(y.f32, x.f32, w.f32, f32s(bias), B, L, C, W)
	}
	return y.OnDeviceOf(x, w, bias)
}

// convShapes checks x (B, L, C), w (C, W), bias (C) or nil.
func convShapes(op string, x, w, bias *Tensor) (B, L, C, W int) {
	CheckShape(op, "x", x.shape, "(want (B, L, C))", -1, -1, -1)
	B, L, C = x.shape[0], x.shape[1], x.shape[2]
	CheckDType(op, "x", x, "w", w)
	CheckShape(op, "w", w.shape, "(want (C, W) for x "+ShapeString(x.shape)+")", C, -1)
	if bias != nil {
		CheckDType(op, "x", x, "bias", bias)
		CheckShape(op, "bias", bias.shape, "(want (C) for x "+ShapeString(x.shape)+")", C)
	}
	return B, L, C, w.shape[1]
}

// convFwd writes the causal depthwise convolution of x (B, L, C) into y,
// one float64 row of C sums per (b, t), rows in parallel.
func convFwd[T float](y, x, w, bias []T, B, L, C, W int) {
	cpu.Parallel(B*L, max(1, grain/max(C*W, 1)), func(lo, hi int) {
		acc := make([]float64, C)
		for bt := lo; bt < hi; bt++ {
			t := bt % L
			if bias != nil {
				for c, v := range bias {
					acc[c] = float64(v)
				}
			} else {
				clear(acc)
			}
			for k := 0; k < W; k++ {
				u := t - (W - 1) + k
				if u < 0 {
					continue
				}
				xr := x[(bt-t+u)*C : (bt-t+u+1)*C]
				for c, v := range xr {
					acc[c] += float64(w[c*W+k]) * float64(v)
				}
			}
			yr := y[bt*C : (bt+1)*C]
			for c, v := range acc {
				yr[c] = T(v)
			}
		}
	})
}

// CausalConv1dBackward returns the gradients of CausalConv1d for the output
// gradient g (B, L, C):
//
//	dx[b,s,c] = Σ_κ w[c,κ]·g[b, s+(W−1)−κ, c],
//	dw[c,κ] = Σ_{b,t} g[b,t,c]·x[b, t−(W−1)+κ, c],  dbias[c] = Σ_{b,t} g[b,t,c];
//
// db is nil unless withBias.
func CausalConv1dBackward(g, x, w *Tensor, withBias bool) (dx, dw, db *Tensor) {
	const op = "tensor.CausalConv1dBackward"
	B, L, C, W := convShapes(op, x, w, nil)
	CheckDType(op, "x", x, "g", g)
	CheckShape(op, "g", g.shape, "(same as x)", x.shape...)
	shapes := [][]int{x.shape, w.shape}
	if withBias {
		shapes = append(shapes, []int{C})
	}
	if d, ok := resident(g, x, w).(backend.DeviceConvolver); ok && x.dtype == Float32 {
		if out, err := onDeviceMulti(op, shapes, []*Tensor{g, x, w}, func(in, out []backend.DeviceBuffer) error {
			var dbb backend.DeviceBuffer
			if withBias {
				dbb = out[2]
			}
			return d.CausalConv1dBackwardDevice32(in[0], in[1], in[2], B, L, C, W, out[0], out[1], dbb)
		}); out != nil {
			if withBias {
				db = out[2]
			}
			return out[0], out[1], db
		} else {
			hostFallback(op, err, g, x, w)
		}
	}
	hostFallback(op, nil, g, x, w)
	dx, dw = like(op, x, x.shape), like(op, x, w.shape)
	if withBias {
		db = like(op, x, []int{C})
	}
	if x.dtype == Float64 {
		convBwd(dx.f64, dw.f64, f64s(db), g.f64, x.f64, w.f64, B, L, C, W)
	} else {
		convBwd(dx.f32, dw.f32, f32s(db), g.f32, x.f32, w.f32, B, L, C, W)
	}
	return dx.OnDeviceOf(g, x, w), dw.OnDeviceOf(g, x, w), db.OnDeviceOf(g, x, w)
}

// convBwd writes dx (rows in parallel), dw and db (float64 sums over b, t).
func convBwd[T float](dx, dw, db, g, x, w []T, B, L, C, W int) {
	// dx: one pass per output row, in parallel.
	cpu.Parallel(B*L, max(1, grain/max(C*W, 1)), func(lo, hi int) {
		acc := make([]float64, C)
		for bs := lo; bs < hi; bs++ {
			s := bs % L
			clear(acc)
			for k := 0; k < W; k++ {
				t := s + (W - 1) - k
				if t >= L {
					continue
				}
				gr := g[(bs-s+t)*C : (bs-s+t+1)*C]
				for c, v := range gr {
					acc[c] += float64(w[c*W+k]) * float64(v)
				}
			}
			dr := dx[bs*C : (bs+1)*C]
			for c, v := range acc {
				dr[c] = T(v)
			}
		}
	})
	// dw, db: sums over (b, t), float64.
	aw, ab := make([]float64, C*W), make([]float64, C)
	for b := 0; b < B; b++ {
		for t := 0; t < L; t++ {
			gr := g[(b*L+t)*C : (b*L+t+1)*C]
			for c, v := range gr {
				ab[c] += float64(v)
			}
			for k := 0; k < W; k++ {
				u := t - (W - 1) + k
				if u < 0 {
					continue
				}
				xr := x[(b*L+u)*C : (b*L+u+1)*C]
				for c, v := range gr {
					aw[c*W+k] += float64(v) * float64(xr[c])
				}
			}
		}
	}
	for i, v := range aw {
		dw[i] = T(v)
	}
	if db != nil {
		for i, v := range ab {
			db[i] = T(v)
		}
	}
}
