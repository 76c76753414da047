package kernel

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
)

// TestMain makes this test binary the interpreter child when
// FURIOUS_TEST_CHILD names a connection file.
func TestMain(m *testing.M) {
	if file := os.Getenv("FURIOUS_TEST_CHILD"); file != "" {
		conn, err := ReadConnectionFile(file)
		if err != nil {
			panic(err)
		}
		k, err := NewChild(conn, os.NewFile(3, "in"), os.NewFile(4, "out"), io.Discard)
		if err != nil {
			panic(err)
		}
		os.Exit(k.Serve())
	}
	os.Exit(m.Run())
}

// TestSupervisorSurvivesFatalError: a fatal runtime error in a cell ends
// the interpreter, not the kernel: the cell's reply names the runtime's
// message and says the state is lost, the next cell runs in a new
// interpreter, and shutdown ends both processes.
func TestSupervisorSurvivesFatalError(t *testing.T) {
	conn := &ConnectionInfo{Transport: "tcp", IP: "127.0.0.1", Key: "k", SignatureScheme: "hmac-sha256",
		ShellPort: freePort(t), ControlPort: freePort(t), StdinPort: freePort(t), IOPubPort: freePort(t), HBPort: freePort(t)}
	file := t.TempDir() + "/conn.json"
	b, _ := json.Marshal(conn)
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := NewSupervisor(conn, io.Discard, func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "FURIOUS_TEST_CHILD="+file)
		cmd.Stdout = io.Discard // its stderr is the supervisor's to read
		return cmd
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int)
	go func() { done <- s.Serve() }()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signer, _ := NewSigner("hmac-sha256", "k")
	c := &client{t: t, signer: signer, shell: zmq4.NewDealer(ctx)}
	defer c.shell.Close()
	if err := c.shell.Dial(conn.Endpoint(conn.ShellPort)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let the connection settle
	execute := func(code string) map[string]any {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"code": code, "stop_on_error": false})
		var rep map[string]any
		json.Unmarshal(c.reply(c.send("execute_request", string(b))).Content, &rep)
		return rep
	}
	if rep := execute("keep := 1\nkeep + 1"); rep["status"] != "ok" {
		t.Fatalf("first cell: %v", rep)
	}
	rep := execute("m := map[int]int{}\nfor g := 0; g < 4; g++ { go func() { for i := 0; ; i++ { m[i%64] = i } }() }\n" +
		"for { m[0]++ }")
	if rep["status"] != "error" || !strings.Contains(rep["evalue"].(string), "concurrent map") ||
		!strings.Contains(rep["evalue"].(string), "state is lost") {
		t.Fatalf("the fatal cell's reply: %v", rep)
	}
	if rep := execute("keep"); rep["status"] != "error" || !strings.Contains(rep["evalue"].(string), "undefined: keep") {
		t.Errorf("the new interpreter has the old state: %v", rep)
	}
	if rep := execute("2 + 2"); rep["status"] != "ok" {
		t.Errorf("after the restart: %v", rep)
	}
	c.reply(c.send("shutdown_request", `{"restart":false}`))
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the supervisor did not stop after shutdown_request")
	}
}
