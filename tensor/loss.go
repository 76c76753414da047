package tensor

import (
	"math"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/backend/cpu"
)

// CrossEntropy returns the mean over rows of −logp[row, target[row]] for
// logp (..., n) a log-softmax (LogSoftmax of the logits), one target class
// per row. Rows whose target equals ignore are skipped and the mean is over
// the rest; with none left the loss is 0. A target other than ignore must
// be in [0, n).
func CrossEntropy(logp *Tensor, targets []int, ignore int) float64 {
	const op = "tensor.CrossEntropy"
	rows, n, count := ceCheck(op, logp, targets, ignore)
	if d, ok := resident(logp).(backend.DeviceLosser); ok {
		p := planDevice(op, logp)
		loss, err := d.CrossEntropyDevice32(p.bufs[0], rows, n, targets, ignore)
		p.done()
		if err == nil {
			return loss
		}
		hostFallback(op, err, logp)
	}
	hostFallback(op, nil, logp)
	var loss float64
	for r, t := range targets {
		if t != ignore {
			loss -= logp.flat(r*n + t)
		}
	}
	if count > 0 {
		loss /= float64(count)
	}
	return loss
}

// CrossEntropyGrad returns the gradient of scale·CrossEntropy(logp,
// targets, ignore) with respect to the logits that logp came from:
// scale·(e^{logp} − onehot(target))/count on the counted rows, 0 on the
// ignored ones.
func CrossEntropyGrad(logp *Tensor, targets []int, ignore int, scale float64) *Tensor {
	const op = "tensor.CrossEntropyGrad"
	rows, n, count := ceCheck(op, logp, targets, ignore)
	c := scale / float64(max(count, 1))
	if d, ok := resident(logp).(backend.DeviceLosser); ok {
		if y, err := onDevice(op, logp.shape, []*Tensor{logp}, func(in []backend.DeviceBuffer, out backend.DeviceBuffer) error {
			return d.CrossEntropyGradDevice32(in[0], rows, n, targets, ignore, c, out)
		}); y != nil {
			return y
		} else {
			hostFallback(op, err, logp)
		}
	}
	hostFallback(op, nil, logp)
	y := like(op, logp, logp.shape)
	if logp.dtype == Float64 {
		ceGrad(y.f64, logp.f64, n, targets, ignore, c)
	} else {
		ceGrad(y.f32, logp.f32, n, targets, ignore, c)
	}
	return y.OnDeviceOf(logp)
}

// ceCheck checks logp and targets and returns the rows, the classes n and
// the number of counted (not ignored) rows.
func ceCheck(op string, logp *Tensor, targets []int, ignore int) (rows, n, count int) {
	rows, n = rowsOf(op, "logp", logp)
	if len(targets) != rows {
		Errorf(op, "targets", "has %d entries, logp %s has %d rows", len(targets), ShapeString(logp.shape), rows)
	}
	for i, t := range targets {
		if t == ignore {
			continue
		}
		if t < 0 || t >= n {
			Errorf(op, "targets", "targets[%d] = %d is out of range for %d classes (ignore index %d)", i, t, n, ignore)
		}
		count++
	}
	return rows, n, count
}

// ceGrad writes c·(e^{logp} − onehot(target)) on counted rows of y.
func ceGrad[T float](y, logp []T, n int, targets []int, ignore int, c float64) {
	cpu.Parallel(len(targets), max(1, grain/max(n, 1)/8), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			t := targets[r]
			if t == ignore {
				continue
			}
			lr, yr := logp[r*n:(r+1)*n], y[r*n:(r+1)*n]
			for i, v := range lr {
				yr[i] = T(c * math.Exp(float64(v)))
			}
			yr[t] = T(c*math.Exp(float64(lr[t])) - c)
		}
	})
}

// AdamW applies one AdamW step (decoupled weight decay, PyTorch's
// torch.optim.AdamW) to the parameter p in place, with its gradient g and
// the moments m, v (updated in place; same shape as p, dtype p's or
// Float64). For step t ≥ 1 and each element:
//
//	p ← p − lr·wd·p,  m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,
//	p ← p − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + eps)
//
// computed in float64 and rounded once into p.
func AdamW(p, g, m, v *Tensor, lr, beta1, beta2, eps, wd float64, t int) {
	const op = "tensor.AdamW"
	CheckDType(op, "p", p, "g", g)
	CheckShape(op, "g", g.shape, "(same as p)", p.shape...)
	CheckShape(op, "m", m.shape, "(same as p)", p.shape...)
	CheckShape(op, "v", v.shape, "(same as p)", p.shape...)
	if m.dtype != v.dtype || (m.dtype != p.dtype && m.dtype != Float64) {
		Errorf(op, "m", "m is %s and v %s; want both %s or both Float64", m.dtype, v.dtype, p.dtype)
	}
	if t < 1 {
		Errorf(op, "t", "is %d, want the step number ≥ 1", t)
	}
	bc1, bc2 := 1-math.Pow(beta1, float64(t)), 1-math.Pow(beta2, float64(t))
	if d, ok := resident(p, g, m, v).(backend.DeviceOptimizer); ok && p.dtype == Float32 && m.dtype == Float32 {
		pl := planDevice(op, p, g, m, v)
		err := error(nil)
		if resident(p) != nil && resident(m) != nil && resident(v) != nil {
			err = d.AdamWDevice32(pl.bufs[0], pl.bufs[1], pl.bufs[2], pl.bufs[3], p.Len(), lr, beta1, beta2, eps, wd, bc1, bc2)
		} else {
			err = backend.ErrNotImplemented // in-place updates need p, m, v resident
		}
		pl.done()
		if err == nil {
			deviceWrote(p, m, v)
			return
		}
		hostFallback(op, err, p, g, m, v)
	}
	hostFallback(op, nil, p, g, m, v)
	a := adamArgs{lr, beta1, beta2, eps, wd, bc1, bc2}
	switch {
	case p.dtype == Float64:
		adamStep(p.f64, g.f64, m.f64, v.f64, a)
	case m.dtype == Float64:
		adamStep(p.hostWrite(), g.f32, m.f64, v.f64, a)
	default:
		adamStep(p.hostWrite(), g.f32, m.hostWrite(), v.hostWrite(), a)
	}
}

// adamArgs are one AdamW step's hyper-parameters and bias corrections.
type adamArgs struct{ lr, b1, b2, eps, wd, bc1, bc2 float64 }

// adamStep updates p, m, v in place (float64 arithmetic, rounded once).
func adamStep[P, M float](p, g []P, m, v []M, a adamArgs) {
	cpu.Parallel(len(p), grain/4, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			x, gj := float64(p[j]), float64(g[j])
			x -= a.lr * a.wd * x
			mj := a.b1*float64(m[j]) + (1-a.b1)*gj
			vj := a.b2*float64(v[j]) + (1-a.b2)*gj*gj
			m[j], v[j] = M(mj), M(vj)
			p[j] = P(x - a.lr*(mj/a.bc1)/(math.Sqrt(vj/a.bc2)+a.eps))
		}
	})
}
