package nn

import (
	"github.com/furious-lab/furious/tensor"
)

// RMSNorm normalises x over its last dim D and scales by w:
// y = x / √(mean(x²) + eps) ⊙ w, x (..., D), w (D) or nil (no weight).
// Backward (tensor.RMSNormBackward) with r = 1/√(mean(x²)+eps), x̂ = x·r,
// ĝ = g ⊙ w: dx = r·(ĝ − x̂·mean(ĝ ⊙ x̂)), dw = Σ_rows g ⊙ x̂.
func RMSNorm(x, w *Var, eps float64) *Var {
	xs := x.Value.Shape()
	D := xs[len(xs)-1]
	var wt *tensor.Tensor
	if w != nil {
		tensor.CheckShape("nn.RMSNorm", "w", w.Value.Shape(), "(the last dim of x "+tensor.ShapeString(xs)+")", D)
		wt = w.Value
	}
	y, r := tensor.RMSNorm(x.Value, wt, eps)
	return NewOp(y, []*Var{x, w}, func(g *tensor.Tensor) []*tensor.Tensor {
		gx, gw := tensor.RMSNormBackward(g, x.Value, wt, r)
		if w == nil || !w.requiresGrad {
			gw = nil
		}
		return []*tensor.Tensor{gx, gw}
	})
}

// Softmax over the last dim: y_i = e^{x_i − max} / Σ_j e^{x_j − max}.
// Backward: dx = y ⊙ (g − Σ_j g_j y_j).
func Softmax(x *Var) *Var {
	y := tensor.Softmax(x.Value)
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.SoftmaxBackward(g, y)}
	})
}

// LogSoftmax over the last dim: y_i = x_i − log Σ_j e^{x_j}.
// Backward: dx = g − softmax(x)·Σ_j g_j.
func LogSoftmax(x *Var) *Var {
	y := tensor.LogSoftmax(x.Value)
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.LogSoftmaxBackward(g, y)}
	})
}

// CrossEntropy returns the mean over tokens of −log softmax(logits)[target]:
// logits (..., V), targets one class per row (len = rows). Rows whose target
// equals ignore are skipped (pass a negative ignore, e.g. −100, to skip
// nothing but negative targets). The mean is over the counted rows; with
// none counted the loss is 0. Backward: (softmax − onehot)/count per row
// (tensor.CrossEntropyGrad).
func CrossEntropy(logits *Var, targets []int, ignore int) *Var {
	ls := logits.Value.Shape()
	V := ls[len(ls)-1]
	rows := logits.Value.Len() / max(V, 1)
	if len(targets) != rows {
		tensor.Errorf("nn.CrossEntropy", "targets", "has %d entries, logits %s have %d rows", len(targets), tensor.ShapeString(ls), rows)
	}
	for _, t := range targets {
		if t != ignore && (t < 0 || t >= V) {
			tensor.Errorf("nn.CrossEntropy", "targets", "class %d out of range for %d logits (ignore index %d)", t, V, ignore)
		}
	}
	lsm := tensor.LogSoftmax(logits.Value)
	out := tensor.New(logits.Value.DType()).Fill(tensor.CrossEntropy(lsm, targets, ignore))
	return NewOp(out, []*Var{logits}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.CrossEntropyGrad(lsm, targets, ignore, g.Data()[0])}
	})
}
