package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// refGemm is the float64 oracle: C = alpha·op(A)·op(B) + beta·C0 for packed
// batches, and the scale Σ_k |op(A)_ik·op(B)_kj| + |beta·C0_ij| against
// which rounding is measured.
func refGemm(g Gemm, a, b, c0 []float32) (c, scale []float64) {
	batch := max(g.Batch, 1)
	c = make([]float64, batch*g.M*g.N)
	scale = make([]float64, len(c))
	for z := 0; z < batch; z++ {
		for i := 0; i < g.M; i++ {
			for j := 0; j < g.N; j++ {
				s, sa := 0.0, 0.0
				for k := 0; k < g.K; k++ {
					var x, y float64
					if g.TransA {
						x = float64(a[z*g.K*g.M+k*g.M+i])
					} else {
						x = float64(a[z*g.M*g.K+i*g.K+k])
					}
					if g.TransB {
						y = float64(b[z*g.N*g.K+j*g.K+k])
					} else {
						y = float64(b[z*g.K*g.N+k*g.N+j])
					}
					s += x * y
					sa += math.Abs(x * y)
				}
				o := z*g.M*g.N + i*g.N + j
				c[o] = float64(g.Alpha)*s + float64(g.Beta)*float64(c0[o])
				scale[o] = math.Abs(float64(g.Alpha))*sa + math.Abs(float64(g.Beta)*float64(c0[o]))
			}
		}
	}
	return c, scale
}

func testGemm(t *testing.T, d *Device, r *rand.Rand, g Gemm) {
	t.Helper()
	batch := max(g.Batch, 1)
	a := randFloats(r, batch*g.M*g.K)
	b := randFloats(r, batch*g.K*g.N)
	c0 := randFloats(r, batch*g.M*g.N)
	if g.Causal == CausalA || g.Causal == CausalAT { // A (M = K, stored row-major) lower-triangular
		for i := range a {
			if row, col := i%(g.M*g.K)/g.K, i%g.K; col > row {
				a[i] = 0
			}
		}
	}
	g.A, g.B = upload(t, d, a), upload(t, d, b)
	if g.Beta != 0 {
		g.C = upload(t, d, c0)
	} else {
		g.C = poisoned(t, d, batch*g.M*g.N)
	}
	defer g.A.Release()
	defer g.B.Release()
	defer g.C.Release()
	if err := d.Gemm(g); err != nil {
		t.Fatal(err)
	}
	want, scale := refGemm(g, a, b, c0)
	got := download(t, g.C)
	if g.Causal == CausalOut { // above the diagonal C is not written: not compared
		for i := range want {
			if row, col := i%(g.M*g.N)/g.N, i%g.N; col > row {
				got[i], want[i], scale[i] = 0, 0, 1
			}
		}
	}
	name := fmt.Sprintf("batch=%d M=%d N=%d K=%d tA=%v tB=%v α=%v β=%v causal=%d", batch, g.M, g.N, g.K, g.TransA, g.TransB, g.Alpha, g.Beta, g.Causal)
	// float32 rounding grows like √K·2⁻²⁴ of Σ|a·b|; 1e-4 holds to K ≈ 10⁵.
	compare(t, name, got, want, scale, 1e-4)
}

func TestMatMul(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewPCG(3, 4))
	sizes := [][3]int{{1, 1, 1}, {1, 7, 1}, {5, 1, 3}, {3, 5, 7}, {33, 17, 9}, {65, 129, 31}, {130, 67, 140}, {129, 132, 64}}
	for _, s := range sizes {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			testGemm(t, d, r, Gemm{M: s[0], N: s[1], K: s[2], Alpha: 1, TransA: tr[0], TransB: tr[1]})
		}
	}
	// Whole tiles (EXACT), one and two slices deep.
	testGemm(t, d, r, Gemm{M: 128, N: 128, K: 16, Alpha: 1})
	testGemm(t, d, r, Gemm{M: 256, N: 128, K: 32, Alpha: 1, TransA: true})
	// Batched, with α and β, at sizes whose rows allow 16-byte loads.
	testGemm(t, d, r, Gemm{M: 36, N: 20, K: 12, Batch: 3, Alpha: 0.5, Beta: -2})
	testGemm(t, d, r, Gemm{M: 9, N: 8, K: 5, Batch: 2, Alpha: 1, TransB: true})
	testGemm(t, d, r, Gemm{M: 8, N: 12, K: 4, Batch: 2, Alpha: 1, TransA: true, TransB: true})
}

func TestMatMulPublic(t *testing.T) {
	d := device(t)
	a := upload(t, d, []float32{1, 2, 3, 4, 5, 6}) // (2,3)
	b := upload(t, d, []float32{1, 0, 0, 1, 1, 1}) // (3,2)
	c := poisoned(t, d, 4)
	if err := d.MatMul(a, b, c, 1, 2, 3, 2, false, false); err != nil {
		t.Fatal(err)
	}
	compare(t, "MatMul 2×3·3×2", download(t, c), []float64{4, 5, 10, 11}, nil, 0)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("MatMul with a too-short C did not panic")
			}
		}()
		_ = d.MatMul(a, b, a, 1, 2, 3, 3, false, false)
	}()
}

// BenchmarkSGEMM times the SGEMM shader at n×n×n (n from -sgemm.n, 4096 on
// a real GPU, 256 on a software renderer), C = A·B and C = A·Bᵀ, and
// reports TFLOP/s: the median over runs, each between glFinish calls,
// after a warm-up. Each timed product is then sampled against float64
// dot products. With FURIOUS_GL_DUMP=dir it writes the driver's binaries
// into dir.
func BenchmarkSGEMM(b *testing.B) {
	d := device(b)
	n := *sgemmN
	if n == 0 {
		n = 4096
		if d.Software() {
			n = 256
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	a, bb := randFloats(r, n*n), randFloats(r, n*n)
	A, B := upload(b, d, a), upload(b, d, bb)
	C := poisoned(b, d, n*n)
	defer A.Release()
	defer B.Release()
	defer C.Release()
	for _, tB := range []bool{false, true} {
		name := fmt.Sprintf("n=%d", n)
		if tB {
			name += "/tB"
		}
		b.Run(name, func(b *testing.B) {
			g := Gemm{M: n, N: n, K: n, Alpha: 1, A: A, B: B, C: C, TransB: tB}
			timeMedian(b, d, 2*float64(n)*float64(n)*float64(n), func() error { return d.Gemm(g) })
			checkSample(b, r, C, a, bb, n, tB)
		})
	}
	dumpPrograms(b, d)
}

func median(x []float64) float64 {
	y := append([]float64(nil), x...)
	for i := 1; i < len(y); i++ {
		for j := i; j > 0 && y[j] < y[j-1]; j-- {
			y[j], y[j-1] = y[j-1], y[j]
		}
	}
	return y[len(y)/2]
}

// checkSample compares 64 random entries of the n×n product C = A·B (A·Bᵀ
// with tB) with float64 dot products, so a timed kernel is also a correct
// one: within 1e-4 of Σ|a·b|.
func checkSample(b *testing.B, r *rand.Rand, C *Buffer, a, bb []float32, n int, tB bool) {
	got := download(b, C)
	want := make([]float64, 64)
	scale := make([]float64, 64)
	out := make([]float32, 64)
	for s := range want {
		i, j := r.IntN(n), r.IntN(n)
		for k := 0; k < n; k++ {
			y := bb[k*n+j]
			if tB {
				y = bb[j*n+k]
			}
			p := float64(a[i*n+k]) * float64(y)
			want[s] += p
			scale[s] += math.Abs(p)
		}
		out[s] = got[i*n+j]
	}
	compare(b, fmt.Sprintf("%d² sample", n), out, want, scale, 1e-4)
}

// sgemmCandidates are the smaller tilings BenchmarkGemmTiles times against
// the production one for products with few 128×128 tiles.
var sgemmCandidates = map[string]sgemmTile{
	"64x64-t8x4": {64, 64, 8, 8, 4, 8},  // 128 threads, 32 outputs each
	"64x64-t4x4": {64, 64, 16, 4, 4, 8}, // 256 threads, 16 outputs each
	"32x32-t4x4": {32, 32, 8, 4, 4, 8},  // 64 threads, 16 outputs each
}

// TestMatMulTiles runs TestMatMul's shapes, transposes and batches under
// each candidate tiling of BenchmarkGemmTiles, against the float64 oracle.
func TestMatMulTiles(t *testing.T) {
	d := device(t)
	defer func() { sgemmTiling = nil }()
	def := sgemmTile{sgemmBM, sgemmBN, sgemmBK, sgemmTM, sgemmTN, sgemmWTX}
	if !def.valid(true) || !def.valid(false) || (sgemmTile{32, 64, 16, 4, 4, 16}).valid(false) {
		t.Fatal("sgemmTile.valid: the production tiling must be valid, 32×64 with 8 loads a thread not")
	}
	for name, tl := range sgemmCandidates {
		tl := tl
		sgemmTiling = &tl
		r := rand.New(rand.NewPCG(7, 8))
		for _, s := range [][3]int{{1, 7, 1}, {33, 17, 9}, {65, 129, 31}, {130, 67, 140}, {64, 128, 344}} {
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				testGemm(t, d, r, Gemm{M: s[0], N: s[1], K: s[2], Alpha: 1, TransA: tr[0], TransB: tr[1]})
			}
		}
		testGemm(t, d, r, Gemm{M: 64, N: 64, K: 32, Alpha: 1}) // whole tiles (EXACT)
		testGemm(t, d, r, Gemm{M: 36, N: 20, K: 16, Batch: 3, Alpha: 0.5, Beta: -2})
		if t.Failed() {
			t.Fatalf("tiling %s %+v", name, tl)
		}
	}
}

// TestMatMulCausal runs the Causal modes under every tiling of
// sgemmLadder, at sizes that are and are not tile multiples (and, for the
// tilings that take them, rows that do not allow 16-byte loads), batched, with
// each transpose of B: CausalOut against the lower triangle of the full
// product, CausalA and CausalAT with a lower-triangular A against the full
// product (what attngemm.go's S = Q·Kᵀ, P·V and Pᵀ·dO are).
func TestMatMulCausal(t *testing.T) {
	d := device(t)
	defer func() { sgemmTiling = nil }()
	r := rand.New(rand.NewPCG(11, 12))
	for _, tl := range sgemmLadder {
		tl := tl
		sgemmTiling = &tl
		Ls := []int{37, 128, 200}
		if !tl.valid(false) { // a tiling for 16-byte loads only: sizes that allow them
			Ls = Ls[1:]
		}
		for _, L := range Ls {
			for _, tB := range []bool{false, true} {
				testGemm(t, d, r, Gemm{M: L, N: L, K: 24, Batch: 2, Alpha: 0.5, TransB: tB, Causal: CausalOut})
				testGemm(t, d, r, Gemm{M: L, N: 20, K: L, Batch: 2, Alpha: 1, TransB: tB, Causal: CausalA})
				testGemm(t, d, r, Gemm{M: L, N: 32, K: L, Batch: 2, Alpha: 1, TransA: true, TransB: tB, Causal: CausalAT})
			}
		}
		if t.Failed() {
			t.Fatalf("tiling %+v", tl)
		}
	}
	sgemmTiling = nil
	for _, s := range []struct{ m, n, batch int }{{1024, 128, 1}, {8192, 512, 1}, {512, 1536, 1}, {128, 344, 8}} {
		tl := chooseTile(s.m, s.n, s.batch, true)
		if g := ceilDiv(s.m, tl.BM) * ceilDiv(s.n, tl.BN) * s.batch; tl != sgemmLadder[len(sgemmLadder)-1] && g < sgemmGroups {
			t.Errorf("chooseTile(%d, %d, %d) = %+v: %d groups", s.m, s.n, s.batch, tl, g)
		}
	}
}

// TestMatMulAKM checks both ways A's slices reach shared memory with
// 16-byte loads (matmul.comp's AKM, as stored, and transposed) under each
// tiling of sgemmLadder, against the float64 oracle.
func TestMatMulAKM(t *testing.T) {
	d := device(t)
	defer func() { sgemmTiling = nil }()
	r := rand.New(rand.NewPCG(13, 14))
	seen := map[bool]bool{}
	for _, tl := range sgemmLadder {
		tl := tl
		sgemmTiling = &tl
		for _, k := range []int{64, 256} {
			for _, tB := range []bool{false, true} {
				g := Gemm{M: 132, N: 136, K: k, Batch: 2, Alpha: 1, TransB: tB}
				seen[useAKM(tl, g)] = true
				testGemm(t, d, r, g)
			}
		}
	}
	if !seen[true] || !seen[false] {
		t.Errorf("the shapes took AKM %v only", seen)
	}
}

// BenchmarkGemmTiles times the products of the small training model (2
// layers, d_model 128, batch 4 × L 256: 1024 rows; SwiGLU width 344) that
// its profile shows at 100–330 µs a call on the H100 (8 tiles of 128×128
// on 132 SMs), under chooseTile's tiling ("auto"), the 128×128 one and
// each of sgemmCandidates, in
// TFLOP/s and ms/median of 20 products queued back to back (as in a
// training step; one glFinish at the end). On a software renderer one
// shape only.
func BenchmarkGemmTiles(b *testing.B) {
	d := device(b)
	defer func() { sgemmTiling = nil }()
	shapes := []struct {
		m, n, k        int
		transA, transB bool
	}{{1024, 128, 344, false, true}, {1024, 344, 128, false, false}, {1024, 128, 128, false, true}, {128, 344, 1024, true, false}, {1024, 384, 128, false, false}}
	if d.Software() {
		shapes = shapes[:1]
	}
	tilings := map[string]*sgemmTile{"auto": nil, "128x128-t8x8": &sgemmLadder[0]}
	for name, tl := range sgemmCandidates {
		tl := tl
		tilings[name] = &tl
	}
	r := rand.New(rand.NewPCG(9, 10))
	for _, s := range shapes {
		a, bb := randFloats(r, s.m*s.k), randFloats(r, s.k*s.n)
		A, B, C := upload(b, d, a), upload(b, d, bb), poisoned(b, d, s.m*s.n)
		for name, tl := range tilings {
			b.Run(fmt.Sprintf("M=%d,N=%d,K=%d,tA=%v,tB=%v/%s", s.m, s.n, s.k, s.transA, s.transB, name), func(b *testing.B) {
				sgemmTiling = tl
				g := Gemm{M: s.m, N: s.n, K: s.k, Alpha: 1, A: A, B: B, C: C, TransA: s.transA, TransB: s.transB}
				const reps = 20 // back to back between finishes, as in a training step
				timeMedian(b, d, reps*2*float64(s.m*s.n*s.k), func() error {
					for range reps {
						if err := d.Gemm(g); err != nil {
							return err
						}
					}
					return nil
				})
			})
		}
		for _, x := range []*Buffer{A, B, C} {
			x.Release()
		}
	}
}

// TestMatMulKChunk checks Gemm.kChunk under every tiling of sgemmLadder
// that takes 16-byte loads: a CausalA product (lower-triangular A, L = 300,
// chunks of 128: three, the last partial; batched, B as stored and
// transposed) whose partial products, summed per row over the chunks c
// with c·128 ≤ i (as attngemm.comp's YSUM), equal the whole product
// against the float64 oracle; and the rows' sums of A over each chunk
// (Gemm.rowSum, matmul.comp RSUM) equal the float64 sums.
func TestMatMulKChunk(t *testing.T) {
	d := device(t)
	defer func() { sgemmTiling = nil }()
	r := rand.New(rand.NewPCG(17, 18))
	const L, N, batch, kc = 300, 20, 2, 128
	nc := ceilDiv(L, kc)
	for _, tl := range sgemmLadder {
		tl := tl
		sgemmTiling = &tl
		for _, tB := range []bool{false, true} {
			g := Gemm{M: L, N: N, K: L, Batch: batch, Alpha: 1, TransB: tB, Causal: CausalA, kChunk: kc}
			a, b := randFloats(r, batch*L*L), randFloats(r, batch*L*N)
			for i := range a {
				if row, col := i%(L*L)/L, i%L; col > row {
					a[i] = 0
				}
			}
			g.A, g.B, g.C = upload(t, d, a), upload(t, d, b), poisoned(t, d, nc*batch*L*N)
			g.rowSum = poisoned(t, d, nc*batch*L)
			if err := d.Gemm(g); err != nil {
				t.Fatal(err)
			}
			zs := download(t, g.rowSum)
			for z := 0; z < batch; z++ {
				for i := 0; i < L; i++ {
					for c := 0; c*kc <= i; c++ {
						want, abs := 0.0, 0.0
						for k := c * kc; k < min(L, (c+1)*kc); k++ {
							want += float64(a[(z*L+i)*L+k])
							abs += math.Abs(float64(a[(z*L+i)*L+k]))
						}
						if got := float64(zs[(c*batch+z)*L+i]); !(math.Abs(got-want) <= 1e-5*abs) {
							t.Fatalf("tiling %+v: row sum of entry %d, row %d, chunk %d: %g, want %g", tl, z, i, c, got, want)
						}
					}
				}
			}
			g.rowSum.Release()
			part := download(t, g.C)
			got := make([]float32, batch*L*N)
			for e := range got {
				i := e / N % L
				for c := 0; c*kc <= i; c++ {
					got[e] += part[c*batch*L*N+e]
				}
			}
			want, scale := refGemm(g, a, b, make([]float32, batch*L*N))
			compare(t, fmt.Sprintf("tiling %+v tB=%v", tl, tB), got, want, scale, 1e-4)
			for _, x := range []*Buffer{g.A, g.B, g.C} {
				x.Release()
			}
		}
	}
}

// TestMatMulRowScale checks Gemm.ascale (matmul.comp ASCALE): A's entry
// (m, k) of batch entry z multiplied by sc[(z·M + m)·lt + k/w] as it is
// loaded, with and without 16-byte loads, B as stored and transposed,
// against the float64 oracle of the scaled product, and the rows' sums of
// the scaled A (Gemm.rowSum) against float64 sums; Gemm refuses row sums
// of a transposed A.
func TestMatMulRowScale(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewPCG(19, 20))
	for _, s := range [][3]int{{100, 24, 200}, {37, 13, 130}} {
		for _, tB := range []bool{false, true} {
			const batch, w = 2, 64
			m, n, k := s[0], s[1], s[2]
			lt := ceilDiv(k, w)
			a, b, sc := randFloats(r, batch*m*k), randFloats(r, batch*k*n), randFloats(r, batch*m*lt)
			scaled := make([]float32, len(a))
			for e := range a {
				z, row, col := e/(m*k), e%(m*k)/k, e%k
				scaled[e] = a[e] * sc[(z*m+row)*lt+col/w]
			}
			g := Gemm{M: m, N: n, K: k, Batch: batch, Alpha: 1, TransB: tB}
			g.A, g.B, g.C = upload(t, d, a), upload(t, d, b), poisoned(t, d, batch*m*n)
			S := upload(t, d, sc)
			g.ascale = &rowScale{sc: S, lt: lt, w: w}
			g.rowSum = poisoned(t, d, batch*m)
			if err := d.Gemm(g); err != nil {
				t.Fatal(err)
			}
			zs := download(t, g.rowSum)
			for row := 0; row < batch*m; row++ {
				want, abs := 0.0, 0.0
				for _, x := range scaled[row*k : (row+1)*k] {
					want += float64(x)
					abs += math.Abs(float64(x))
				}
				if got := float64(zs[row]); !(math.Abs(got-want) <= 1e-5*abs) {
					t.Fatalf("M=%d K=%d: row sum of row %d: %g, want %g", m, k, row, got, want)
				}
			}
			func() {
				defer func() {
					if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "row sums") {
						t.Errorf("Gemm with row sums of Aᵀ: recovered %v, want a row-sums panic", r)
					}
				}()
				h := g
				h.TransA, h.ascale = true, nil
				_ = d.Gemm(h)
			}()
			g.rowSum.Release()
			short := upload(t, d, sc[:len(sc)-1])
			for _, bad := range []*rowScale{{sc: short, lt: lt, w: w}, {sc: S, lt: lt - 1, w: w}, {sc: S, lt: lt, w: 6}} {
				func() { // a table too short for the rows, or blocks that split a slice, are refused
					defer func() {
						if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "row scale") {
							t.Errorf("Gemm with row scale %+v: recovered %v, want a row-scale panic", *bad, r)
						}
					}()
					h := g
					h.ascale = bad
					_ = d.Gemm(h)
				}()
			}
			short.Release()
			want, scale := refGemm(g, scaled, b, make([]float32, batch*m*n))
			compare(t, fmt.Sprintf("M=%d N=%d K=%d tB=%v", m, n, k, tB), download(t, g.C), want, scale, 1e-4)
			for _, x := range []*Buffer{g.A, g.B, g.C, S} {
				x.Release()
			}
		}
	}
}

// TestMatMulTileFallback checks Gemm.tile: a tiling that gives a thread
// more than four loads of a slice without 16-byte loads (128×128, 16 deep:
// eight) is passed over for chooseTile's where the product cannot take
// 16-byte loads (K = 37), and one whose slices need more shared memory
// than any device has (128×128, 32 deep: 64 KiB) is passed over where it
// could take them (K = 64); both products are right.
func TestMatMulTileFallback(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewPCG(23, 24))
	for _, c := range []struct {
		tl   sgemmTile
		k    int
		vec4 bool
	}{{sgemmTile{128, 128, 16, 8, 8, 8}, 37, false}, {sgemmTile{128, 128, 32, 8, 8, 8}, 64, true}} {
		if !c.tl.valid(true) || c.tl.valid(false) && !c.vec4 {
			t.Fatalf("tiling %+v: valid without 16-byte loads %v, with %v", c.tl, c.tl.valid(false), c.tl.valid(true))
		}
		const m, n = 70, 52
		a, b := randFloats(r, m*c.k), randFloats(r, c.k*n)
		g := Gemm{M: m, N: n, K: c.k, Alpha: 1, A: upload(t, d, a), B: upload(t, d, b), C: poisoned(t, d, m*n), tile: &c.tl}
		if c.vec4 && g.sharedBytes(c.tl, true) <= d.info.MaxSharedBytes {
			t.Fatalf("tiling %+v: %d bytes of shared memory fit the device's %d", c.tl, g.sharedBytes(c.tl, true), d.info.MaxSharedBytes)
		}
		if err := d.Gemm(g); err != nil {
			t.Fatal(err)
		}
		want, scale := refGemm(g, a, b, make([]float32, m*n))
		compare(t, fmt.Sprintf("fallback from %+v", c.tl), download(t, g.C), want, scale, 1e-4)
		for _, x := range []*Buffer{g.A, g.B, g.C} {
			x.Release()
		}
	}
}

// TestMatMulSharedBytes checks Gemm.sharedBytes against the compiler:
// each product, its tiling forced, builds where sharedBytes fits the
// device's shared memory and is refused where it does not. The cases lie
// about llvmpipe's 32 KiB: 128×128 tiles 16 deep with A as stored (32,768
// bytes) and transposed (33,280); the scores' exp epilogue with a decay 8
// deep (27,648) and 16 deep (44,032, the H100's); y's product with row
// sums (26,624).
func TestMatMulSharedBytes(t *testing.T) {
	d := device(t)
	defer func() { sgemmTiling = nil }()
	const L = 256
	r := rand.New(rand.NewPCG(25, 26))
	q, k := upload(t, d, randFloats(r, L*64)), upload(t, d, randFloats(r, L*64))
	S, stats, z := poisoned(t, d, L*L), poisoned(t, d, 2*L*2), poisoned(t, d, L)
	cum := upload(t, d, make([]float32, 2*L))
	defer func() {
		for _, x := range []*Buffer{q, k, S, stats, z, cum} {
			x.Release()
		}
	}()
	deep, shallow := sgemmTile{128, 128, 16, 8, 8, 8}, sgemmLadder[0]
	for _, c := range []struct {
		name  string
		tl    sgemmTile
		g     Gemm
		bytes int
	}{
		{"A as stored", deep, Gemm{M: L, N: L, K: 64, Alpha: 1, A: q, B: k, C: S}, 32768},
		{"A transposed", deep, Gemm{M: L, N: L, K: 64, Alpha: 1, TransB: true, A: q, B: k, C: S}, 33280},
		{"exp epilogue, 8 deep", shallow, Gemm{M: L, N: L, K: 64, Alpha: 1, A: q, B: k, C: S, Causal: CausalOut, epi: &scoreEpi{exp: true, cum: cum, stats: stats}}, 27648},
		{"exp epilogue, 16 deep", deep, Gemm{M: L, N: L, K: 64, Alpha: 1, A: q, B: k, C: S, Causal: CausalOut, epi: &scoreEpi{exp: true, cum: cum, stats: stats}}, 44032},
		{"row sums", sgemmLadder[1], Gemm{M: L, N: 64, K: L, Alpha: 1, A: S, B: k, C: q, Causal: CausalA, rowSum: z}, 26624},
	} {
		if got := c.g.sharedBytes(c.tl, true); got != c.bytes {
			t.Errorf("%s: sharedBytes %d, want %d", c.name, got, c.bytes)
		}
		sgemmTiling = &c.tl
		err := d.Gemm(c.g)
		if fits := c.bytes <= d.info.MaxSharedBytes; fits != (err == nil) {
			t.Errorf("%s: %d bytes against the device's %d, yet Gemm returned %v", c.name, c.bytes, d.info.MaxSharedBytes, err)
		}
	}
}
