package display

import (
	"fmt"
	"html"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress is a progress bar that redraws in place: in a notebook through
// update_display_data, on a terminal (the default Publisher) with a carriage
// return on one line.
type Progress struct {
	mu      sync.Mutex
	Total   int
	Label   string
	n       int
	start   time.Time
	last    time.Time
	handle  *Handle
	done    bool
	minStep time.Duration
}

// NewProgress returns a bar for total steps and shows it at 0.
func NewProgress(total int, label string) *Progress {
	p := &Progress{Total: total, Label: label, start: time.Now(), handle: NewHandle(), minStep: 100 * time.Millisecond}
	p.draw(true)
	return p
}

// Add advances the bar by n steps; redraws at most ten times a second and at
// the end.
func (p *Progress) Add(n int) { p.Set(p.Value() + n) }

// Set moves the bar to step n.
func (p *Progress) Set(n int) {
	p.mu.Lock()
	p.n = n
	force := n >= p.Total
	p.mu.Unlock()
	p.draw(force)
}

// Value is the current step.
func (p *Progress) Value() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// Done draws the bar at its final state.
func (p *Progress) Done() { p.draw(true) }

func (p *Progress) draw(force bool) {
	p.mu.Lock()
	now := time.Now()
	if !force && now.Sub(p.last) < p.minStep {
		p.mu.Unlock()
		return
	}
	p.last = now
	st := progressState{n: p.n, total: p.Total, label: p.Label, elapsed: now.Sub(p.start)}
	first := !p.handle.shown
	p.mu.Unlock()

	pb := publisher()
	if tp, ok := pb.(Terminal); ok {
		end := ""
		if st.n >= st.total {
			end = "\n"
		}
		fmt.Fprintf(tp.TerminalWriter(), "\r%s%s", st.text(), end)
		p.handle.shown = true
		return
	}
	d := Data{Data: MIMEMap{MIMEText: st.text(), MIMEHTML: st.html()}}
	if first {
		p.handle.Show(d)
	} else {
		p.handle.Update(d)
	}
}

// Terminal is implemented by Publishers that write to a terminal, where a
// progress bar redraws itself with a carriage return.
type Terminal interface {
	TerminalWriter() io.Writer
}

type progressState struct {
	n, total int
	label    string
	elapsed  time.Duration
}

func (s progressState) frac() float64 {
	if s.total <= 0 {
		return 0
	}
	f := float64(s.n) / float64(s.total)
	return min(max(f, 0), 1)
}

// text is "label [#####.....]  50% 5/10 1.2s".
func (s progressState) text() string {
	const width = 30
	k := int(s.frac() * width)
	return fmt.Sprintf("%s [%s%s] %3.0f%% %d/%d %s", s.label, strings.Repeat("#", k), strings.Repeat(".", width-k),
		100*s.frac(), s.n, s.total, s.elapsed.Round(100*time.Millisecond))
}

func (s progressState) html() string {
	return fmt.Sprintf(`<div><span>%s</span> <progress value="%d" max="%d" style="width:20em"></progress> %.0f%% %d/%d %s</div>`,
		html.EscapeString(s.label), s.n, s.total, 100*s.frac(), s.n, s.total, s.elapsed.Round(100*time.Millisecond))
}
