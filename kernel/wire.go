package kernel

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"
)

// ProtocolVersion is the Jupyter messaging protocol version this kernel speaks.
const ProtocolVersion = "5.3"

// delimiter separates ZeroMQ routing identities from the signed message parts.
var delimiter = []byte("<IDS|MSG>")

// Header is a message header (and a parent header).
type Header struct {
	MsgID    string `json:"msg_id"`
	Session  string `json:"session"`
	Username string `json:"username"`
	Date     string `json:"date"`
	MsgType  string `json:"msg_type"`
	Version  string `json:"version"`
}

// Message is one Jupyter message: routing identities, the four signed JSON
// parts and optional binary buffers.
type Message struct {
	Identities [][]byte
	Header     Header
	HeaderRaw  json.RawMessage // the header as received, the parent of replies
	Parent     json.RawMessage // parent header as received ({} when none)
	Metadata   json.RawMessage
	Content    json.RawMessage
	Buffers    [][]byte
}

// ParentHeader decodes the parent header; the zero Header when it is empty.
func (m *Message) ParentHeader() Header {
	var h Header
	_ = json.Unmarshal(m.Parent, &h)
	return h
}

// Signer computes and checks HMAC signatures of messages. A Signer with an
// empty key signs with the empty string and accepts only unsigned messages,
// as the protocol prescribes for connection files with key "".
type Signer struct {
	mu  sync.Mutex
	mac hash.Hash // nil when the key is empty
}

// ErrBadSignature is returned by Parse for a message whose signature does not
// match its parts.
var ErrBadSignature = errors.New("kernel: bad message signature")

// NewSigner returns a Signer for a connection file's signature_scheme and key.
// Only hmac-sha256 is supported (the scheme every Jupyter client uses).
func NewSigner(scheme, key string) (*Signer, error) {
	if key == "" {
		return &Signer{}, nil
	}
	if scheme != "" && scheme != "hmac-sha256" {
		return nil, fmt.Errorf("kernel: unsupported signature scheme %q (want hmac-sha256)", scheme)
	}
	return &Signer{mac: hmac.New(sha256.New, []byte(key))}, nil
}

// Sign returns the lowercase hex HMAC of the four JSON parts.
func (s *Signer) Sign(parts ...[]byte) []byte {
	if s.mac == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mac.Reset()
	for _, p := range parts {
		s.mac.Write(p)
	}
	sum := s.mac.Sum(nil)
	out := make([]byte, hex.EncodedLen(len(sum)))
	hex.Encode(out, sum)
	return out
}

// Verify reports whether sig is the signature of parts, in constant time.
func (s *Signer) Verify(sig []byte, parts ...[]byte) bool {
	if s.mac == nil {
		return len(sig) == 0
	}
	return hmac.Equal(bytes.ToLower(sig), s.Sign(parts...))
}

// Parse decodes the ZeroMQ frames of one message and checks its signature.
// It never panics: malformed input gives an error.
func Parse(frames [][]byte, s *Signer) (*Message, error) {
	i := 0
	for ; i < len(frames); i++ {
		if bytes.Equal(frames[i], delimiter) {
			break
		}
	}
	if i == len(frames) {
		return nil, errors.New("kernel: message has no <IDS|MSG> delimiter")
	}
	rest := frames[i+1:]
	if len(rest) < 5 {
		return nil, fmt.Errorf("kernel: message has %d parts after the delimiter, want at least 5", len(rest))
	}
	if !s.Verify(rest[0], rest[1], rest[2], rest[3], rest[4]) {
		return nil, ErrBadSignature
	}
	m := &Message{Identities: frames[:i], Buffers: rest[5:], HeaderRaw: json.RawMessage(rest[1])}
	if err := json.Unmarshal(rest[1], &m.Header); err != nil {
		return nil, fmt.Errorf("kernel: bad header: %w", err)
	}
	if m.Header.MsgType == "" {
		return nil, errors.New("kernel: header has no msg_type")
	}
	for _, p := range []struct {
		dst *json.RawMessage
		src []byte
	}{{&m.Parent, rest[2]}, {&m.Metadata, rest[3]}, {&m.Content, rest[4]}} {
		if !json.Valid(p.src) {
			return nil, errors.New("kernel: message part is not valid JSON")
		}
		*p.dst = json.RawMessage(p.src)
	}
	return m, nil
}

// Frames encodes m for sending: identities, delimiter, signature, the four
// JSON parts and the buffers.
func (m *Message) Frames(s *Signer) ([][]byte, error) {
	header, err := json.Marshal(m.Header)
	if err != nil {
		return nil, err
	}
	parent, meta, content := orEmpty(m.Parent), orEmpty(m.Metadata), orEmpty(m.Content)
	frames := make([][]byte, 0, len(m.Identities)+6+len(m.Buffers))
	frames = append(frames, m.Identities...)
	frames = append(frames, delimiter, s.Sign(header, parent, meta, content), header, parent, meta, content)
	return append(frames, m.Buffers...), nil
}

func orEmpty(b json.RawMessage) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}

// newID returns a random UUID-4 string for msg_id and session.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// now is the ISO 8601 timestamp put into headers.
func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00") }
