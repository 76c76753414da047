package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/furious-lab/furious/display"
	"github.com/furious-lab/furious/dsl"
)

// repl is an interactive prompt with line editing, history (↑/↓), tab
// completion and multi-line input decided by dsl.IsComplete. Rich values
// are shown as text; images and SVG are written to files whose paths are
// printed.
func repl(args []string) error {
	const usage = `usage: furious repl

An interactive Go prompt (yaegi) with furious's packages imported: Tab
completes, Up/Down recall earlier cells, an incomplete line continues on the
next one, name? shows documentation, Ctrl-C interrupts a running cell (at
the prompt it clears the line), Ctrl-D on an empty line exits.
`
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Print(usage)
		return nil
	}
	if len(args) > 0 {
		return errors.New(usage)
	}
	fd := int(os.Stdin.Fd())
	interactive := term.IsTerminal(fd) && term.IsTerminal(int(os.Stdout.Fd()))
	var out io.Writer = os.Stdout
	var t *term.Terminal
	var keys *ctrlCReader
	var hist *cellHistory
	var cooked *term.State // the terminal's own mode, restored while a cell runs
	if interactive {
		old, err := term.MakeRaw(fd)
		if err != nil {
			return err
		}
		cooked = old
		defer func() { term.Restore(fd, cooked) }()
		keys = &ctrlCReader{r: os.Stdin}
		t = term.NewTerminal(struct {
			io.Reader
			io.Writer
		}{keys, os.Stdout}, "go> ")
		hist = &cellHistory{}
		t.History = hist
		if w, h, err := term.GetSize(fd); err == nil && w > 0 && h > 0 {
			_ = t.SetSize(w, h)
		}
		out = t
	}
	s, err := dsl.New(dsl.Options{Stdout: out, Stderr: out, Stdin: os.Stdin})
	if err != nil {
		return err
	}
	display.SetPublisher(&replPublisher{w: out})
	fmt.Fprintln(out, "furious repl — Go interpreted by yaegi. Tab completes, ↑/↓ recall cells, Ctrl-C interrupts, Ctrl-D exits, name? shows docs.")

	var read func(prompt string) (string, error)
	if interactive {
		t.AutoCompleteCallback = func(line string, pos int, key rune) (string, int, bool) {
			if key != '\t' {
				return "", 0, false
			}
			return completeLine(s, line, pos, out)
		}
		read = func(prompt string) (string, error) {
			t.SetPrompt(prompt)
			return t.ReadLine()
		}
	} else {
		sc := bufio.NewScanner(os.Stdin)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		read = func(prompt string) (string, error) {
			if !sc.Scan() {
				if err := sc.Err(); err != nil {
					return "", err
				}
				return "", io.EOF
			}
			return sc.Text(), nil
		}
	}

	var buf strings.Builder
	for {
		prompt := "go> "
		if buf.Len() > 0 {
			prompt = "... "
		}
		line, err := read(prompt)
		if err != nil {
			if errors.Is(err, io.EOF) {
				fmt.Fprintln(out)
				return nil
			}
			return err
		}
		line = strings.ReplaceAll(line, "\r\n", "\n") // a recalled multi-line cell
		if keys != nil && line == "" && keys.take() {
			buf.Reset() // Ctrl-C at the prompt: drop the line and the cell begun
			continue
		}
		if buf.Len() > 0 {
			buf.WriteByte('\n')
		}
		buf.WriteString(line)
		code := buf.String()
		if status, _ := dsl.IsComplete(code); status == "incomplete" && strings.TrimSpace(line) != "" {
			continue
		}
		buf.Reset()
		if strings.TrimSpace(code) == "" {
			continue
		}
		if hist != nil {
			hist.add(code)
		}
		if name, ok := helpName(code); ok {
			if text, found := s.Inspect(name, len(name)); found {
				fmt.Fprintln(out, text)
			} else {
				fmt.Fprintln(out, "no documentation for", name)
			}
			continue
		}
		// While the cell runs the terminal is in its own mode, so that
		// Ctrl-C is SIGINT, which interrupts the cell (the session stays).
		ctx, done := interruptible()
		if interactive {
			_ = term.Restore(fd, cooked)
		}
		res, ok, err := s.Eval(ctx, code)
		done()
		if interactive {
			if _, err := term.MakeRaw(fd); err != nil {
				return err
			}
		}
		if err != nil {
			var e *dsl.Error
			if errors.As(err, &e) && len(e.Traceback) > 0 {
				fmt.Fprintln(out, strings.Join(e.Traceback, "\n"))
			} else {
				fmt.Fprintln(out, err)
			}
			continue
		}
		if ok {
			fmt.Fprintln(out, showText(res))
		}
	}
}

// ctrlCReader passes the terminal's input to term.Terminal, which ends
// ReadLine on Ctrl-C as on end of input. It turns Ctrl-C into "go to the
// start, delete the line, Enter", which reads as an empty line, and counts
// it, so that the prompt clears the line (and a cell begun on earlier
// lines) and goes on.
type ctrlCReader struct {
	r       io.Reader
	pending []byte
	mu      sync.Mutex
	hits    int
}

func (c *ctrlCReader) Read(p []byte) (int, error) {
	if len(c.pending) == 0 {
		n, err := c.r.Read(p)
		if n == 0 {
			return 0, err
		}
		for _, b := range p[:n] {
			if b == 3 { // Ctrl-C
				c.pending = append(c.pending, 1, 11, '\r') // ^A, ^K, Enter
				c.mu.Lock()
				c.hits++
				c.mu.Unlock()
				continue
			}
			c.pending = append(c.pending, b)
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// take reports whether an empty line read is a Ctrl-C (one not yet taken).
func (c *ctrlCReader) take() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hits == 0 {
		return false
	}
	c.hits--
	return true
}

// cellHistory is the REPL's history: one entry per cell, however many
// lines it took, so that Up recalls a multi-line cell whole. term.Terminal
// adds each line it reads; those are ignored.
type cellHistory struct{ cells []string }

func (h *cellHistory) Add(string) {}
func (h *cellHistory) Len() int   { return len(h.cells) }

// At returns the n-th most recent cell (0 is the last), its lines joined
// by "\r\n" so that the raw terminal draws them one under the other (the
// REPL reads "\r\n" back as "\n").
func (h *cellHistory) At(n int) string {
	return strings.ReplaceAll(h.cells[len(h.cells)-1-n], "\n", "\r\n")
}

func (h *cellHistory) add(cell string) {
	if len(h.cells) > 0 && h.cells[len(h.cells)-1] == cell {
		return
	}
	h.cells = append(h.cells, cell)
	if len(h.cells) > 1000 {
		h.cells = h.cells[1:]
	}
}

func helpName(code string) (string, bool) {
	c := strings.TrimSpace(code)
	c = strings.TrimSuffix(strings.TrimSuffix(c, "?"), "?")
	if c == strings.TrimSpace(code) {
		if !strings.HasPrefix(c, "?") {
			return "", false
		}
		c = strings.TrimLeft(c, "?")
	}
	for _, r := range c {
		if !(r == '.' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "", false
		}
	}
	return c, c != ""
}

// completeLine completes the word before pos; with several candidates it
// inserts their common prefix and lists them.
func completeLine(s *dsl.Session, line string, pos int, out io.Writer) (string, int, bool) {
	before := line[:pos]
	matches, start, end := s.Complete(before, len([]rune(before)))
	if len(matches) == 0 {
		return "", 0, false
	}
	rs := []rune(before)
	word := string(rs[start:end])
	common := matches[0]
	for _, m := range matches[1:] {
		for !strings.HasPrefix(m, common) {
			common = common[:len(common)-1]
		}
	}
	if len(matches) > 1 && common == word {
		sort.Strings(matches)
		if len(matches) > 60 {
			matches = append(matches[:60], "...")
		}
		fmt.Fprintln(out, strings.Join(matches, "  "))
		return "", 0, false
	}
	newBefore := string(rs[:start]) + common
	return newBefore + line[pos:], len(newBefore), true
}

// replPublisher shows displays on the terminal: text/plain, with images
// and SVG written to files.
type replPublisher struct {
	w io.Writer
	n int
}

func (p *replPublisher) Display(d display.Data, update bool) { fmt.Fprintln(p.w, showText(d)) }
func (p *replPublisher) Clear(wait bool)                     {}

// TerminalWriter lets progress bars redraw in place: each redraw ("\r"
// and the bar) first erases the old line, so that a shorter bar leaves no
// stale characters.
func (p *replPublisher) TerminalWriter() io.Writer { return eraseOnCR{p.w} }

// eraseOnCR writes through to w, following each "\r" with the terminal's
// erase-to-end-of-line sequence.
type eraseOnCR struct{ w io.Writer }

func (e eraseOnCR) Write(b []byte) (int, error) {
	if _, err := e.w.Write(bytes.ReplaceAll(b, []byte("\r"), []byte("\r\x1b[K"))); err != nil {
		return 0, err
	}
	return len(b), nil
}

var imageSeq int

// showText is a value's terminal form: text/plain, plus the path of a file
// holding its image, if any.
func showText(d display.Data) string {
	text := textOf(d)
	for mime, ext := range map[string]string{display.MIMEPNG: ".png", display.MIMEJPEG: ".jpg", display.MIMESVG: ".svg"} {
		v, ok := d.Data[mime]
		if !ok {
			continue
		}
		var b []byte
		switch x := v.(type) {
		case []byte:
			b = x
		case string:
			b = []byte(x)
		}
		imageSeq++
		path := filepath.Join(os.TempDir(), fmt.Sprintf("furious-%d-%d%s", os.Getpid(), imageSeq, ext))
		if err := os.WriteFile(path, b, 0o644); err == nil {
			text += "  → " + path
		}
	}
	return text
}
