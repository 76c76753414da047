package tensor

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/backend/cpu"
)

// Operations a model needs (package nn composes its ops and their gradients
// from them): gather and scatter-add along an axis (embeddings), row softmax
// and log-softmax with their backward passes, reverse cumulative sums,
// RMSNorm forward and backward, rotary embeddings, fused elementwise
// gradients, and the reduction of a broadcast gradient to its operand's
// shape. float32 data is accumulated in float64 where a sum runs over a
// row, and rounded once. Each op runs on the device of a resident operand
// when its backend implements the matching backend.Device* interface, and
// on the CPU otherwise (hostFallback).

// Gather returns x indexed along axis by idx: viewing x as (outer, n,
// inner) around axis, y (outer, len(idx), inner) has y[o, j, i] =
// x[o, idx[j], i]. Gather(table, 0, ids) takes the rows of an embedding
// table (V, D) → (len(ids), D). Every idx must be in [0, n).
func Gather(x *Tensor, axis int, idx []int) *Tensor {
	const op = "tensor.Gather"
	ax := axisOf(op, axis, x.shape)
	outer, n, inner := split(x.shape, ax)
	checkIndex(op, idx, n, x.shape, ax)
	shape := x.Shape()
	shape[ax] = len(idx)
	if y, err := indexDevice(op, x, outer, n, inner, idx, shape, false); y != nil {
		return y
	} else {
		hostFallback(op, err, x)
	}
	y := like(op, x, shape)
	if x.dtype == Float64 {
		gatherInto(y.f64, x.f64, outer, n, inner, idx)
	} else {
		gatherInto(y.f32, x.f32, outer, n, inner, idx)
	}
	return y.OnDeviceOf(x)
}

// ScatterAdd is the adjoint of Gather: g (outer, len(idx), inner) around
// axis is summed into y (outer, n, inner), y[o, idx[j], i] += g[o, j, i],
// starting from zeros. ScatterAdd(g, 0, ids, V) is the gradient of an
// embedding table (V, D) from the gradient g (len(ids), D) of its rows.
func ScatterAdd(g *Tensor, axis int, idx []int, n int) *Tensor {
	const op = "tensor.ScatterAdd"
	ax := axisOf(op, axis, g.shape)
	if g.shape[ax] != len(idx) {
		want := g.Shape()
		want[ax] = len(idx)
		ShapeMismatch(op, "g", g.shape, want, fmt.Sprintf("(axis %d must have one entry per index, %d)", ax, len(idx)))
	}
	shape := g.Shape()
	shape[ax] = n
	checkIndex(op, idx, n, shape, ax)
	outer, _, inner := split(g.shape, ax)
	if y, err := indexDevice(op, g, outer, n, inner, idx, shape, true); y != nil {
		return y
	} else {
		hostFallback(op, err, g)
	}
	y := like(op, g, shape)
	if g.dtype == Float64 {
		scatterAddInto(y.f64, g.f64, outer, n, inner, idx)
	} else {
		scatterAddInto(y.f32, g.f32, outer, n, inner, idx)
	}
	return y.OnDeviceOf(g)
}

// Pad returns x with before zero rows ahead of it and after behind it
// along axis: x (…, m, …) gives y (…, before+m+after, …), y[…, before+j, …]
// = x[…, j, …]. It is the gradient of x.Slice(axis, before, before+m) of a
// tensor of that axis length (ScatterAdd over a range, with no indices).
func Pad(x *Tensor, axis, before, after int) *Tensor {
	const op = "tensor.Pad"
	ax := axisOf(op, axis, x.shape)
	if before < 0 || after < 0 {
		Errorf(op, "before, after", "are %d and %d, want them ≥ 0", before, after)
	}
	shape := x.Shape()
	m := shape[ax]
	shape[ax] = before + m + after
	outer, _, inner := split(x.shape, ax)
	if d, ok := resident(x).(backend.DeviceIndexer); ok {
		y, err := onDevice(op, shape, []*Tensor{x}, func(in []backend.DeviceBuffer, out backend.DeviceBuffer) error {
			return d.PadDevice32(in[0], outer, m, inner, before, after, out)
		})
		if y != nil {
			return y
		}
		hostFallback(op, err, x)
	}
	y := like(op, x, shape)
	n := shape[ax]
	if x.dtype == Float64 {
		padInto(y.f64, x.f64, outer, m, n, inner, before)
	} else {
		padInto(y.f32, x.f32, outer, m, n, inner, before)
	}
	return y.OnDeviceOf(x)
}

// padInto copies x (outer, m, inner) into rows before … before+m−1 of the
// zeroed y (outer, n, inner).
func padInto[T float](y, x []T, outer, m, n, inner, before int) {
	for q := 0; q < outer; q++ {
		copy(y[(q*n+before)*inner:(q*n+before+m)*inner], x[q*m*inner:(q+1)*m*inner])
	}
}

// checkIndex panics naming op when an index is outside [0, n) of axis ax.
func checkIndex(op string, idx []int, n int, shape []int, ax int) {
	for j, v := range idx {
		if v < 0 || v >= n {
			Errorf(op, "idx", "idx[%d] = %d is out of range for axis %d of size %d (shape %s)", j, v, ax, n, ShapeString(shape))
		}
	}
}

// gatherInto writes y[o, j, :] = x[o, idx[j], :] for x (outer, n, inner).
func gatherInto[T float](y, x []T, outer, n, inner int, idx []int) {
	m := len(idx)
	cpu.Parallel(outer*m, max(1, grain/max(inner, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o, j := r/m, r%m
			s := (o*n + idx[j]) * inner
			copy(y[r*inner:(r+1)*inner], x[s:s+inner])
		}
	})
}

// scatterAddInto adds g[o, j, :] into y[o, idx[j], :] for y (outer, n, inner).
func scatterAddInto[T float](y, g []T, outer, n, inner int, idx []int) {
	m := len(idx)
	for o := 0; o < outer; o++ {
		for j, id := range idx {
			dst := y[(o*n+id)*inner : (o*n+id+1)*inner]
			src := g[(o*m+j)*inner : (o*m+j+1)*inner]
			for i, v := range src {
				dst[i] += v
			}
		}
	}
}

// indexDevice runs Gather (add false) or ScatterAdd (add true) on the device
// of a resident x (backend.DeviceIndexer); nil leaves it to the CPU.
func indexDevice(op string, x *Tensor, outer, n, inner int, idx []int, shape []int, add bool) (*Tensor, error) {
	d, ok := resident(x).(backend.DeviceIndexer)
	if !ok {
		return nil, nil
	}
	return onDevice(op, shape, []*Tensor{x}, func(in []backend.DeviceBuffer, out backend.DeviceBuffer) error {
		if add {
			return d.ScatterAddDevice32(in[0], outer, n, inner, idx, out)
		}
		return d.GatherIndexDevice32(in[0], outer, n, inner, idx, out)
	})
}

// rowsOf views x as (rows, n) over its last axis, naming op on a scalar.
func rowsOf(op, arg string, x *Tensor) (rows, n int) {
	if len(x.shape) == 0 {
		ShapeMismatch(op, arg, x.shape, []int{-1}, "(needs at least one axis)")
	}
	n = x.shape[len(x.shape)-1]
	if n == 0 {
		return 0, 0
	}
	return x.Len() / n, n
}

// Softmax returns the softmax over the last axis:
// y_i = e^{x_i − m} / Σ_j e^{x_j − m}, m = max_j x_j (a row of −Inf gives NaN).
func Softmax(x *Tensor) *Tensor { return softmaxOf("tensor.Softmax", x, false) }

// LogSoftmax returns the log-softmax over the last axis:
// y_i = x_i − m − log Σ_j e^{x_j − m}, m = max_j x_j.
func LogSoftmax(x *Tensor) *Tensor { return softmaxOf("tensor.LogSoftmax", x, true) }

// softmaxOf is Softmax, or LogSoftmax when log, named op.
func softmaxOf(op string, x *Tensor, log bool) *Tensor {
	rows, n := rowsOf(op, "x", x)
	if y, err := softmaxDevice(op, log, false, x, nil, rows, n); y != nil {
		return y
	} else {
		hostFallback(op, err, x)
	}
	y := like(op, x, x.shape)
	if x.dtype == Float64 {
		softmaxRows(y.f64, x.f64, rows, n, log)
	} else {
		softmaxRows(y.f32, x.f32, rows, n, log)
	}
	return y.OnDeviceOf(x)
}

// softmaxRows writes the (log-)softmax of each row of x (rows, n) into y,
// in float64 per row, rounded once.
func softmaxRows[T float](y, x []T, rows, n int, log bool) {
	cpu.Parallel(rows, max(1, grain/max(n, 1)/8), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, yr := x[r*n:(r+1)*n], y[r*n:(r+1)*n]
			m := math.Inf(-1)
			for _, v := range xr {
				m = max(m, float64(v))
			}
			var s float64
			for _, v := range xr {
				s += math.Exp(float64(v) - m)
			}
			if log {
				lse := m + math.Log(s)
				for i, v := range xr {
					yr[i] = T(float64(v) - lse)
				}
				continue
			}
			for i, v := range xr {
				yr[i] = T(math.Exp(float64(v)-m) / s)
			}
		}
	})
}

// SoftmaxBackward returns the gradient of Softmax at its output y for the
// output gradient g (both (..., n)): dx_i = y_i·(g_i − Σ_j g_j y_j).
func SoftmaxBackward(g, y *Tensor) *Tensor {
	return softmaxBack("tensor.SoftmaxBackward", g, y, false)
}

// LogSoftmaxBackward returns the gradient of LogSoftmax at its output y for
// the output gradient g: dx_i = g_i − e^{y_i}·Σ_j g_j.
func LogSoftmaxBackward(g, y *Tensor) *Tensor {
	return softmaxBack("tensor.LogSoftmaxBackward", g, y, true)
}

// softmaxBack is SoftmaxBackward, or LogSoftmaxBackward when log, named op.
func softmaxBack(op string, g, y *Tensor, log bool) *Tensor {
	CheckDType(op, "y", y, "g", g)
	CheckShape(op, "g", g.shape, "(same as y)", y.shape...)
	rows, n := rowsOf(op, "y", y)
	if dx, err := softmaxDevice(op, log, true, g, y, rows, n); dx != nil {
		return dx
	} else {
		hostFallback(op, err, g, y)
	}
	dx := like(op, y, y.shape)
	if y.dtype == Float64 {
		softmaxBackRows(dx.f64, g.f64, y.f64, rows, n, log)
	} else {
		softmaxBackRows(dx.f32, g.f32, y.f32, rows, n, log)
	}
	return dx.OnDeviceOf(g, y)
}

// softmaxBackRows writes, per row, y(g − Σ g·y), or g − e^y·Σ g when log.
func softmaxBackRows[T float](dx, g, y []T, rows, n int, log bool) {
	cpu.Parallel(rows, max(1, grain/max(n, 1)/8), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			gr, yr, dr := g[r*n:(r+1)*n], y[r*n:(r+1)*n], dx[r*n:(r+1)*n]
			var s float64
			if log {
				for _, v := range gr {
					s += float64(v)
				}
				for i, v := range gr {
					dr[i] = T(float64(v) - math.Exp(float64(yr[i]))*s)
				}
				continue
			}
			for i, v := range gr {
				s += float64(v) * float64(yr[i])
			}
			for i, v := range gr {
				dr[i] = T(float64(yr[i]) * (float64(v) - s))
			}
		}
	})
}

// softmaxDevice runs a softmax or its backward on the device of a resident
// operand (backend.DeviceSoftmaxer); nil leaves it to the CPU.
func softmaxDevice(op string, log, back bool, a, b *Tensor, rows, n int) (*Tensor, error) {
	d, ok := resident(a, b).(backend.DeviceSoftmaxer)
	if !ok || a.dtype != Float32 {
		return nil, nil
	}
	return onDevice(op, a.shape, []*Tensor{a, b}, func(in []backend.DeviceBuffer, out backend.DeviceBuffer) error {
		if back {
			return d.SoftmaxBackwardDevice32(log, in[0], in[1], rows, n, out)
		}
		return d.SoftmaxDevice32(log, in[0], rows, n, out)
	})
}

// CumsumReverse returns the reverse inclusive cumulative sum along axis:
// y[…, j, …] = Σ_{i ≥ j} x[…, i, …], the adjoint of Cumsum (float64
// accumulation, each partial sum rounded once).
func CumsumReverse(x *Tensor, axis int) *Tensor {
	const op = "tensor.CumsumReverse"
	ax := axisOf(op, axis, x.shape)
	outer, n, inner := split(x.shape, ax)
	if y, err := reduceDevice(op, redCumsumRev, x, outer, n, inner, x.shape); y != nil {
		return y
	} else {
		hostFallback(op, err, x)
	}
	y := like(op, x, x.shape)
	if x.dtype == Float64 {
		cumsumRevInto(y.f64, x.f64, outer, n, inner)
	} else {
		cumsumRevInto(y.f32, x.f32, outer, n, inner)
	}
	return y.OnDeviceOf(x)
}

// cumsumRevInto views x as (outer, n, inner) and writes the running sums
// from the end of the middle axis into y, accumulating in float64.
func cumsumRevInto[T float](y, x []T, outer, n, inner int) {
	acc := make([]float64, inner)
	for o := 0; o < outer; o++ {
		clear(acc)
		for j := n - 1; j >= 0; j-- {
			base := (o*n + j) * inner
			src, dst := x[base:base+inner], y[base:base+inner]
			for i, v := range src {
				acc[i] += float64(v)
				dst[i] = T(acc[i])
			}
		}
	}
}

// RMSNorm normalises x (..., n) over its last axis and scales by w (n), or
// by 1 when w is nil: y = x·r ⊙ w with r = 1/√(mean(x²) + eps) per row. It
// returns y and r (..., ), which RMSNormBackward takes.
func RMSNorm(x, w *Tensor, eps float64) (y, r *Tensor) {
	const op = "tensor.RMSNorm"
	rows, n := rowsOf(op, "x", x)
	if w != nil {
		CheckDType(op, "x", x, "w", w)
		CheckShape(op, "w", w.shape, "(the last axis of x "+ShapeString(x.shape)+")", x.shape[len(x.shape)-1])
	}
	rshape := x.Shape()[:len(x.shape)-1]
	if out, err := onDeviceN(op, [][]int{x.shape, rshape}, []*Tensor{x, w}, func(d backend.DeviceNormer, in, out []backend.DeviceBuffer) error {
		return d.RMSNormDevice32(in[0], in[1], rows, n, eps, out[0], out[1])
	}); out != nil {
		return out[0], out[1]
	} else {
		hostFallback(op, err, x, w)
	}
	y, r = like(op, x, x.shape), like(op, x, rshape)
	if x.dtype == Float64 {
		rmsFwd(y.f64, r.f64, x.f64, f64s(w), rows, n, eps)
	} else {
		rmsFwd(y.f32, r.f32, x.f32, f32s(w), rows, n, eps)
	}
	return y.OnDeviceOf(x, w), r.OnDeviceOf(x, w)
}

// f64s is t's float64 data, nil for a nil t.
func f64s(t *Tensor) []float64 {
	if t == nil {
		return nil
	}
	return t.f64
}

// f32s is t's float32 host data, nil for a nil t.
func f32s(t *Tensor) []float32 {
	if t == nil {
		return nil
	}
	return t.f32
}

// rmsFwd writes y = x·r ⊙ w (w nil: 1) and r = 1/√(mean(x²)+eps) per row.
func rmsFwd[T float](y, r, x, w []T, rows, n int, eps float64) {
	cpu.Parallel(rows, max(1, grain/max(n, 1)/4), func(lo, hi int) {
		for row := lo; row < hi; row++ {
			xr, yr := x[row*n:(row+1)*n], y[row*n:(row+1)*n]
			var ss float64
			for _, v := range xr {
				ss += float64(v) * float64(v)
			}
			rr := 1 / math.Sqrt(ss/float64(n)+eps)
			r[row] = T(rr)
			if w == nil {
				for i, v := range xr {
					yr[i] = T(float64(v) * rr)
				}
				continue
			}
			for i, v := range xr {
				yr[i] = T(float64(v) * rr * float64(w[i]))
			}
		}
	})
}

// RMSNormBackward returns the gradients of RMSNorm for the output gradient
// g, from x, w (or nil) and the r that RMSNorm returned. With x̂ = x·r and
// ĝ = g ⊙ w: dx = r·(ĝ − x̂·mean(ĝ ⊙ x̂)) per row, dw = Σ_rows g ⊙ x̂ (nil
// when w is nil).
func RMSNormBackward(g, x, w, r *Tensor) (dx, dw *Tensor) {
	const op = "tensor.RMSNormBackward"
	rows, n := rowsOf(op, "x", x)
	CheckDType(op, "x", x, "g", g)
	CheckDType(op, "x", x, "r", r)
	CheckShape(op, "g", g.shape, "(same as x)", x.shape...)
	CheckShape(op, "r", r.shape, "(one per row of x "+ShapeString(x.shape)+")", x.shape[:len(x.shape)-1]...)
	shapes := [][]int{x.shape}
	if w != nil {
		CheckDType(op, "x", x, "w", w)
		CheckShape(op, "w", w.shape, "(the last axis of x "+ShapeString(x.shape)+")", x.shape[len(x.shape)-1])
		shapes = append(shapes, w.shape)
	}
	if out, err := onDeviceN(op, shapes, []*Tensor{g, x, w, r}, func(d backend.DeviceNormer, in, out []backend.DeviceBuffer) error {
		var dwb backend.DeviceBuffer
		if len(out) > 1 {
			dwb = out[1]
		}
		return d.RMSNormBackwardDevice32(in[0], in[1], in[2], in[3], rows, n, out[0], dwb)
	}); out != nil {
		if w != nil {
			dw = out[1]
		}
		return out[0], dw
	} else {
		hostFallback(op, err, g, x, w, r)
	}
	dx = like(op, x, x.shape)
	if w != nil {
		dw = like(op, x, w.shape)
	}
	if x.dtype == Float64 {
		rmsBwd(dx.f64, f64s(dw), g.f64, x.f64, f64s(w), r.f64, rows, n)
	} else {
		rmsBwd(dx.f32, f32s(dw), g.f32, x.f32, f32s(w), r.f32, rows, n)
	}
	return dx.OnDeviceOf(g, x, w, r), dw.OnDeviceOf(g, x, w, r)
}

// rmsBwd writes dx = r(ĝ − x̂·mean(ĝ ⊙ x̂)) per row and, when dw is not
// nil, dw = Σ_rows g ⊙ x̂ (per-worker float64 sums, added in order).
func rmsBwd[T float](dx, dw, g, x, w, r []T, rows, n int) {
	var parts [][]float64 // Σ_rows g ⊙ x̂, one per worker
	var mu sync.Mutex
	cpu.Parallel(rows, max(1, grain/max(n, 1)/4), func(lo, hi int) {
		var a []float64
		if dw != nil {
			a = make([]float64, n)
		}
		for row := lo; row < hi; row++ {
			xr, gr, dr := x[row*n:(row+1)*n], g[row*n:(row+1)*n], dx[row*n:(row+1)*n]
			rr := float64(r[row])
			var dot float64 // Σ ĝ ⊙ x̂
			for i, v := range xr {
				gh := float64(gr[i])
				if w != nil {
					gh *= float64(w[i])
				}
				xh := float64(v) * rr
				dot += gh * xh
				if a != nil {
					a[i] += float64(gr[i]) * xh
				}
			}
			dot /= float64(n)
			for i, v := range xr {
				gh := float64(gr[i])
				if w != nil {
					gh *= float64(w[i])
				}
				dr[i] = T(rr * (gh - float64(v)*rr*dot))
			}
		}
		if a != nil {
			mu.Lock()
			parts = append(parts, a)
			mu.Unlock()
		}
	})
	if dw == nil {
		return
	}
	acc := make([]float64, n)
	for _, p := range parts {
		for i, v := range p {
			acc[i] += v
		}
	}
	for i, v := range acc {
		dw[i] = T(v)
	}
}

// onDeviceN is onDevice for an operation of a backend.DeviceNormer with
// several results (one per shape).
func onDeviceN(op string, shapes [][]int, ts []*Tensor, run func(d backend.DeviceNormer, in, out []backend.DeviceBuffer) error) ([]*Tensor, error) {
	d, ok := resident(ts...).(backend.DeviceNormer)
	if !ok || ts[0].dtype != Float32 {
		return nil, nil
	}
	return onDeviceMulti(op, shapes, ts, func(in, out []backend.DeviceBuffer) error { return run(d, in, out) })
}

// onDeviceMulti runs an operation with len(shapes) results on the device of
// the resident operands among ts, as onDevice does for one result.
func onDeviceMulti(op string, shapes [][]int, ts []*Tensor, run func(in, out []backend.DeviceBuffer) error) ([]*Tensor, error) {
	p := planDevice(op, ts...)
	if p == nil {
		return nil, nil
	}
	defer p.done()
	ys := make([]*Tensor, len(shapes))
	bufs := make([]backend.DeviceBuffer, len(shapes))
	drop := func() {
		for _, y := range ys {
			if y != nil {
				y.drop()
			}
		}
	}
	for i, s := range shapes {
		y, err := p.alloc(s)
		if err != nil {
			drop()
			deviceError(op, err)
		}
		ys[i], bufs[i] = y, y.dev.buf
	}
	if err := run(p.bufs, bufs); err != nil {
		drop()
		if errors.Is(err, backend.ErrOutOfMemory) {
			deviceError(op, err)
		}
		return nil, err
	}
	return ys, nil
}

// Rotary rotates consecutive pairs of the last axis of x (..., L, d), d
// even, by the angles whose cosines and sines are cos, sin (L, d/2): for
// position t and pair i,
//
//	(x_{2i}, x_{2i+1}) → (x_{2i}·c − x_{2i+1}·s, x_{2i}·s + x_{2i+1}·c),  c = cos[t, i], s = sin[t, i].
//
// Its adjoint (the backward pass) is Rotary with −sin.
func Rotary(x, cos, sin *Tensor) *Tensor {
	const op = "tensor.Rotary"
	r := len(x.shape)
	if r < 2 || x.shape[r-1]%2 != 0 {
		ShapeMismatch(op, "x", x.shape, []int{-1, -1}, "(want (..., L, d) with d even)")
	}
	L, d := x.shape[r-2], x.shape[r-1]
	CheckDType(op, "x", x, "cos", cos)
	CheckDType(op, "x", x, "sin", sin)
	CheckShape(op, "cos", cos.shape, "(want (L, d/2) for x "+ShapeString(x.shape)+")", L, d/2)
	CheckShape(op, "sin", sin.shape, "(want (L, d/2) for x "+ShapeString(x.shape)+")", L, d/2)
	if dev, ok := resident(x, cos, sin).(backend.DeviceRotator); ok && x.dtype == Float32 {
		if y, err := onDevice(op, x.shape, []*Tensor{x, cos, sin}, func(in []backend.DeviceBuffer, out backend.DeviceBuffer) error {
			return dev.RotaryDevice32(in[0], x.Len()/max(L*d, 1), L, d, in[1], in[2], out)
		}); y != nil {
			return y
		} else {
			hostFallback(op, err, x, cos, sin)
		}
	}
	hostFallback(op, nil, x, cos, sin)
	y := like(op, x, x.shape)
	if x.dtype == Float64 {
		rotaryInto(y.f64, x.f64, cos.f64, sin.f64, L, d)
	} else {
		rotaryInto(y.f32, x.f32, cos.f32, sin.f32, L, d)
	}
	return y.OnDeviceOf(x, cos, sin)
}

// rotaryInto rotates the pairs of each row of x (…, L, d) by the angles of
// its position t = row mod L.
func rotaryInto[T float](y, x, cos, sin []T, L, d int) {
	if d == 0 {
		return
	}
	rows := len(x) / d
	h := d / 2
	cpu.Parallel(rows, max(1, grain/d), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			t := r % L
			c, s := cos[t*h:(t+1)*h], sin[t*h:(t+1)*h]
			xr, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
			for i := 0; i < h; i++ {
				x1, x2 := xr[2*i], xr[2*i+1]
				yr[2*i], yr[2*i+1] = x1*c[i]-x2*s[i], x1*s[i]+x2*c[i]
			}
		}
	})
}

// UnaryGradNames lists the functions UnaryGrad knows, with the operands
// each reads (x the input, y = f(x) the output):
//
//	"neg" −g; "scale" s·g; "square" 2x·g; "abs" sign(x)·g; "relu" g where x > 0;
//	"exp" y·g; "log" g/x; "sqrt" g/(2y); "softplus" σ(x)·g;
//	"sigmoid" y(1−y)·g; "logsigmoid" σ(−x)·g; "silu" σ(x)(1 + x(1 − σ(x)))·g,
//	with σ(x) = y/x from the output (1/2 at x = 0).
var UnaryGradNames = []string{"neg", "scale", "square", "abs", "relu", "exp", "log", "sqrt", "softplus", "sigmoid", "logsigmoid", "silu"}

// UnaryGrad returns g·f'(x) for the elementwise function f named op (see
// UnaryGradNames) in one pass: the backward of the unary functions. x is
// the input and y = f(x) the output; an operand the function does not read
// may be nil. s is the parameter of "scale" (ignored by the others).
func UnaryGrad(op string, g, x, y *Tensor, s float64) *Tensor {
	const name = "tensor.UnaryGrad"
	k := slices.Index(UnaryGradNames, op)
	if k < 0 {
		Errorf(name, "op", "%q is not one of %v", op, UnaryGradNames)
	}
	needX := op != "neg" && op != "scale" && op != "exp" && op != "sqrt" && op != "sigmoid"
	needY := op == "exp" || op == "sqrt" || op == "sigmoid" || op == "silu"
	for _, a := range []struct {
		t    *Tensor
		name string
		need bool
	}{{x, "x", needX}, {y, "y", needY}} {
		if !a.need {
			continue
		}
		if a.t == nil {
			Errorf(name, a.name, "is nil; %q reads it", op)
		}
		CheckDType(name, "g", g, a.name, a.t)
		CheckShape(name, a.name, a.t.shape, "(same as g)", g.shape...)
	}
	if !needX {
		x = nil
	}
	if !needY {
		y = nil
	}
	if d, ok := resident(g, x, y).(backend.DeviceGrader); ok && g.dtype == Float32 {
		if dx, err := onDevice(name, g.shape, []*Tensor{g, x, y}, func(in []backend.DeviceBuffer, out backend.DeviceBuffer) error {
			return d.UnaryGradDevice32(op, s, in[0], in[1], in[2], out)
		}); dx != nil {
			return dx
		} else {
			hostFallback(name, err, g, x, y)
		}
	}
	hostFallback(name, nil, g, x, y)
	dx := like(name, g, g.shape)
	if g.dtype == Float64 {
		cpu.Parallel(len(dx.f64), grain, func(lo, hi int) {
			unaryGradLoop(k, s, dx.f64[lo:hi], g.f64[lo:hi], sub(f64s(x), lo, hi), sub(f64s(y), lo, hi))
		})
	} else {
		cpu.Parallel(len(dx.f32), grain, func(lo, hi int) {
			unaryGradLoop(k, s, dx.f32[lo:hi], g.f32[lo:hi], sub(f32s(x), lo, hi), sub(f32s(y), lo, hi))
		})
	}
	return dx.OnDeviceOf(g, x, y)
}

// sub is x[lo:hi], nil for a nil x.
func sub[T float](x []T, lo, hi int) []T {
	if x == nil {
		return nil
	}
	return x[lo:hi]
}

// sigm is σ(v) = 1/(1 + e⁻ᵛ).
func sigm(v float64) float64 { return 1 / (1 + math.Exp(-v)) }

// unaryGradLoop writes dx_i = g_i·f'(x_i, y_i) for UnaryGradNames[k].
func unaryGradLoop[T float](k int, s float64, dx, g, x, y []T) {
	switch UnaryGradNames[k] {
	case "neg":
		for i, v := range g {
			dx[i] = -v
		}
	case "scale":
		c := T(s)
		for i, v := range g {
			dx[i] = c * v
		}
	case "square":
		for i, v := range g {
			dx[i] = 2 * x[i] * v
		}
	case "abs":
		for i, v := range g {
			switch {
			case x[i] > 0:
				dx[i] = v
			case x[i] < 0:
				dx[i] = -v
			}
		}
	case "relu":
		for i, v := range g {
			if x[i] > 0 {
				dx[i] = v
			}
		}
	case "exp":
		for i, v := range g {
			dx[i] = v * y[i]
		}
	case "log":
		for i, v := range g {
			dx[i] = v / x[i]
		}
	case "sqrt":
		for i, v := range g {
			dx[i] = T(float64(v) * 0.5 / float64(y[i]))
		}
	case "softplus":
		for i, v := range g {
			dx[i] = T(float64(v) * sigm(float64(x[i])))
		}
	case "sigmoid":
		for i, v := range g {
			yy := float64(y[i])
			dx[i] = T(float64(v) * yy * (1 - yy))
		}
	case "logsigmoid":
		for i, v := range g {
			dx[i] = T(float64(v) * sigm(-float64(x[i])))
		}
	case "silu":
		for i, v := range g {
			xx := float64(x[i])
			sg := 0.5
			if xx != 0 {
				sg = float64(y[i]) / xx
			}
			dx[i] = T(float64(v) * sg * (1 + xx*(1-sg)))
		}
	}
}

// SumTo sums g down to shape, the adjoint of broadcasting shape to g's
// shape (the gradient of a broadcast operand): shape must broadcast to
// g.Shape(). It returns g itself when the shapes are equal.
func SumTo(g *Tensor, shape ...int) *Tensor {
	const op = "tensor.SumTo"
	if slices.Equal(g.shape, shape) {
		return g
	}
	r := len(g.shape)
	if len(shape) > r {
		ShapeMismatch(op, "shape", shape, g.shape, "(must broadcast to g's shape)")
	}
	full := make([]int, r) // shape aligned on the right, 1s in front
	for i := range full {
		full[i] = 1
	}
	copy(full[r-len(shape):], shape)
	for i, s := range full {
		if s != g.shape[i] && s != 1 {
			ShapeMismatch(op, "shape", shape, g.shape, "(must broadcast to g's shape)")
		}
	}
	// Merge runs of axes that are all reduced or all kept, then reduce the
	// reduced runs from the last to the first.
	var dims []int
	var red []bool
	for i, s := range g.shape {
		reduced := full[i] == 1 && s != 1
		if s == 1 {
			continue // size-1 axes neither reduce nor matter
		}
		if len(dims) > 0 && red[len(red)-1] == reduced {
			dims[len(dims)-1] *= s
			continue
		}
		dims = append(dims, s)
		red = append(red, reduced)
	}
	x := g.Reshape(append(append([]int{}, dims...), 1)...) // trailing 1 keeps rank ≥ 1
	for i := len(dims) - 1; i >= 0; i-- {
		if red[i] {
			x = reduce(op, redSum, x, i, true)
		}
	}
	return x.Reshape(shape...)
}

// BroadcastTo returns x broadcast to shape (a copy): the adjoint of SumTo.
// x's shape must broadcast to shape, as for Add.
func BroadcastTo(x *Tensor, shape ...int) *Tensor {
	const op = "tensor.BroadcastTo"
	if out := BroadcastShape(op, shape, x.shape); !slices.Equal(out, shape) {
		ShapeMismatch(op, "x", x.shape, shape, "(must broadcast to shape)")
	}
	st := bstrides(x.shape, shape)
	if y, err := gatherDevice(op, x, 0, shape, st); y != nil {
		return y
	} else {
		hostFallback(op, err, x)
	}
	// y = x + 0 through binary.go's broadcasting walk (one copy of it).
	y, zero := like(op, x, shape), []int{1}
	if x.dtype == Float64 {
		binaryInto(opAdd, y.f64, x.f64, []float64{0}, x.shape, zero, shape)
	} else {
		binaryInto(opAdd, y.f32, x.f32, []float32{0}, x.shape, zero, shape)
	}
	return y.OnDeviceOf(x)
}

// Axpy adds alpha·x to y in place (y += alpha·x), both of one shape and
// dtype: gradient accumulation and plain gradient descent. A resident y is
// updated on its device (backend.DeviceOptimizer; a host x is uploaded for
// the call); without a device implementation Axpy writes y's host copy,
// which the next device operation uploads.
func Axpy(alpha float64, x, y *Tensor) {
	const op = "tensor.Axpy"
	CheckDType(op, "y", y, "x", x)
	CheckShape(op, "x", x.shape, "(same as y)", y.shape...)
	if d, ok := resident(y).(backend.DeviceOptimizer); ok && y.dtype == Float32 {
		p := planDevice(op, x, y)
		err := d.AxpyDevice32(alpha, p.bufs[0], p.bufs[1])
		p.done()
		if err == nil {
			deviceWrote(y)
			return
		}
		if errors.Is(err, backend.ErrOutOfMemory) {
			deviceError(op, err)
		}
		hostFallback(op, err, x, y)
	}
	hostFallback(op, nil, x, y)
	if y.dtype == Float64 {
		yd, xd := y.f64, x.f64
		cpu.Parallel(len(yd), grain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				yd[i] += alpha * xd[i]
			}
		})
		return
	}
	yd, xd, a := y.hostWrite(), x.f32, float32(alpha)
	cpu.Parallel(len(yd), grain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			yd[i] += a * xd[i]
		}
	})
}
