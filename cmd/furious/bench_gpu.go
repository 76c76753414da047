package main

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/gpu"
	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// gpuInputs holds one shape's inputs on the device.
type gpuInputs struct {
	q, k, v, a, y *gpu.Buffer
	H, L, d       int
}

func uploadInputs(dev *gpu.Device, H, L, d int) (*gpuInputs, error) {
	q, k, v, a := benchInputs(tensor.Float32, H, L, d)
	in := &gpuInputs{H: H, L: L, d: d}
	var err error
	for _, p := range []struct {
		dst **gpu.Buffer
		src *tensor.Tensor
	}{{&in.q, q}, {&in.k, k}, {&in.v, v}, {&in.a, a}} {
		if *p.dst, err = dev.Upload(p.src.Float32s()); err != nil {
			in.release()
			return nil, err
		}
	}
	if in.y, err = dev.NewBuffer(H * L * d); err != nil {
		in.release()
		return nil, err
	}
	return in, nil
}

func (in *gpuInputs) release() {
	for _, b := range []*gpu.Buffer{in.q, in.k, in.v, in.a, in.y} {
		if b != nil {
			b.Release()
		}
	}
}

// runGPU dispatches one case and returns the form it ran ("auto" lets
// gpu's SSD choose by length); the caller calls Finish to wait for it.
func runGPU(dev *gpu.Device, bc benchCase, in *gpuInputs, chunk int) (string, error) {
	p := backend.SSDParams{BH: in.H, L: in.L, D: in.d, DV: in.d, Order: bc.opts.Order, Norm: bc.opts.Norm == ssd.NormSoftmax,
		Scale: float32(1 / math.Sqrt(float64(in.d))), Form: bc.form, Chunk: chunk}
	if bc.form == "blockwise" { // softmax attention under the decay bias
		p.Form, p.Exp, p.Norm = "quadratic", true, true
	}
	form, err := dev.SSD(in.y, in.q, in.k, in.v, in.a, p)
	if bc.form == "auto" {
		return "auto:" + form, err
	}
	return bc.form, err
}

// gpuWarm is how long each row keeps a hardware GPU busy before it is timed:
// an idle H100 lowers its clock, and the first 0.1–0.25 s of calls ran up to
// 4× slower (gpu/BENCH.md, "Erratic 32K").
const gpuWarm = 500 * time.Millisecond

// ownCheckMaxL is the longest row checked at its own length (head 0
// against the float64 quadratic form: about 2.5 s of one CPU core at 8192);
// longer rows carry their case's check at checkL over every head.
const ownCheckMaxL = 8192

// benchGPU times the GPU shaders with glFinish around each call, each row
// checked against the float64 oracle (at its own length up to
// ownCheckMaxL, else at checkL).
func benchGPU(c benchConfig, w io.Writer) ([]benchRow, error) {
	dev, err := gpu.Default()
	if err != nil {
		return nil, fmt.Errorf("bench: no GPU: %w", err)
	}
	fmt.Fprintf(w, "device: %s\n", dev.Describe())
	var rows []benchRow
	for _, bc := range benchCases() {
		check := math.NaN() // the case's check at checkL: only rows past ownCheckMaxL carry it
		for _, L := range c.Ls {
			if (bc.form == "quadratic" || bc.form == "blockwise") && L > c.maxQ {
				continue
			}
			if L > ownCheckMaxL && math.IsNaN(check) {
				if check, err = gpuCheck(dev, bc, c); err != nil {
					return nil, err
				}
			}
			in, err := uploadInputs(dev, c.H, L, c.d)
			if err != nil {
				return nil, err
			}
			r, err := timeGPU(dev, bc, in, c, check)
			in.release()
			if err != nil {
				return nil, err
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// timeGPU times one row after warming the GPU up, then checks the last
// run's output: head 0 against the float64 quadratic form at the row's
// length up to ownCheckMaxL, else the case's check at checkL (check).
func timeGPU(dev *gpu.Device, bc benchCase, in *gpuInputs, c benchConfig, check float64) (benchRow, error) {
	var runErr error
	form := bc.form
	if !dev.Software() {
		// the first call compiles the row's programs (the GPU idle meanwhile)
		if _, runErr = runGPU(dev, bc, in, c.chunk); runErr == nil {
			dev.Finish()
		}
		for start := time.Now(); time.Since(start) < gpuWarm && runErr == nil; {
			_, runErr = runGPU(dev, bc, in, c.chunk)
			dev.Finish()
		}
	}
	ms := medianMS(1, c.reps, func() {
		f, e := runGPU(dev, bc, in, c.chunk)
		if e != nil && runErr == nil {
			runErr = e
		}
		form = f
		dev.Finish()
	})
	if runErr != nil {
		return benchRow{}, runErr
	}
	if in.L <= ownCheckMaxL {
		y, err := in.y.Download()
		if err != nil {
			return benchRow{}, err
		}
		n := in.L * in.d
		check = tensor.MaxRelDiff(tensor.FromFloat32(y[:n], 1, 1, in.L, in.d), oracle(bc, 1, in.L, in.d))
	}
	return benchRow{"gpu", form, bc.label, bc.norm, in.L, ms, gpuFlops(bc, form, c, in.L), check}, nil
}

func gpuCheck(dev *gpu.Device, bc benchCase, c benchConfig) (float64, error) {
	in, err := uploadInputs(dev, c.H, checkL, c.d)
	if err != nil {
		return 0, err
	}
	defer in.release()
	if _, err := runGPU(dev, bc, in, c.chunk); err != nil {
		return 0, err
	}
	y, err := in.y.Download()
	if err != nil {
		return 0, err
	}
	return tensor.MaxRelDiff(tensor.FromFloat32(y, 1, c.H, checkL, c.d), oracle(bc, c.H, checkL, c.d)), nil
}

// gpuFlops counts the model FLOPs of the form that actually ran (auto picks
// the chunk size gpu.SSDChunk for its chunked form).
func gpuFlops(bc benchCase, form string, c benchConfig, L int) float64 {
	switch form {
	case "auto:quadratic":
		bc.form = "quadratic"
	case "auto:chunked":
		bc.form = "chunked"
		return modelFlops(bc, c.H, L, c.d, gpu.SSDChunk(bc.opts.Order))
	}
	return modelFlops(bc, c.H, L, c.d, c.chunk)
}
