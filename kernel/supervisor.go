package kernel

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Supervisor owns a kernel's sockets and runs its interpreter in a child
// process, started again when it dies (see the package documentation).
type Supervisor struct {
	k       *Kernel          // the bound sockets, signer, session id and logger; no dsl session
	command func() *exec.Cmd // a new interpreter process: runs NewChild(...).Serve()

	mu       sync.Mutex
	child    *child
	pending  []*Message // shell requests forwarded and not finished, oldest first
	running  string     // msg_id of the shell request the child is handling, "" between requests
	retry    []record   // control and stdin messages the dead child did not take
	count    int        // the last execution count the child reported
	notice   string     // told to the next execute_request: state lost with no cell running
	stopping bool       // a shutdown_request was forwarded
	crashes  []time.Time
	exit     chan int
}

type record struct {
	ch     byte
	frames [][]byte
}

// child is one interpreter process.
type child struct {
	cmd    *exec.Cmd
	in     *pipeWriter
	tail   *stderrTail
	closed bool // its pipe failed: it is dying
}

// NewSupervisor binds the sockets of conn; command makes the interpreter
// process (the caller's binary in its child mode), which Serve starts.
// The command must leave Stderr unset: the supervisor reads it for the
// reason the interpreter died (and copies it to its own).
func NewSupervisor(conn *ConnectionInfo, logw io.Writer, command func() *exec.Cmd) (*Supervisor, error) {
	k, err := bind(conn, logw)
	if err != nil {
		return nil, err
	}
	return &Supervisor{k: k, command: command, exit: make(chan int, 1)}, nil
}

// Serve runs until a shutdown_request has been answered (or the process
// that launched the kernel is gone); it returns the exit code.
func (s *Supervisor) Serve() int {
	k := s.k
	defer k.Close()
	s.mu.Lock()
	err := s.start()
	s.mu.Unlock()
	if err != nil {
		k.log.Printf("starting the interpreter: %v", err)
		return 1
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	go func() {
		for range sigs {
			s.mu.Lock()
			if c := s.child; c != nil && c.cmd.Process != nil {
				_ = c.cmd.Process.Signal(os.Interrupt)
			}
			s.mu.Unlock()
		}
	}()
	go k.watchParent()
	go k.heartbeat()
	go k.recvLoop(k.shell, func(m *Message) { s.forward(chShell, m) })
	go k.recvLoop(k.ctrl, func(m *Message) { s.forward(chControl, m) })
	go k.recvLoop(k.stdin, func(m *Message) { s.forward(chStdin, m) })
	var code int
	select {
	case code = <-s.exit:
	case <-k.exit: // the launcher is gone
	}
	s.mu.Lock()
	c := s.child
	s.stopping = true
	s.mu.Unlock()
	if c != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Kill()
	}
	// Give the last messages a moment to leave before closing.
	time.Sleep(50 * time.Millisecond)
	return code
}

// forward sends a checked request to the interpreter. Shell requests are
// remembered until the child says they are finished, so that a request the
// child died on is answered here and the ones after it run in the next child.
func (s *Supervisor) forward(ch byte, m *Message) {
	frames := asReceived(m, s.k.signer)
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Header.MsgType == "shutdown_request" {
		s.stopping = true
	}
	if ch == chShell {
		s.pending = append(s.pending, m)
		if m.Header.MsgType == "execute_request" && s.notice != "" {
			s.k.publish(m, "stream", map[string]any{"name": "stderr", "text": s.notice})
			s.notice = ""
		}
	}
	c := s.child
	if c == nil || c.closed || c.in.write(ch, frames) != nil {
		if c != nil {
			c.closed = true
		}
		if ch != chShell {
			s.retry = append(s.retry, record{ch, frames})
		}
	}
}

// asReceived gives the frames of a parsed message with its parts as they
// were received (so replies carry the request's header verbatim), signed.
func asReceived(m *Message, signer *Signer) [][]byte {
	parts := [][]byte{m.HeaderRaw, orEmpty(m.Parent), orEmpty(m.Metadata), orEmpty(m.Content)}
	frames := make([][]byte, 0, len(m.Identities)+6+len(m.Buffers))
	frames = append(frames, m.Identities...)
	frames = append(frames, delimiter, signer.Sign(parts...))
	frames = append(frames, parts...)
	return append(frames, m.Buffers...)
}

// start runs a new interpreter process and sends it the requests it must
// handle. s.mu is held.
func (s *Supervisor) start() error {
	cmd := s.command()
	cmd.Env = append(cmd.Env, "FURIOUS_KERNEL_SESSION="+s.k.session, "FURIOUS_EXEC_COUNT="+strconv.Itoa(s.count))
	toChild, childIn, err := os.Pipe()
	if err != nil {
		return err
	}
	childOut, fromChild, err := os.Pipe()
	if err != nil {
		toChild.Close()
		childIn.Close()
		return err
	}
	cmd.ExtraFiles = []*os.File{toChild, fromChild} // fds 3 and 4 in the child
	if cmd.Stdout == nil {
		cmd.Stdout = os.Stdout
	}
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	// Its own process group: a SIGINT to ours is forwarded once, by Serve.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	toChild.Close()
	fromChild.Close()
	c := &child{cmd: cmd, in: newPipeWriter(childIn), tail: &stderrTail{}}
	s.child = c
	stderrDone := make(chan struct{})
	go func() {
		c.tail.copy(os.Stderr, errPipe)
		close(stderrDone)
	}()
	go s.relay(c, childOut, childIn, stderrDone)
	for _, m := range s.pending {
		if c.in.write(chShell, asReceived(m, s.k.signer)) != nil {
			c.closed = true
		}
	}
	for _, r := range s.retry {
		if c.in.write(r.ch, r.frames) != nil {
			c.closed = true
		}
	}
	s.retry = nil
	return nil
}

// relay sends what child c writes to the sockets until it exits, then
// handles its end.
func (s *Supervisor) relay(c *child, out *os.File, in *os.File, stderrDone chan struct{}) {
	k := s.k
	r := newPipeReader(out)
	for {
		ch, frames, err := r.read()
		if err != nil {
			if err != io.EOF {
				k.log.Printf("interpreter pipe: %v", err)
			}
			break
		}
		switch ch {
		case chShell:
			s.send(k.shell, frames)
		case chControl:
			s.send(k.ctrl, frames)
		case chStdin:
			s.send(k.stdin, frames)
		case chIOPub:
			s.send(k.iopub, frames)
		case chBegin:
			if len(frames) == 1 {
				s.mu.Lock()
				s.running = string(frames[0])
				s.mu.Unlock()
			}
		case chDone:
			if len(frames) == 1 {
				s.finished(string(frames[0]))
			}
		case chCount:
			if len(frames) == 1 {
				if n, err := strconv.Atoi(string(frames[0])); err == nil {
					s.mu.Lock()
					s.count = n
					s.mu.Unlock()
				}
			}
		}
	}
	out.Close()
	werr := c.cmd.Wait()
	<-stderrDone
	in.Close()
	s.ended(c, werr)
}

func (s *Supervisor) send(sock *socket, frames [][]byte) {
	if err := sock.send(frames); err != nil && !s.k.closed.Load() {
		s.k.log.Printf("sending: %v", err)
	}
}

// finished forgets the pending shell request with this msg_id.
func (s *Supervisor) finished(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running == id {
		s.running = ""
	}
	for i, m := range s.pending {
		if m.Header.MsgID == id {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			return
		}
	}
}

// ended handles the exit of child c: the end of the kernel after a
// shutdown_request, otherwise a crash. The request it died on gets an error
// naming the cause and saying that the session's state is lost; execute
// requests queued behind it are aborted (as after any failed cell); a new
// interpreter starts and takes the other requests.
func (s *Supervisor) ended(c *child, werr error) {
	k := s.k
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		code := 0
		if c.cmd.ProcessState != nil && c.cmd.ProcessState.ExitCode() > 0 {
			code = c.cmd.ProcessState.ExitCode()
		}
		s.quit(code)
		return
	}
	cause := c.tail.cause()
	if cause == "" {
		cause = "the interpreter process ended: " + exitText(werr)
	}
	k.log.Printf("the interpreter died (%s): starting a new one", cause)
	lost := "The interpreter process died (" + cause + ") and a new one was started: " +
		"the session's state is lost (variables, functions, types and imports). Run the cells it needs again."
	now := time.Now()
	s.crashes = append(s.crashes, now)
	if len(s.crashes) > 5 {
		s.crashes = s.crashes[1:]
		if now.Sub(s.crashes[0]) < 10*time.Second {
			k.log.Print("the interpreter died 5 times in 10 s: giving up")
			s.quit(1)
			return
		}
	}
	// The request the child was handling gets the error; with
	// stop_on_error the execute requests queued behind it are aborted;
	// the others go to the next child.
	var keep []*Message
	failed, answered := false, false
	for _, m := range s.pending {
		switch {
		case m.Header.MsgID == s.running:
			s.answerCrash(m, cause, lost)
			failed = m.Header.MsgType == "execute_request" && stopOnError(m)
			answered = true
		case failed && m.Header.MsgType == "execute_request":
			k.busy(m)
			k.reply(k.shell, m, "execute_reply", map[string]any{"status": "aborted", "execution_count": s.count})
			k.publish(m, "status", map[string]any{"execution_state": "idle"})
		default:
			keep = append(keep, m)
		}
	}
	if !answered {
		// No request was running: the next cell is told (one already
		// waiting, or the next to come).
		s.notice = "furious: " + lost + "\n"
		for _, m := range keep {
			if m.Header.MsgType == "execute_request" {
				s.k.publish(m, "stream", map[string]any{"name": "stderr", "text": s.notice})
				s.notice = ""
				break
			}
		}
	}
	s.pending, s.running = keep, ""
	if err := s.start(); err != nil {
		k.log.Printf("starting a new interpreter: %v", err)
		s.quit(1)
	}
}

// quit ends Serve with code.
func (s *Supervisor) quit(code int) {
	select {
	case s.exit <- code:
	default:
	}
}

// answerCrash answers the shell request m the interpreter died on.
func (s *Supervisor) answerCrash(m *Message, cause, lost string) {
	k := s.k
	content := map[string]any{"status": "error", "ename": "InterpreterDied", "evalue": lost,
		"traceback": []string{"InterpreterDied: " + cause, lost}}
	switch m.Header.MsgType {
	case "execute_request":
		k.publish(m, "error", map[string]any{"ename": content["ename"], "evalue": lost, "traceback": content["traceback"]})
		content["execution_count"] = s.count
		k.reply(k.shell, m, "execute_reply", content)
	default:
		k.reply(k.shell, m, strings.TrimSuffix(m.Header.MsgType, "_request")+"_reply", content)
	}
	k.publish(m, "status", map[string]any{"execution_state": "idle"})
}

func stopOnError(m *Message) bool {
	var c struct {
		StopOnError *bool `json:"stop_on_error"`
	}
	_ = json.Unmarshal(m.Content, &c)
	return orTrue(c.StopOnError)
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			if ws.Signal() == syscall.SIGKILL {
				return "killed by SIGKILL, as the system does when it runs out of memory"
			}
			return "killed by " + ws.Signal().String()
		}
	}
	return err.Error()
}

// stderrTail copies a child's standard error and keeps the lines that say
// why a Go program died: "fatal error: ...", "panic: ..." and the runtime's
// own lines before them ("runtime: goroutine stack exceeds ...").
type stderrTail struct {
	mu      sync.Mutex
	runtime string // the last "runtime: " line
	fatal   string
}

func (t *stderrTail) copy(w io.Writer, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(w, line)
		t.mu.Lock()
		switch {
		case t.fatal != "":
		case strings.HasPrefix(line, "fatal error: "), strings.HasPrefix(line, "panic: "):
			t.fatal = line
		case strings.HasPrefix(line, "runtime: goroutine stack exceeds"):
			t.runtime = strings.TrimPrefix(line, "runtime: ")
		}
		t.mu.Unlock()
	}
	_, _ = io.Copy(w, r) // a line over 1 MiB: pass the rest through
}

// cause is the reason the child died, "" when it printed none.
func (t *stderrTail) cause() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fatal == "" {
		return ""
	}
	if t.runtime != "" {
		return t.fatal + ": " + t.runtime
	}
	return t.fatal
}
