package gpu

import (
	"strings"
	"testing"
)

// TestProfile checks that a profile counts each dispatch under its program,
// with GPU and host time, and that dispatches outside it are not counted.
func TestProfile(t *testing.T) {
	d := device(t)
	x := upload(t, d, make([]float32, 4096))
	defer x.Release()
	y, err := d.NewBuffer(4096)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Release()
	if err := d.Exp(y, x); err != nil { // before the profile: not counted
		t.Fatal(err)
	}
	d.StartProfile()
	for i := 0; i < 5; i++ {
		if err := d.Exp(y, x); err != nil {
			t.Fatal(err)
		}
	}
	p := d.StopProfile()
	calls, gpu, host := p.Totals()
	if calls != 5 || len(p.Rows) != 1 || gpu <= 0 || host <= 0 { // llvmpipe times its dispatches too
		t.Fatalf("profile of 5 Exp dispatches: %d calls, rows %+v, GPU %v, host %v", calls, p.Rows, gpu, host)
	}
	var b strings.Builder
	p.Write(&b, 0)
	if !strings.Contains(b.String(), "5 dispatches") || !strings.Contains(b.String(), p.Rows[0].Program) {
		t.Errorf("profile table:\n%s", b.String())
	}
	t.Logf("%s(GPU %d ns)", b.String(), gpu)
	if q := d.StopProfile(); len(q.Rows) != 0 {
		t.Errorf("a second StopProfile returned rows %+v", q.Rows)
	}
}
