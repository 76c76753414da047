package gpu

import (
	"testing"
)

// The per-op overhead of a tiny dispatch (exp over 1,024 floats, resident
// to resident): what a training step pays a few hundred times. Each
// benchmark synchronises once at the end (Finish), so ns/op is the cost of
// submitting and running one op, not of a read-back.

// BenchmarkTinyDispatch times Exp into a fixed output buffer: the cost of a
// dispatch alone.
func BenchmarkTinyDispatch(b *testing.B) {
	d := device(b)
	x := upload(b, d, make([]float32, 1024))
	defer x.Release()
	y, err := d.NewBuffer(1024)
	if err != nil {
		b.Fatal(err)
	}
	defer y.Release()
	if err := d.Exp(y, x); err != nil { // compile outside the timing
		b.Fatal(err)
	}
	d.Finish()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := d.Exp(y, x); err != nil {
			b.Fatal(err)
		}
	}
	d.Finish()
}

// BenchmarkTinyOpRelease times what a resident tensor op does: allocate
// the result, dispatch, and release the result when done with it.
func BenchmarkTinyOpRelease(b *testing.B) {
	d := device(b)
	x := upload(b, d, make([]float32, 1024))
	defer x.Release()
	op := func() {
		y, err := d.NewBuffer(1024)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Exp(y, x); err != nil {
			b.Fatal(err)
		}
		y.Release()
	}
	op()
	d.Finish()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op()
	}
	d.Finish()
	b.StopTimer()
	b.ReportMetric(testing.AllocsPerRun(200, op), "goallocs/op")
}

// BenchmarkTinyOpDrop is BenchmarkTinyOpRelease with the results dropped
// unreleased, left to the garbage collector, as intermediate results of an
// autograd step are.
func BenchmarkTinyOpDrop(b *testing.B) {
	d := device(b)
	x := upload(b, d, make([]float32, 1024))
	defer x.Release()
	op := func() {
		y, err := d.NewBuffer(1024)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Exp(y, x); err != nil {
			b.Fatal(err)
		}
	}
	op()
	d.Finish()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op()
	}
	d.Finish()
}
