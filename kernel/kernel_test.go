package kernel

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type client struct {
	t      *testing.T
	signer *Signer
	shell  zmq4.Socket
	iopub  zmq4.Socket
	iomsgs chan *Message
}

func (c *client) send(msgType, content string) string {
	c.t.Helper()
	m := &Message{Header: Header{MsgID: newID(), Session: "test", Username: "t", Date: now(), MsgType: msgType, Version: ProtocolVersion},
		Parent: json.RawMessage("{}"), Metadata: json.RawMessage("{}"), Content: json.RawMessage(content)}
	f, _ := m.Frames(c.signer)
	if err := c.shell.SendMulti(zmq4.NewMsgFrom(f...)); err != nil {
		c.t.Fatal(err)
	}
	return m.Header.MsgID
}

func (c *client) reply(id string) *Message {
	c.t.Helper()
	for {
		zm, err := c.shell.Recv()
		if err != nil {
			c.t.Fatal(err)
		}
		m, err := Parse(zm.Frames, c.signer)
		if err != nil {
			c.t.Fatal(err)
		}
		if m.ParentHeader().MsgID == id {
			return m
		}
	}
}

// untilIdle collects iopub messages for request id up to its idle status.
func (c *client) untilIdle(id string) []*Message {
	c.t.Helper()
	out, ok := c.idleWithin(id, 10*time.Second)
	if !ok {
		c.t.Fatal("no idle status")
	}
	return out
}

// idleWithin collects iopub messages for request id up to its idle status,
// reporting whether that came within d.
func (c *client) idleWithin(id string, d time.Duration) ([]*Message, bool) {
	var out []*Message
	timeout := time.After(d)
	for {
		select {
		case m := <-c.iomsgs:
			if m.ParentHeader().MsgID != id {
				continue
			}
			if m.Header.MsgType == "status" {
				if strings.Contains(string(m.Content), "idle") {
					return out, true
				}
				continue
			}
			out = append(out, m)
		case <-timeout:
			return out, false
		}
	}
}

// TestKernelInProcess runs a kernel in this process and talks to it with
// zmq4 client sockets: execution, streams, robustness against bad input.
func TestKernelInProcess(t *testing.T) {
	conn := &ConnectionInfo{Transport: "tcp", IP: "127.0.0.1", Key: "k", SignatureScheme: "hmac-sha256",
		ShellPort: freePort(t), ControlPort: freePort(t), StdinPort: freePort(t), IOPubPort: freePort(t), HBPort: freePort(t)}
	k, err := New(conn, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int)
	go func() { done <- k.Serve() }()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signer, _ := NewSigner("hmac-sha256", "k")
	c := &client{t: t, signer: signer, shell: zmq4.NewDealer(ctx), iopub: zmq4.NewSub(ctx), iomsgs: make(chan *Message, 256)}
	defer c.shell.Close()
	defer c.iopub.Close()
	if err := c.shell.Dial(conn.Endpoint(conn.ShellPort)); err != nil {
		t.Fatal(err)
	}
	if err := c.iopub.Dial(conn.Endpoint(conn.IOPubPort)); err != nil {
		t.Fatal(err)
	}
	c.iopub.SetOption(zmq4.OptionSubscribe, "")
	go func() {
		for {
			zm, err := c.iopub.Recv()
			if err != nil {
				return
			}
			if m, err := Parse(zm.Frames, signer); err == nil {
				c.iomsgs <- m
			}
		}
	}()
	// A subscription takes a while to reach the kernel, and what is
	// published before it arrives is lost: ask for kernel_info until its
	// status messages come through (as Jupyter's clients wait for a kernel),
	// not a fixed sleep, which a loaded machine can outlast.
	for start := time.Now(); ; {
		id := c.send("kernel_info_request", "{}")
		c.reply(id)
		if _, ok := c.idleWithin(id, 200*time.Millisecond); ok {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("no status message on iopub within 10 s of subscribing")
		}
	}

	id := c.send("kernel_info_request", "{}")
	var info struct {
		ProtocolVersion string `json:"protocol_version"`
		LanguageInfo    struct {
			Name string `json:"name"`
		} `json:"language_info"`
	}
	json.Unmarshal(c.reply(id).Content, &info)
	if info.ProtocolVersion != ProtocolVersion || info.LanguageInfo.Name != "go" {
		t.Errorf("kernel_info %+v", info)
	}

	// Garbage, a bad signature and unknown types are dropped; the kernel
	// answers the next request.
	c.shell.SendMulti(zmq4.NewMsgFrom([]byte("junk")))
	c.shell.SendMulti(zmq4.NewMsgFrom(delimiter, []byte("00"), []byte("{}"), []byte("{}"), []byte("{}"), []byte("{}")))
	c.send("no_such_request", "{}")

	id = c.send("execute_request", `{"code":"import \"fmt\"\nfmt.Println(\"out\")\n6 * 7"}`)
	msgs := c.untilIdle(id)
	var kinds []string
	for _, m := range msgs {
		kinds = append(kinds, m.Header.MsgType)
	}
	if got := strings.Join(kinds, ","); got != "execute_input,stream,execute_result" {
		t.Errorf("iopub sequence %s", got)
	}
	var rep struct {
		Status         string `json:"status"`
		ExecutionCount int    `json:"execution_count"`
	}
	json.Unmarshal(c.reply(id).Content, &rep)
	if rep.Status != "ok" || rep.ExecutionCount != 1 {
		t.Errorf("execute_reply %+v", rep)
	}

	id = c.send("shutdown_request", `{"restart":false}`)
	c.reply(id)
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("kernel did not stop after shutdown_request")
	}
}
