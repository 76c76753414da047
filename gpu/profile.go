package gpu

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"
)

// A profile says where a device's time goes, dispatch by dispatch: for each
// program (shader and defines) how many dispatches ran, the GPU time they
// took (GL timer queries, GL_TIME_ELAPSED, read back when the profile
// stops) and the host time the GL thread spent issuing them (binding,
// uniforms, glDispatchCompute, the barrier and the error check): the per-op
// overhead. Profiling adds two queries per dispatch and is meant for
// measurement (`furious bench --train --profile`), not for production.

// ProfileRow is one program's share of a profile.
type ProfileRow struct {
	Program string        // shader name and defines
	Calls   int           // dispatches
	GPU     time.Duration // summed GL_TIME_ELAPSED of its dispatches
	Host    time.Duration // summed GL-thread time issuing them
}

// Profile is a device's profile between StartProfile and StopProfile, the
// rows by decreasing GPU time.
type Profile struct {
	Rows []ProfileRow
	Wall time.Duration // from StartProfile to StopProfile
}

// profiler collects pending timer queries; used on the GL thread only.
type profiler struct {
	start   time.Time
	pending []profiled
	rows    map[string]*ProfileRow
}

// profiled is one dispatch whose timer query is not read yet.
type profiled struct {
	row   *ProfileRow
	query uint32
}

// StartProfile starts recording every dispatch of d (after what is queued).
func (d *Device) StartProfile() {
	d.do(func() { d.prof = &profiler{start: time.Now(), rows: map[string]*ProfileRow{}} })
}

// StopProfile waits for the GPU, reads the timer queries and returns the
// profile since StartProfile (an empty one when none was started).
func (d *Device) StopProfile() Profile {
	var out Profile
	d.do(func() {
		p := d.prof
		d.prof = nil
		if p == nil {
			return
		}
		d.drv.finish()
		out.Wall = time.Since(p.start)
		for _, q := range p.pending {
			q.row.GPU += time.Duration(d.drv.timerResult(q.query))
		}
		for _, r := range p.rows {
			out.Rows = append(out.Rows, *r)
		}
	})
	sort.Slice(out.Rows, func(i, j int) bool { return out.Rows[i].GPU > out.Rows[j].GPU })
	return out
}

// profiledDispatch is dispatch with a timer query around it and the host
// time counted into the running profile's row key; on the GL thread, with
// a profile on (d.prof != nil).
func (d *Device) profiledDispatch(key string, c *call) error {
	p := d.prof
	r := p.rows[key]
	if r == nil {
		r = &ProfileRow{Program: key}
		p.rows[key] = r
	}
	d.drv.finish() // the GPU idle: the query times this dispatch alone, not the end of the one before
	t0 := time.Now()
	q := d.drv.timerBegin()
	err := d.drv.dispatch(c)
	d.drv.timerEnd()
	r.Host += time.Since(t0)
	r.Calls++
	p.pending = append(p.pending, profiled{r, q})
	return err
}

// Totals returns the dispatches, GPU time and host time of all rows.
func (p Profile) Totals() (calls int, gpu, host time.Duration) {
	for _, r := range p.Rows {
		calls += r.Calls
		gpu += r.GPU
		host += r.Host
	}
	return
}

// Write prints the profile's totals and its first top rows (all when top ≤ 0)
// as a table, times per call in µs.
func (p Profile) Write(w io.Writer, top int) {
	calls, g, h := p.Totals()
	fmt.Fprintf(w, "profile (serialised): %d dispatches in %.2f ms wall; GPU time %.2f ms; GL-thread issue time %.2f ms (%.1f µs per dispatch)\n",
		calls, ms(p.Wall), ms(g), ms(h), us(h)/float64(max(calls, 1)))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "calls\tGPU ms\tGPU µs/call\thost µs/call\tprogram\t")
	for i, r := range p.Rows {
		if top > 0 && i == top {
			break
		}
		fmt.Fprintf(tw, "%d\t%.3f\t%.1f\t%.1f\t%s\t\n", r.Calls, ms(r.GPU), us(r.GPU)/float64(r.Calls), us(r.Host)/float64(r.Calls), r.Program)
	}
	tw.Flush()
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
func us(d time.Duration) float64 { return float64(d) / 1e3 }
