package kernel

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

func signedFrames(t testing.TB, s *Signer, msgType, content string) [][]byte {
	t.Helper()
	m := &Message{
		Identities: [][]byte{[]byte("peer")},
		Header:     Header{MsgID: "1", Session: "s", Username: "u", Date: "d", MsgType: msgType, Version: ProtocolVersion},
		Parent:     json.RawMessage("{}"),
		Metadata:   json.RawMessage("{}"),
		Content:    json.RawMessage(content),
	}
	f, err := m.Frames(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestRoundTripAndSignature(t *testing.T) {
	s, err := NewSigner("hmac-sha256", "secret")
	if err != nil {
		t.Fatal(err)
	}
	frames := signedFrames(t, s, "execute_request", `{"code":"1+1"}`)
	m, err := Parse(frames, s)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.MsgType != "execute_request" || string(m.Content) != `{"code":"1+1"}` || string(m.Identities[0]) != "peer" {
		t.Errorf("parsed %+v", m)
	}
	// The signature is the HMAC-SHA256 of header, parent, metadata, content.
	mac := hmac.New(sha256.New, []byte("secret"))
	for _, p := range frames[3:7] {
		mac.Write(p)
	}
	if want := hex.EncodeToString(mac.Sum(nil)); string(frames[2]) != want {
		t.Errorf("signature %s, want %s", frames[2], want)
	}
	other, _ := NewSigner("hmac-sha256", "other")
	if _, err := Parse(frames, other); err != ErrBadSignature {
		t.Errorf("wrong key: err = %v, want ErrBadSignature", err)
	}
	tampered := append([][]byte(nil), frames...)
	tampered[6] = []byte(`{"code":"2+2"}`)
	if _, err := Parse(tampered, s); err != ErrBadSignature {
		t.Errorf("tampered content: err = %v, want ErrBadSignature", err)
	}
	unsigned := signedFrames(t, &Signer{}, "execute_request", `{}`)
	if _, err := Parse(unsigned, s); err != ErrBadSignature {
		t.Errorf("unsigned message accepted by a keyed signer: %v", err)
	}
	if _, err := Parse(unsigned, &Signer{}); err != nil {
		t.Errorf("unsigned message refused without a key: %v", err)
	}
	if _, err := NewSigner("hmac-md5", "k"); err == nil {
		t.Error("hmac-md5 accepted")
	}
}

func TestParseRejects(t *testing.T) {
	s, _ := NewSigner("hmac-sha256", "k")
	good := signedFrames(t, s, "kernel_info_request", `{}`)
	cases := map[string][][]byte{
		"no delimiter":  {[]byte("a"), []byte("b")},
		"short":         good[:4],
		"empty":         nil,
		"bad json":      signedFrames(t, s, "kernel_info_request", `{"x":`),
		"no msg_type":   signedFrames(t, s, "", `{}`),
		"bad signature": append(append([][]byte{}, good[:2]...), append([][]byte{[]byte(strings.Repeat("0", 64))}, good[3:]...)...),
	}
	for name, f := range cases {
		if m, err := Parse(f, s); err == nil {
			t.Errorf("%s: parsed %+v", name, m)
		}
	}
}

func TestLargeMessage(t *testing.T) {
	s, _ := NewSigner("hmac-sha256", "k")
	code := strings.Repeat("x", 50<<20)
	b, _ := json.Marshal(map[string]string{"code": code})
	m, err := Parse(signedFrames(t, s, "execute_request", string(b)), s)
	if err != nil || len(m.Content) != len(b) {
		t.Fatalf("50 MB message: %v", err)
	}
}

// FuzzParse feeds arbitrary frames to the parser and signature check: it
// must never panic, and whatever it accepts must be correctly signed and
// re-encode to frames it accepts again.
func FuzzParse(f *testing.F) {
	s, _ := NewSigner("hmac-sha256", "fuzz-key")
	for _, c := range []string{`{}`, `{"code":"1+1","silent":false}`, `{"code":`, `null`, `[]`} {
		fr := signedFrames(f, s, "execute_request", c)
		f.Add(fr[1], fr[2], fr[3], fr[4], fr[5], fr[6])
	}
	f.Add([]byte("<IDS|MSG>"), []byte(""), []byte("{"), []byte("{}"), []byte("{}"), []byte("{}"))
	f.Add([]byte("x"), []byte("y"), []byte(`{"msg_type":"a"}`), []byte("{}"), []byte("{}"), []byte("{}"))
	f.Fuzz(func(t *testing.T, delim, sig, header, parent, meta, content []byte) {
		frames := [][]byte{[]byte("id"), delim, sig, header, parent, meta, content}
		m, err := Parse(frames, s)
		if err != nil {
			return
		}
		if !s.Verify(sig, header, parent, meta, content) {
			t.Fatal("accepted a message with a bad signature")
		}
		again, err := m.Frames(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(again, s); err != nil {
			t.Fatalf("re-encoded message refused: %v", err)
		}
		// Signed parts that are valid too: a correctly signed copy of
		// arbitrary parts is accepted iff the parts are valid JSON with a
		// msg_type.
		resigned := [][]byte{delimiter, s.Sign(header, parent, meta, content), header, parent, meta, content}
		if _, err := Parse(resigned, s); err != nil {
			t.Fatalf("resigned accepted parts refused: %v", err)
		}
	})
}
