package kernel

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// A signature seen among the last n is refused; older ones are forgotten,
// so the record stays bounded.
func TestReplayGuard(t *testing.T) {
	g := newReplayGuard(3)
	m := &Message{Header: Header{MsgType: "execute_request", MsgID: "id"}}
	frames := func(sig string) [][]byte { return [][]byte{[]byte("peer"), delimiter, []byte(sig), []byte("{}")} }
	for i := 0; i < 3; i++ {
		if err := g.check(frames(fmt.Sprint("sig", i)), m); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.check(frames("SIG1"), m); err == nil {
		t.Error("a replay (signature in another case) was accepted")
	}
	if err := g.check(frames("sig3"), m); err != nil { // evicts sig0
		t.Fatal(err)
	}
	if err := g.check(frames("sig0"), m); err != nil {
		t.Errorf("sig0 should have been forgotten: %v", err)
	}
	if len(g.seen) != 3 {
		t.Errorf("the record holds %d signatures, want 3", len(g.seen))
	}
	if err := g.check(frames(""), m); err != nil {
		t.Error("unsigned messages cannot be told apart and must pass")
	}
}

// Records written to a pipe read back as they were, and a truncated one is
// an error.
func TestPipeRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := newPipeWriter(&buf)
	in := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte("x"), 100000)}
	if err := w.write(chIOPub, in); err != nil {
		t.Fatal(err)
	}
	if err := w.write(chDone, [][]byte{[]byte("id")}); err != nil {
		t.Fatal(err)
	}
	whole := append([]byte(nil), buf.Bytes()...)
	r := newPipeReader(&buf)
	ch, got, err := r.read()
	if err != nil || ch != chIOPub || len(got) != 3 || !bytes.Equal(got[2], in[2]) || len(got[1]) != 0 {
		t.Fatalf("read %c %d frames, %v", ch, len(got), err)
	}
	if ch, got, err = r.read(); err != nil || ch != chDone || string(got[0]) != "id" {
		t.Fatalf("second record %c %q %v", ch, got, err)
	}
	if _, _, err = r.read(); err != io.EOF {
		t.Errorf("at the end: %v, want EOF", err)
	}
	if _, _, err = newPipeReader(bytes.NewReader(whole[:20])).read(); err != io.ErrUnexpectedEOF {
		t.Errorf("truncated: %v", err)
	}
}
