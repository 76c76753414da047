// Package kernel is furious's Jupyter kernel: the messaging protocol 5.3
// over ZeroMQ, routing requests to a dsl.Session.
//
// # Supervisor and interpreter
//
// Some failures end a Go process whatever it does: "fatal error: concurrent
// map writes", the runtime out of memory, a stack overflow, a kill by the
// system. So `furious kernel` is two processes. The supervisor
// (NewSupervisor) owns the connection file's sockets, answers the heartbeat,
// checks signatures and refuses replays; the interpreter (NewChild: the
// same Kernel code and a dsl.Session) runs in a child process and talks to
// it over two pipes. A record on a pipe is a channel byte (shell, control,
// stdin, iopub) and the ZeroMQ frames of one message, as they are on the
// wire, so the supervisor relays without decoding what the interpreter
// sends; two more channels tell it that a shell request is finished and the
// execution count. When the child dies, the shell request it was handling
// gets an error reply (and an error on iopub) carrying the runtime's own
// message ("fatal error: concurrent map writes") and saying in plain words
// that the session's state is lost; execute requests queued behind it are
// aborted as after any failed cell; a new interpreter starts and takes the
// other requests. If nothing was running, the next cell is told. Interrupt,
// stdin, display updates and comms are ordinary messages on the pipe, so
// they work unchanged, and the GPU is opened again by the new child.
//
// Why pipes rather than a second set of ZeroMQ sockets between the two
// processes: a pipe hop is one write and one read (the cost on a `1+1`
// round trip is within the noise of a loaded 2-core machine, see the
// README), needs no ports, no handshake and no second signing, and ends by
// itself when either process dies: the child exits when its input pipe
// closes, so no interpreter outlives its supervisor. The child has its own
// process group; a SIGINT to the supervisor is forwarded once. The price is
// a second process (about 25 MB resident). `furious kernel --in-process`
// keeps the single-process kernel (New).
//
// # Sockets
//
// New binds the five sockets of the connection file, and only those, with
// github.com/go-zeromq/zmq4 (pure Go, no libzmq): shell, control and stdin
// are ROUTER sockets, iopub is PUB, the heartbeat is REP and echoes.
// zmq4 sockets are not safe for concurrent sends, so each has a send lock.
//
// # Messages
//
// Parse checks the HMAC-SHA256 signature of every incoming message (in
// constant time) before decoding it; a badly signed, malformed or unknown
// message is logged to stderr and dropped, never fatal. A message whose
// signature is among the last 16 384 received is a replay: logged and
// dropped (replayGuard), as jupyter_client does. Replies carry the
// request's header as parent_header, verbatim.
//
// # Routing
//
// One goroutine per socket receives. Shell requests queue and run one at a
// time in arrival order; control requests (interrupt, shutdown,
// kernel_info, usage) are answered at once on the control socket, even
// while a cell runs. Every request is wrapped in busy/idle status messages
// on iopub; "starting" is published once.
//
// # Execution
//
// execute_request publishes execute_input, streams stdout/stderr (flushed
// every 20 ms and before any other output, so order is kept), display_data,
// execute_result and error, and replies with the execution_count. A failed
// cell with stop_on_error aborts the execute requests already queued.
// interrupt_request and SIGINT cancel the running cell's context. A cell
// reading standard input sends input_request on the stdin socket when the
// client allows it. "name?" asks for documentation, returned as a pager
// payload.
//
// shutdown_request ends the interpreter after replying, and then the
// supervisor; a restart is a fresh process (and so a fresh interpreter)
// started by the client. The kernel also exits when the process named by
// JPY_PARENT_PID disappears.
package kernel
