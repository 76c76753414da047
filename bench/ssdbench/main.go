// Command ssdbench times the Go side of bench/compare.py: the chunked SSD
// forms of package ssd at B = 1, H = 4, d = 64, float32 (the shapes of
// bench/torch_ssd.py), the order-2 decoding step, the machine's SGEMM rate,
// and the GEMM-shaped part of the chunked algorithm on its own. It prints one
// JSON object per measurement (median of -reps runs).
//
//	go run ./bench/ssdbench -reps 5
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

const B, H, d = 1, 4, 64

var chunk = ssd.DefaultChunk

type result struct {
	Impl    string  `json:"impl"`
	Name    string  `json:"name"`
	L       int     `json:"L"`
	Seconds float64 `json:"seconds"`
	GFLOPS  float64 `json:"gflops,omitempty"`
}

// warmUp is how long median calls fn before timing it: a fresh process's
// first calls of ssd.Chunked at L = 2048 took 4-5 ms against 1.4-1.8 ms
// from about the twentieth on (the Go heap growing to its steady size; 2
// cores, 2026-12-06), and a median of 5 after one warm-up call timed that
// start. bench/torch_ssd.py warms up the same way.
const warmUp = 250 * time.Millisecond

// median returns the median seconds of reps calls of fn, after calling it
// for warmUp (at least once).
func median(reps int, fn func()) float64 {
	for t0 := time.Now(); ; {
		fn()
		if time.Since(t0) >= warmUp {
			break
		}
	}
	ts := make([]float64, reps)
	for i := range ts {
		t0 := time.Now()
		fn()
		ts[i] = time.Since(t0).Seconds()
	}
	sort.Float64s(ts)
	return ts[reps/2]
}

func emitJSON(r result) {
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}

// chunkedFlops counts the multiply-adds ×2 of the chunked algorithm's GEMMs:
// per token 2·chunk·(d + W) (diagonal block) + 4·D·W (entering state, state update).
func chunkedFlops(L, D, W int) float64 {
	return float64(B*H*L) * float64(2*chunk*(d+W)+4*D*W)
}

// gemmPart runs only the GEMMs of the chunked algorithm (same shapes, same
// parallelism over heads), to compare their rate with plain SGEMM.
func gemmPart(L, D, W int) func() {
	Q := chunk
	type bufs struct{ q, k, v, g, fq, fk, s, y []float32 }
	hb := make([]bufs, H)
	for h := range hb {
		hb[h] = bufs{make([]float32, L*d), make([]float32, L*d), make([]float32, L*W), make([]float32, Q*Q),
			make([]float32, Q*D), make([]float32, Q*D), make([]float32, D*W), make([]float32, L*W)}
	}
	gen := func(r, c int, data []float32) blas32.General {
		return blas32.General{Rows: r, Cols: c, Stride: c, Data: data}
	}
	return func() {
		done := make(chan bool, H)
		sem := make(chan bool, 2)
		for h := 0; h < H; h++ {
			go func(b bufs) {
				sem <- true
				for c0 := 0; c0 < L; c0 += Q {
					qc, kc := gen(Q, d, b.q[c0*d:(c0+Q)*d]), gen(Q, d, b.k[c0*d:(c0+Q)*d])
					vc, yc := gen(Q, W, b.v[c0*W:(c0+Q)*W]), gen(Q, W, b.y[c0*W:(c0+Q)*W])
					if D == d { // order 1 as ssd's chunkFused1: K̃ᵀ stored (d×Q), every operand as stored
						kt := gen(d, Q, b.fk[:d*Q])
						blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, qc, kt, 0, gen(Q, Q, b.g))
						blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, gen(Q, Q, b.g), vc, 0, yc)
						blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, gen(Q, D, b.fq), gen(D, W, b.s), 1, yc)
						blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, kt, vc, 1, gen(D, W, b.s))
						continue
					}
					blas32.Gemm(blas.NoTrans, blas.Trans, 1, qc, kc, 0, gen(Q, Q, b.g))
					blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, gen(Q, Q, b.g), vc, 0, yc)
					blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, gen(Q, D, b.fq), gen(D, W, b.s), 1, yc)
					blas32.Gemm(blas.Trans, blas.NoTrans, 1, gen(Q, D, b.fk), vc, 1, gen(D, W, b.s))
				}
				<-sem
				done <- true
			}(hb[h])
		}
		for h := 0; h < H; h++ {
			<-done
		}
	}
}

func main() {
	reps := flag.Int("reps", 5, "timed runs per measurement (median)")
	flag.IntVar(&chunk, "chunk", chunk, "chunk length of the chunked form")
	only := flag.String("only", "", "run only the measurements whose name starts with this")
	flag.Parse()
	emit := func(r result) {
		if strings.HasPrefix(r.Name, *only) {
			emitJSON(r)
		}
	}
	skip := func(name string) bool { return !strings.HasPrefix(name, *only) && !strings.HasPrefix(*only, name) }
	for _, c := range []struct {
		name  string
		order int
		norm  ssd.Norm
		L     int
	}{
		{"chunked_order1", 1, ssd.NormNone, 2048}, {"chunked_order1", 1, ssd.NormNone, 8192},
		{"chunked_order2_softmax", 2, ssd.NormSoftmax, 2048}, {"chunked_order2_softmax", 2, ssd.NormSoftmax, 8192},
	} {
		if skip(c.name) {
			continue
		}
		q, k, v := tensor.NewRNG(1).Randn(B, H, c.L, d), tensor.NewRNG(2).Randn(B, H, c.L, d), tensor.NewRNG(3).Randn(B, H, c.L, d)
		a := ssd.LogDecaySoftplus(tensor.NewRNG(4).Randn(B, H, c.L))
		o := ssd.Options{Order: c.order, Norm: c.norm}
		t := median(*reps, func() { ssd.Chunked(q, k, v, a, o, chunk, nil) })
		D, W := ssd.FeatureDim(d, c.order), d
		if c.norm == ssd.NormSoftmax {
			W++
		}
		emit(result{"go", c.name, c.L, t, chunkedFlops(c.L, D, W) / t / 1e9})
		if c.L == 2048 {
			tg := median(*reps, gemmPart(c.L, D, W))
			emit(result{"go", c.name + "_gemm_part", c.L, tg, chunkedFlops(c.L, D, W) / tg / 1e9})
		}
	}
	for _, c := range []struct {
		name  string
		order int
		norm  ssd.Norm
	}{{"recurrent_order1", 1, ssd.NormNone}, {"recurrent_order2_softmax", 2, ssd.NormSoftmax}} {
		for _, L := range []int{2048, 8192} {
			if skip(c.name) {
				continue
			}
			q, k, v := tensor.NewRNG(1).Randn(B, H, L, d), tensor.NewRNG(2).Randn(B, H, L, d), tensor.NewRNG(3).Randn(B, H, L, d)
			a := ssd.LogDecaySoftplus(tensor.NewRNG(4).Randn(B, H, L))
			o := ssd.Options{Order: c.order, Norm: c.norm}
			r := *reps
			if c.order == 2 {
				r = 1
			}
			t := median(r, func() { ssd.Recurrent(q, k, v, a, o, nil) })
			emit(result{"go", c.name, L, t, 0})
		}
	}
	if !skip("quadratic_order1") {
		q, k, v := tensor.NewRNG(1).Randn(B, H, 2048, d), tensor.NewRNG(2).Randn(B, H, 2048, d), tensor.NewRNG(3).Randn(B, H, 2048, d)
		a := ssd.LogDecaySoftplus(tensor.NewRNG(4).Randn(B, H, 2048))
		t := median(*reps, func() { ssd.Quadratic(q, k, v, a, ssd.Options{Order: 1}) })
		emit(result{"go", "quadratic_order1", 2048, t, 0})
	}
	if !skip("step_order2_softmax") {
		s := ssd.NewState(tensor.Float32, B, H, d, d, ssd.TwoMamba.Options())
		q, k, v := tensor.NewRNG(1).Randn(B, H, d), tensor.NewRNG(2).Randn(B, H, d), tensor.NewRNG(3).Randn(B, H, d)
		a := tensor.Full(-0.01, B, H)
		t := median(*reps, func() {
			for i := 0; i < 100; i++ {
				s.Step(q, k, v, a)
			}
		}) / 100
		emit(result{"go", "step_order2_softmax", 1, t, 0})
	}
	if !skip("sgemm1024") {
		// The machine's SGEMM rate: one call (threaded when the BLAS is), and
		// two goroutines on half the rows each (how package ssd uses the cores
		// with a single-threaded BLAS); compare.py takes the larger.
		const n = 1024
		x, y, z := tensor.NewRNG(1).Randn(n, n).Float32s(), tensor.NewRNG(2).Randn(n, n).Float32s(), make([]float32, n*n)
		g := func(r int, dd []float32) blas32.General { return blas32.General{Rows: r, Cols: n, Stride: n, Data: dd} }
		t := median(*reps, func() { blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, g(n, x), g(n, y), 0, g(n, z)) })
		emit(result{"go", "sgemm1024", 0, t, 2 * n * n * n / t / 1e9})
		t = median(*reps, func() {
			var wg sync.WaitGroup
			for h := 0; h < 2; h++ {
				wg.Add(1)
				go func(h int) {
					defer wg.Done()
					blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, g(n/2, x[h*n*n/2:]), g(n, y), 0, g(n/2, z[h*n*n/2:]))
				}(h)
			}
			wg.Wait()
		})
		emit(result{"go", "sgemm1024_2goroutines", 0, t, 2 * n * n * n / t / 1e9})
	}
	os.Stdout.Sync()
}
