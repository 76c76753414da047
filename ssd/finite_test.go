package ssd

import (
	"math"
	"testing"
)

// TestAllFinite checks allFinite's bit test against math.IsInf and
// math.IsNaN for NaN, ±Inf and extreme finite values (largest, smallest
// normal, subnormal, ±0) at every position of slices of length 0 to 11,
// float32 from both alignments of the pairs it reads, and float64.
func TestAllFinite(t *testing.T) {
	bad := []float64{math.NaN(), math.Inf(1), math.Inf(-1)}
	good := []float64{0, math.Copysign(0, -1), 1, -2.5, math.MaxFloat32, -math.MaxFloat32, 1.1754944e-38, 1e-45, -1e-45}
	for n := 0; n <= 11; n++ {
		for pos := -1; pos < n; pos++ { // -1: no bad value
			for _, b := range bad {
				for _, g := range good {
					x64 := make([]float64, n)
					x32 := make([]float32, n+1) // x32[1:] shifts the pairs by one element
					for i := range x64 {
						x64[i] = g * float64(i+1) / float64(n+1)
						if g == math.MaxFloat32 || g == -math.MaxFloat32 {
							x64[i] = g
						}
						x32[i+1] = float32(x64[i])
					}
					if pos >= 0 {
						x64[pos], x32[pos+1] = b, float32(b)
					}
					want := pos < 0
					if got := allFinite(x64); got != want {
						t.Fatalf("float64 n=%d bad %v at %d, else %v: allFinite %v", n, b, pos, g, got)
					}
					if got := allFinite(x32[1:]); got != want {
						t.Fatalf("float32 n=%d bad %v at %d, else %v: allFinite %v", n, b, pos, g, got)
					}
					if pos < 0 || pos+1 < n+1 {
						y := append([]float32{}, x32[1:]...) // a fresh, 8-byte aligned slice
						if got := allFinite(y); got != want {
							t.Fatalf("float32 (aligned) n=%d bad %v at %d, else %v: allFinite %v", n, b, pos, g, got)
						}
					}
				}
			}
		}
	}
	if !allFinite([]float64{math.MaxFloat64, -math.MaxFloat64, 5e-324}) {
		t.Fatal("float64 extremes reported not finite")
	}
}
