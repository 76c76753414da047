package gpu

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestGatherTranspose checks Gather's batched transposes (gather.comp
// TRANSPOSE) against the strided copy computed here: partial 32×32 tiles,
// a batch stride wider than the packed one, a base offset, rank 2 and 3;
// and that a gather which is no transpose (a packed result from a view
// whose second-to-last axis is not contiguous) takes the general path.
func TestGatherTranspose(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewPCG(3, 9))
	src := randFloats(r, 40000)
	a := upload(t, d, src)
	defer a.Release()
	for _, c := range []struct {
		base           int
		strides, shape []int
		tiled          bool
	}{
		{7, []int{3000, 1, 40}, []int{3, 37, 70}, true}, // (3, 70, 40) rows of 37 used, batch stride 3000
		{0, []int{1, 33}, []int{33, 65}, true},          // a packed 65×33 transposed
		{5, []int{1, 100}, []int{100, 1}, false},        // one column: no transpose
		{0, []int{40, 2}, []int{30, 20}, false},         // strided rows
	} {
		t.Run(fmt.Sprintf("%v/%v", c.shape, c.strides), func(t *testing.T) {
			n := 1
			for _, s := range c.shape {
				n *= s
			}
			out := poisoned(t, d, n)
			defer out.Release()
			d.StartProfile()
			if err := d.Gather(out, 0, nil, a, c.base, c.strides, c.shape); err != nil {
				t.Fatal(err)
			}
			tiled := false
			for _, row := range d.StopProfile().Rows {
				tiled = tiled || strings.Contains(row.Program, "TRANSPOSE")
			}
			if tiled != c.tiled {
				t.Errorf("TRANSPOSE ran: %v, want %v", tiled, c.tiled)
			}
			got, err := out.Download()
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				rem, at := i, c.base
				for k := len(c.shape) - 1; k >= 0; k-- {
					at += rem % c.shape[k] * c.strides[k]
					rem /= c.shape[k]
				}
				if got[i] != src[at] {
					t.Fatalf("entry %d = %v, want a[%d] = %v", i, got[i], at, src[at])
				}
			}
		})
	}
}
