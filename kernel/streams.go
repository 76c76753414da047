package kernel

import (
	"context"
	"sync"
	"time"
)

// streams buffers what cells print and sends it as iopub stream messages:
// every 20 ms while a cell runs, and at once before any other output, so
// stdout, stderr and displays arrive in the order they were produced.
type streams struct {
	k    *Kernel
	mu   sync.Mutex // guards segs
	send sync.Mutex // one flush at a time, keeps order
	segs []segment
}

type segment struct {
	name   string // stdout or stderr
	parent *Message
	text   []byte
}

func newStreams(k *Kernel) *streams { return &streams{k: k} }

type streamWriter struct {
	s    *streams
	name string
}

func (s *streams) writer(name string) *streamWriter { return &streamWriter{s, name} }

func (w *streamWriter) Write(p []byte) (int, error) {
	parent := w.s.k.parent()
	w.s.mu.Lock()
	n := len(w.s.segs)
	if n > 0 && w.s.segs[n-1].name == w.name && w.s.segs[n-1].parent == parent {
		w.s.segs[n-1].text = append(w.s.segs[n-1].text, p...)
	} else {
		w.s.segs = append(w.s.segs, segment{w.name, parent, append([]byte(nil), p...)})
	}
	w.s.mu.Unlock()
	return len(p), nil
}

func (s *streams) flush() {
	s.send.Lock()
	defer s.send.Unlock()
	s.mu.Lock()
	segs := s.segs
	s.segs = nil
	s.mu.Unlock()
	for _, sg := range segs {
		s.k.publish(sg.parent, "stream", map[string]any{"name": sg.name, "text": string(sg.text)})
	}
}

func (s *streams) run(ctx context.Context) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.mu.Lock()
			pending := len(s.segs) > 0
			s.mu.Unlock()
			if pending {
				s.flush()
			}
		case <-ctx.Done():
			return
		}
	}
}
