package kernel

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Channels of the supervisor ↔ interpreter pipe protocol. A record carries
// one ZeroMQ message (its frames) on a channel named by one byte.
const (
	chShell   byte = 's' // shell socket (both ways)
	chControl byte = 'c' // control socket (both ways)
	chStdin   byte = 'i' // stdin socket (both ways)
	chIOPub   byte = 'p' // iopub (interpreter to supervisor)
	chBegin   byte = 'b' // a shell request began: frames = [msg_id]
	chDone    byte = 'd' // a shell request finished: frames = [msg_id]
	chCount   byte = 'n' // the execution count changed: frames = [decimal count]
)

// maxFrame bounds a frame read from the pipe (1 GiB), so a corrupt length
// cannot ask for unbounded memory.
const maxFrame = 1 << 30

// pipeWriter writes records: channel byte, frame count (uint32 LE), then each
// frame as length (uint32 LE) and bytes. One record at a time.
type pipeWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func newPipeWriter(w io.Writer) *pipeWriter { return &pipeWriter{w: bufio.NewWriterSize(w, 64<<10)} }

func (p *pipeWriter) write(ch byte, frames [][]byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var hdr [5]byte
	hdr[0] = ch
	binary.LittleEndian.PutUint32(hdr[1:], uint32(len(frames)))
	if _, err := p.w.Write(hdr[:]); err != nil {
		return err
	}
	for _, f := range frames {
		var n [4]byte
		binary.LittleEndian.PutUint32(n[:], uint32(len(f)))
		if _, err := p.w.Write(n[:]); err != nil {
			return err
		}
		if _, err := p.w.Write(f); err != nil {
			return err
		}
	}
	return p.w.Flush()
}

// pipeReader reads the records pipeWriter writes.
type pipeReader struct{ r *bufio.Reader }

func newPipeReader(r io.Reader) *pipeReader { return &pipeReader{bufio.NewReaderSize(r, 64<<10)} }

func (p *pipeReader) read() (byte, [][]byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(p.r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[1:])
	if n > 1<<16 {
		return 0, nil, fmt.Errorf("kernel pipe: %d frames in one record", n)
	}
	frames := make([][]byte, n)
	for i := range frames {
		var l [4]byte
		if _, err := io.ReadFull(p.r, l[:]); err != nil {
			return 0, nil, unexpected(err)
		}
		size := binary.LittleEndian.Uint32(l[:])
		if size > maxFrame {
			return 0, nil, fmt.Errorf("kernel pipe: frame of %d bytes", size)
		}
		frames[i] = make([]byte, size)
		if _, err := io.ReadFull(p.r, frames[i]); err != nil {
			return 0, nil, unexpected(err)
		}
	}
	return hdr[0], frames, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
