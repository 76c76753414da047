package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/furious-lab/furious/tensor"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/furious-lab/furious/display"
	"github.com/furious-lab/furious/dsl"
)

// Version is the kernel's implementation_version.
var Version = "0.1.0"

// Kernel is one running Jupyter kernel: five sockets, a signer and a dsl
// session. Create it with New and run it with Serve.
type Kernel struct {
	conn   *ConnectionInfo
	signer *Signer
	log    *log.Logger

	ctx    context.Context
	stop   context.CancelFunc
	shell  *socket
	ctrl   *socket
	stdin  *socket
	iopub  *socket
	hb     zmq4.Socket
	closed atomic.Bool

	sess    *dsl.Session
	streams *streams
	queue   chan *Message // shell requests, in order
	front   []*Message    // requests to handle before the queue (shell goroutine only)
	inputs  chan *Message // input_reply messages from the stdin socket

	execMu    sync.Mutex
	cancel    context.CancelFunc // cancels the running execution
	execCount int
	current   atomic.Pointer[execState]
	history   []historyEntry
	session   string // our session id, in every header we send
	exit      chan struct{}
	exitOnce  sync.Once
	exitCode  int

	pipeIn  *pipeReader // in an interpreter child: requests from the supervisor
	pipeOut *pipeWriter // in an interpreter child: replies and iopub to the supervisor
	replays *replayGuard
}

// execState is what a running execute_request shares with the stream
// writers and the stdin reader.
type execState struct {
	msg        *Message
	allowStdin bool
	ctx        context.Context
}

type historyEntry struct {
	session, line int
	input         string
}

// socket is a zmq4 socket with a send lock: zmq4 sockets are not safe for
// concurrent sends.
//
// In an interpreter child (NewChild) it has no zmq4 socket: its messages go
// to the supervisor through the pipe, on channel ch.
type socket struct {
	mu   sync.Mutex
	s    zmq4.Socket
	pipe *pipeWriter
	ch   byte
}

func (s *socket) send(frames [][]byte) error {
	if s.pipe != nil {
		return s.pipe.write(s.ch, frames)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.s.SendMulti(zmq4.NewMsgFrom(frames...))
}

// New binds the sockets of the connection file and starts a session in
// this process (no supervisor: a fatal runtime error ends the kernel).
func New(conn *ConnectionInfo, logw io.Writer) (*Kernel, error) {
	k, err := bind(conn, logw)
	if err != nil {
		return nil, err
	}
	k.streams = newStreams(k)
	if err := k.newSession(); err != nil {
		k.Close()
		return nil, err
	}
	return k, nil
}

// NewChild makes the interpreter side of a supervised kernel: requests
// arrive on in and everything it sends goes to out, in the pipe protocol;
// the supervisor owns the sockets. The session id and the execution count
// to continue from come from FURIOUS_KERNEL_SESSION and FURIOUS_EXEC_COUNT.
func NewChild(conn *ConnectionInfo, in io.Reader, out io.Writer, logw io.Writer) (*Kernel, error) {
	k, err := newKernel(conn, logw)
	if err != nil {
		return nil, err
	}
	if id := os.Getenv("FURIOUS_KERNEL_SESSION"); id != "" {
		k.session = id
	}
	k.execCount, _ = strconv.Atoi(os.Getenv("FURIOUS_EXEC_COUNT"))
	k.pipeIn, k.pipeOut = newPipeReader(in), newPipeWriter(out)
	k.shell = &socket{pipe: k.pipeOut, ch: chShell}
	k.ctrl = &socket{pipe: k.pipeOut, ch: chControl}
	k.stdin = &socket{pipe: k.pipeOut, ch: chStdin}
	k.iopub = &socket{pipe: k.pipeOut, ch: chIOPub}
	k.streams = newStreams(k)
	if err := k.newSession(); err != nil {
		return nil, err
	}
	return k, nil
}

// bind makes a Kernel with the five sockets of conn bound, and no session.
func bind(conn *ConnectionInfo, logw io.Writer) (*Kernel, error) {
	k, err := newKernel(conn, logw)
	if err != nil {
		return nil, err
	}
	ctx := k.ctx
	k.shell = &socket{s: zmq4.NewRouter(ctx, zmq4.WithID(zmq4.SocketIdentity(k.session)))}
	k.ctrl = &socket{s: zmq4.NewRouter(ctx, zmq4.WithID(zmq4.SocketIdentity(k.session)))}
	k.stdin = &socket{s: zmq4.NewRouter(ctx, zmq4.WithID(zmq4.SocketIdentity(k.session)))}
	k.iopub = &socket{s: zmq4.NewPub(ctx)}
	k.hb = zmq4.NewRep(ctx)
	for _, b := range []struct {
		s    zmq4.Socket
		port int
	}{{k.shell.s, conn.ShellPort}, {k.ctrl.s, conn.ControlPort}, {k.stdin.s, conn.StdinPort}, {k.iopub.s, conn.IOPubPort}, {k.hb, conn.HBPort}} {
		if err := b.s.Listen(conn.Endpoint(b.port)); err != nil {
			k.Close()
			return nil, fmt.Errorf("kernel: binding %s: %w", conn.Endpoint(b.port), err)
		}
	}
	return k, nil
}

// newKernel makes a Kernel with no sockets and no session.
func newKernel(conn *ConnectionInfo, logw io.Writer) (*Kernel, error) {
	signer, err := NewSigner(conn.SignatureScheme, conn.Key)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Kernel{
		conn:    conn,
		signer:  signer,
		log:     log.New(logw, "furious kernel: ", log.LstdFlags),
		ctx:     ctx,
		stop:    stop,
		queue:   make(chan *Message, 1024),
		inputs:  make(chan *Message, 16),
		session: newID(),
		exit:    make(chan struct{}),
		replays: newReplayGuard(replayMemory),
	}, nil
}

func (k *Kernel) newSession() error {
	s, err := dsl.New(dsl.Options{
		Stdout: k.streams.writer("stdout"),
		Stderr: k.streams.writer("stderr"),
		Stdin:  &stdinReader{k: k},
	})
	if err != nil {
		return err
	}
	k.sess = s
	display.SetPublisher(k)
	return nil
}

// Close releases the sockets.
func (k *Kernel) Close() {
	if k.closed.Swap(true) {
		return
	}
	k.stop()
	for _, s := range []*socket{k.shell, k.ctrl, k.stdin, k.iopub} {
		if s != nil && s.s != nil {
			_ = s.s.Close()
		}
	}
	if k.hb != nil {
		_ = k.hb.Close()
	}
}

// Serve runs the kernel until a shutdown_request arrives; it returns the
// process exit code.
func (k *Kernel) Serve() int {
	defer k.Close()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	go func() {
		for {
			select {
			case <-sigs:
				k.log.Print("SIGINT: interrupting the running cell")
				k.interrupt()
			case <-k.ctx.Done():
				return
			}
		}
	}()

	onStdin := func(m *Message) {
		if m.Header.MsgType == "input_reply" {
			select {
			case k.inputs <- m:
			default:
				k.log.Print("input_reply with no pending input_request: dropped")
			}
		}
	}
	if k.pipeIn != nil {
		go k.pipeLoop(onStdin)
	} else {
		go k.watchParent()
		go k.heartbeat()
		go k.recvLoop(k.shell, func(m *Message) { k.queue <- m })
		go k.recvLoop(k.ctrl, k.handleControl)
		go k.recvLoop(k.stdin, onStdin)
	}
	go k.shellLoop()
	go k.streams.run(k.ctx)

	k.publish(nil, "status", map[string]any{"execution_state": "starting"})
	<-k.exit
	k.streams.flush()
	// Give the last iopub messages a moment to leave before closing.
	time.Sleep(50 * time.Millisecond)
	return k.exitCode
}

// watchParent ends the kernel when the process that launched it (named by
// JPY_PARENT_PID, as Jupyter sets it) is gone, so no kernel is orphaned.
func (k *Kernel) watchParent() {
	want, err := strconv.Atoi(os.Getenv("JPY_PARENT_PID"))
	if err != nil || want <= 1 {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if os.Getppid() != want {
				k.log.Printf("parent process %d is gone: exiting", want)
				k.exitOnce.Do(func() { close(k.exit) })
				return
			}
		case <-k.ctx.Done():
			return
		}
	}
}

func (k *Kernel) heartbeat() {
	for {
		msg, err := k.hb.Recv()
		if err != nil {
			if k.ctx.Err() != nil {
				return
			}
			continue
		}
		if err := k.hb.Send(msg); err != nil && k.ctx.Err() == nil {
			k.log.Printf("heartbeat: %v", err)
		}
	}
}

// pipeLoop is an interpreter child's receiver: it reads the requests the
// supervisor forwards (already checked there) and routes them as the socket
// receivers do. The end of the pipe (the supervisor is gone) ends the child.
func (k *Kernel) pipeLoop(onStdin func(*Message)) {
	ctrl := make(chan *Message, 64)
	go func() {
		for m := range ctrl {
			k.handleControl(m)
		}
	}()
	for {
		ch, frames, err := k.pipeIn.read()
		if err != nil {
			if err != io.EOF {
				k.log.Printf("supervisor pipe: %v", err)
			}
			k.exitOnce.Do(func() { close(k.exit) })
			return
		}
		m, err := Parse(frames, k.signer)
		if err != nil {
			k.log.Printf("refused a message from the supervisor: %v", err)
			continue
		}
		switch ch {
		case chShell:
			k.queue <- m
		case chControl:
			ctrl <- m
		case chStdin:
			onStdin(m)
		}
	}
}

// begin tells the supervisor that shell request m is being handled (a
// child only).
func (k *Kernel) begin(m *Message) {
	if k.pipeOut != nil {
		_ = k.pipeOut.write(chBegin, [][]byte{[]byte(m.Header.MsgID)})
	}
}

// done tells the supervisor that shell request m is finished (a child only).
func (k *Kernel) done(m *Message) {
	if k.pipeOut != nil {
		_ = k.pipeOut.write(chDone, [][]byte{[]byte(m.Header.MsgID)})
	}
}

// recvLoop reads messages from s; malformed, badly signed or replayed ones
// are logged and dropped, never fatal.
func (k *Kernel) recvLoop(s *socket, handle func(*Message)) {
	for {
		zm, err := s.s.Recv()
		if err != nil {
			if k.ctx.Err() != nil {
				return
			}
			k.log.Printf("receive: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		m, err := Parse(zm.Frames, k.signer)
		if err != nil {
			k.log.Printf("refused a message: %v", err)
			continue
		}
		if err := k.replays.check(zm.Frames, m); err != nil {
			k.log.Print(err)
			continue
		}
		handle(m)
	}
}

// shellLoop handles shell requests one at a time, in arrival order.
func (k *Kernel) shellLoop() {
	for {
		if len(k.front) > 0 {
			m := k.front[0]
			k.front = k.front[1:]
			k.handleShell(m)
			continue
		}
		select {
		case m := <-k.queue:
			k.handleShell(m)
		case <-k.ctx.Done():
			return
		}
	}
}

// handleControl runs on the control socket's goroutine, so that interrupt
// and shutdown are answered while a cell runs.
func (k *Kernel) handleControl(m *Message) {
	k.busy(m)
	defer k.idle(m)
	defer k.survive(m)
	switch m.Header.MsgType {
	case "interrupt_request":
		k.interrupt()
		k.reply(k.ctrl, m, "interrupt_reply", map[string]any{"status": "ok"})
	case "shutdown_request":
		k.shutdown(k.ctrl, m)
	case "kernel_info_request":
		k.reply(k.ctrl, m, "kernel_info_reply", k.kernelInfo())
	case "usage_request":
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		k.reply(k.ctrl, m, "usage_reply", map[string]any{"kernel_memory": ms.Sys, "pid": os.Getpid()})
	default:
		k.log.Printf("unknown control message type %q: ignored", m.Header.MsgType)
	}
}

func (k *Kernel) handleShell(m *Message) {
	k.begin(m)
	defer k.done(m)
	k.busy(m)
	defer k.idle(m)
	defer k.survive(m)
	switch m.Header.MsgType {
	case "kernel_info_request":
		k.reply(k.shell, m, "kernel_info_reply", k.kernelInfo())
	case "execute_request":
		k.execute(m)
	case "complete_request":
		k.complete(m)
	case "inspect_request":
		k.inspect(m)
	case "is_complete_request":
		k.isComplete(m)
	case "history_request":
		k.historyReply(m)
	case "comm_info_request":
		k.reply(k.shell, m, "comm_info_reply", map[string]any{"status": "ok", "comms": map[string]any{}})
	case "comm_open":
		var c struct {
			CommID string `json:"comm_id"`
		}
		_ = json.Unmarshal(m.Content, &c)
		k.publish(m, "comm_close", map[string]any{"comm_id": c.CommID, "data": map[string]any{}})
	case "comm_msg", "comm_close":
		// No comm targets are registered; nothing to do.
	case "shutdown_request":
		k.shutdown(k.shell, m)
	case "interrupt_request":
		k.interrupt()
		k.reply(k.shell, m, "interrupt_reply", map[string]any{"status": "ok"})
	default:
		k.log.Printf("unknown shell message type %q: ignored", m.Header.MsgType)
	}
}

// survive logs a panic in a request handler instead of letting it end the
// kernel; the request stays unanswered.
func (k *Kernel) survive(m *Message) {
	if r := recover(); r != nil {
		k.log.Printf("%s: internal error: %v\n%s", m.Header.MsgType, r, debug.Stack())
	}
}

func (k *Kernel) interrupt() {
	k.execMu.Lock()
	defer k.execMu.Unlock()
	if k.cancel != nil {
		k.cancel()
	}
}

func (k *Kernel) shutdown(s *socket, m *Message) {
	var c struct {
		Restart bool `json:"restart"`
	}
	_ = json.Unmarshal(m.Content, &c)
	k.interrupt()
	content := map[string]any{"status": "ok", "restart": c.Restart}
	k.reply(s, m, "shutdown_reply", content)
	k.publish(m, "shutdown_reply", content)
	k.exitOnce.Do(func() { close(k.exit) })
}

func (k *Kernel) kernelInfo() map[string]any {
	return map[string]any{
		"status":                 "ok",
		"protocol_version":       ProtocolVersion,
		"implementation":         "furious",
		"implementation_version": Version,
		"language_info": map[string]any{
			"name":               "go",
			"version":            strings.TrimPrefix(runtime.Version(), "go"),
			"mimetype":           "text/x-go",
			"file_extension":     ".go",
			"pygments_lexer":     "go",
			"codemirror_mode":    "go",
			"nbconvert_exporter": "script",
		},
		"banner": "furious " + Version + " — Go " + strings.TrimPrefix(runtime.Version(), "go") +
			" interpreted by yaegi, with gonum and furious's tensor packages\ncompute: " + tensor.Device(),
		"help_links": []map[string]string{
			{"text": "Go documentation", "url": "https://go.dev/doc/"},
			{"text": "Go standard library", "url": "https://pkg.go.dev/std"},
			{"text": "gonum", "url": "https://pkg.go.dev/gonum.org/v1/gonum"},
			{"text": "yaegi", "url": "https://github.com/traefik/yaegi"},
		},
		"debugger": false,
	}
}

// header makes a header for a message we send.
func (k *Kernel) header(msgType string) Header {
	return Header{MsgID: newID(), Session: k.session, Username: "furious", Date: now(), MsgType: msgType, Version: ProtocolVersion}
}

func (k *Kernel) message(parent *Message, msgType string, content any) (*Message, error) {
	c, err := json.Marshal(content)
	if err != nil {
		return nil, err
	}
	out := &Message{Header: k.header(msgType), Content: c, Metadata: json.RawMessage("{}")}
	if parent != nil {
		out.Parent = parent.HeaderRaw
	}
	return out, nil
}

// reply answers request m on socket s, routed to m's identities.
func (k *Kernel) reply(s *socket, m *Message, msgType string, content any) {
	out, err := k.message(m, msgType, content)
	if err != nil {
		k.log.Printf("%s: encoding: %v", msgType, err)
		return
	}
	out.Identities = m.Identities
	k.sendOn(s, out)
}

// publish sends an iopub message whose parent is m (nil for none).
func (k *Kernel) publish(m *Message, msgType string, content any) {
	out, err := k.message(m, msgType, content)
	if err != nil {
		k.log.Printf("%s: encoding: %v", msgType, err)
		return
	}
	out.Identities = [][]byte{[]byte("kernel." + k.session + "." + msgType)}
	k.sendOn(k.iopub, out)
}

func (k *Kernel) sendOn(s *socket, m *Message) {
	frames, err := m.Frames(k.signer)
	if err != nil {
		k.log.Printf("%s: %v", m.Header.MsgType, err)
		return
	}
	if err := s.send(frames); err != nil && !k.closed.Load() {
		k.log.Printf("sending %s: %v", m.Header.MsgType, err)
	}
}

func (k *Kernel) busy(m *Message) { k.publish(m, "status", map[string]any{"execution_state": "busy"}) }
func (k *Kernel) idle(m *Message) {
	k.streams.flush()
	k.publish(m, "status", map[string]any{"execution_state": "idle"})
}

// errKernelStopped is returned to a cell reading stdin during shutdown.
var errKernelStopped = errors.New("kernel: stopping")
