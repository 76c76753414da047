package kernel

import (
	"bytes"
	"fmt"
	"sync"
)

// replayMemory is how many recent signatures a kernel remembers to refuse
// replayed messages (as jupyter_client's Session does with its digest
// history).
const replayMemory = 1 << 14

// replayGuard refuses a message whose signature it has seen among the last
// n: a signed message sent twice (a replay) runs once. It holds at most n
// signatures, forgetting the oldest first. Unsigned messages (empty key)
// cannot be told apart and pass.
type replayGuard struct {
	mu   sync.Mutex
	seen map[string]struct{}
	ring []string
	next int
}

func newReplayGuard(n int) *replayGuard {
	return &replayGuard{seen: make(map[string]struct{}, n), ring: make([]string, n)}
}

// check records the signature of frames (a message that Parse accepted) and
// returns an error naming m if that signature was seen before.
func (g *replayGuard) check(frames [][]byte, m *Message) error {
	sig := signature(frames)
	if len(sig) == 0 {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	key := string(bytes.ToLower(sig)) // Verify accepts either case
	if _, dup := g.seen[key]; dup {
		return fmt.Errorf("refused a replayed message: %s %s has the signature of one already received", m.Header.MsgType, m.Header.MsgID)
	}
	if old := g.ring[g.next]; old != "" {
		delete(g.seen, old)
	}
	g.ring[g.next] = key
	g.next = (g.next + 1) % len(g.ring)
	g.seen[key] = struct{}{}
	return nil
}

// signature returns the signature frame of a message (the one after the
// delimiter), or nil.
func signature(frames [][]byte) []byte {
	for i, f := range frames {
		if bytes.Equal(f, delimiter) && i+1 < len(frames) {
			return frames[i+1]
		}
	}
	return nil
}
