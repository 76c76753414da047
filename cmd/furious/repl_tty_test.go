package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestReplTerminal drives `furious repl` in a real terminal (tmux): Ctrl-C
// interrupts a running cell and keeps the session, Ctrl-C at the prompt
// clears the line, Up recalls a multi-line cell whole, Ctrl-D on an empty
// line exits. It needs tmux (scripts/deps.sh test); without it the test
// skips, except under CI=true where it fails.
func TestReplTerminal(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux not installed (scripts/deps.sh test installs it)")
		}
		t.Skip("tmux not installed")
	}
	bin := furious(t)
	name := fmt.Sprintf("furious-repl-%d", os.Getpid())
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tmux("new-session", "-d", "-s", name, "-x", "150", "-y", "50", bin+" repl; echo REPL-EXIT $?; sleep 60")
	defer exec.Command("tmux", "kill-session", "-t", name).Run()
	screen := func() string { return tmux("capture-pane", "-p", "-t", name) }
	// wait until the screen has want n times (after what was there before).
	wait := func(want string, n int) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for strings.Count(screen(), want) < n {
			if time.Now().After(deadline) {
				t.Fatalf("no %d× %q on the screen:\n%s", n, want, screen())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	keys := func(k ...string) { tmux(append([]string{"send-keys", "-t", name}, k...)...) }

	wait("go>", 1) // capture-pane drops trailing blanks
	keys("n := 0", "Enter", "for { n++ }", "Enter")
	time.Sleep(500 * time.Millisecond)
	keys("C-c")
	wait("Interrupted", 1)
	keys("n > 0", "Enter")
	wait("\ntrue", 1)

	keys("undefinedGarbage", "C-c")
	keys("40+2", "Enter")
	wait("\n42", 1)
	if strings.Contains(screen(), "undefined") {
		t.Errorf("Ctrl-C at the prompt did not clear the line:\n%s", screen())
	}

	keys("for i := 0; i < 2; i++ {", "Enter", `fmt.Println("row", i)`, "Enter", "}", "Enter")
	wait("row 1", 1)
	keys("Up")
	time.Sleep(200 * time.Millisecond)
	keys("Enter")
	wait("row 1", 2)

	keys("C-d")
	wait("REPL-EXIT 0", 1)
}

// A progress bar's redraw erases the line first, so a shorter bar leaves
// no stale characters.
func TestReplProgressErases(t *testing.T) {
	var b strings.Builder
	w := (&replPublisher{w: &b}).TerminalWriter()
	fmt.Fprint(w, "\r[##  ] 50% 1/2 10.5s")
	fmt.Fprint(w, "\r[####] 100% 2/2 1s\n")
	if got := b.String(); got != "\r\x1b[K[##  ] 50% 1/2 10.5s\r\x1b[K[####] 100% 2/2 1s\n" {
		t.Errorf("terminal output %q", got)
	}
}
