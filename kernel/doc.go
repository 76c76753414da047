// Package kernel is furious's Jupyter kernel: the messaging protocol 5.3
// over ZeroMQ, routing requests to a dsl.Session.
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
// message is logged to stderr and dropped, never fatal. Replies carry the
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
// shutdown_request ends the process after replying; a restart is a fresh
// process (and so a fresh interpreter) started by the client. The kernel
// also exits when the process named by JPY_PARENT_PID disappears.
package kernel
