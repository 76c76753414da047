"""The robustness suite: every way a cell can fail that issue 13 names,
driven through jupyter_client against the installed kernelspec. After each
case the connection is alive, a follow-up cell works, and the state made
before the case is intact; where the interpreter cannot survive (a fatal
runtime error), the error names the cause and the notebook is told that the
session's state was lost. Run by jupyter_test.go (TestRobustness)."""

import hashlib
import hmac
import json
import os
import signal
import time
import unittest
import uuid

import zmq

from test_clients import TIMEOUT, Run, kernel_pid, process_tree, start


class Robustness(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start()

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=True)

    def setUp(self):
        # State made before each case, checked after it.
        for code in ('import "time"\nkeep := 41', "func helper() int { return keep + 1 }"):
            r = Run(self.kc, code)
            self.assertEqual(r.reply["content"]["status"], "ok", r.reply["content"])

    def alive_and_intact(self):
        self.assertTrue(self.kc.is_alive())
        self.assertTrue(self.km.is_alive())
        r = Run(self.kc, "helper()")
        self.assertEqual(r.result(), "42", r.reply["content"])

    def failing(self, code, *want, timeout=TIMEOUT):
        r = Run(self.kc, code, wait=False).wait(timeout)
        c = r.reply["content"]
        self.assertEqual(c["status"], "error", c)
        errors = r.of("error")
        self.assertTrue(errors, "no error message on iopub")
        text = c["ename"] + ": " + c["evalue"] + "\n" + "\n".join(c["traceback"])
        for w in want:
            self.assertIn(w, text)
        return r, text

    # Recoverable: the cell fails, the session keeps its state.

    def test_panic_in_named_goroutine(self):
        self.failing('func boomG() { panic("x") }; go boomG()\ntime.Sleep(200 * time.Millisecond)',
                     "goroutine boomG started at cell 1:", ": x")
        self.alive_and_intact()

    def test_panic_in_goroutine_literal(self):
        self.failing('go func() { panic("lit") }()\ntime.Sleep(200 * time.Millisecond)',
                     "the goroutine started at cell 1:1", ": lit")
        self.alive_and_intact()

    def test_panic_in_callback_from_compiled_code(self):
        self.failing('time.AfterFunc(10*time.Millisecond, func() { panic("cb") })\ntime.Sleep(200 * time.Millisecond)',
                     "passed to time.AfterFunc", ": cb")
        self.alive_and_intact()

    def test_panic_in_named_callback_from_compiled_code(self):
        Run(self.kc, 'func boomCB() { panic("named cb") }')
        self.failing('time.AfterFunc(10*time.Millisecond, boomCB)\ntime.Sleep(200 * time.Millisecond)',
                     "function boomCB passed to time.AfterFunc", ": named cb")
        self.alive_and_intact()

    def test_panic_in_goroutine_of_an_expression(self):
        self.failing('fs := []func(string){func(s string) { panic(s) }}\ngo fs[0]("from a slice")\ntime.Sleep(200 * time.Millisecond)',
                     "the goroutine started at cell 2:1", ": from a slice")
        self.alive_and_intact()

    def test_panic_in_callback_held_in_a_variable(self):
        self.failing('hv := func() { panic("held") }\ntime.AfterFunc(10*time.Millisecond, hv)\ntime.Sleep(200 * time.Millisecond)',
                     "function hv passed to time.AfterFunc", ": held")
        self.alive_and_intact()

    def test_goroutines_in_a_loop(self):
        # Each goroutine started in a loop runs its own iteration's closure
        # and variables (yaegi could start an earlier one, or a nil func that
        # ended the interpreter, and shared one loop variable).
        r = Run(self.kc, 'out := make(chan int, 3)\nfor _, v := range []int{1, 2, 3} {\n'
                '\tgo func() { time.Sleep(10 * time.Millisecond); out <- v * v }()\n}\n<-out + <-out + <-out')
        self.assertEqual(r.result(), "14", r.reply["content"])
        self.alive_and_intact()

    def test_unbounded_recursion_in_goroutine(self):
        Run(self.kc, "func recG(n int) int { return recG(n+1) + 1 }")
        # The cell outlives the goroutine's descent to the depth limit and
        # its unwinding, O(limit²) in yaegi: 4.9-5.2 s on the 2-core machine
        # on 2026-12-06 (dsl, the default limit), so a 5 s sleep failed
        # about half the time; the error is reported when the cell ends.
        self.failing("go recG(0)\ntime.Sleep(12 * time.Second)", "goroutine recG started at", "recursion too deep: recG",
                     timeout=60)
        self.alive_and_intact()

    def test_panic_in_goroutine_after_its_cell(self):
        # Reported on the stderr of the cell running when it happens.
        r = Run(self.kc, 'go func() { time.Sleep(300 * time.Millisecond); panic("late") }()')
        self.assertEqual(r.reply["content"]["status"], "ok")
        r = Run(self.kc, 'time.Sleep(600 * time.Millisecond)')
        err = "".join(m["content"]["text"] for m in r.of("stream") if m["content"]["name"] == "stderr")
        self.assertIn("late", err)
        self.alive_and_intact()

    def test_unbounded_recursion(self):
        t = time.time()
        self.failing("func rec(n int) int { return rec(n+1) + 1 }; rec(0)", "recursion too deep: rec", timeout=60)
        self.assertLess(time.time() - t, 30)
        self.alive_and_intact()

    def test_make_beyond_memory(self):
        self.failing("big := make([]float64, 1<<36)\nlen(big)", "make([]float64, 1<<36) needs 512.0 GiB")
        self.alive_and_intact()

    # Cells are transactions.

    def test_failed_compile_leaves_no_declarations(self):
        self.failing('w := 1; w = "oops"; y := 2', "CompileError")
        r = Run(self.kc, "y")
        self.assertEqual(r.reply["content"]["status"], "error")
        self.assertIn("undefined: y", r.reply["content"]["evalue"])
        self.alive_and_intact()

    def test_shadowing_in_inner_block(self):
        Run(self.kc, "tr := 5*time.Millisecond")
        r = Run(self.kc, 'for i := 0; i < 2; i++ { tr := "x"; _ = tr }')
        self.assertEqual(r.reply["content"]["status"], "ok", r.reply["content"])
        self.assertEqual(Run(self.kc, "tr").result(), "5ms")
        self.alive_and_intact()

    # Unsurvivable: the interpreter process dies; the connection does not.

    def lost(self, r, text):
        self.assertIn("state is lost", text)
        self.assertTrue(self.kc.is_alive())
        # The connection works and the interpreter is fresh: earlier state is gone.
        self.assertEqual(Run(self.kc, "6 * 7").result(), "42")
        r = Run(self.kc, "keep")
        self.assertEqual(r.reply["content"]["status"], "error")
        self.assertIn("undefined: keep", r.reply["content"]["evalue"])

    def test_concurrent_map_writes(self):
        r, text = self.failing(
            "m := map[int]int{}\nfor g := 0; g < 4; g++ { go func() { for i := 0; ; i++ { m[i%64] = i } }() }\n"
            "time.Sleep(5 * time.Second)", "fatal error: concurrent map writes")
        self.lost(r, text)
        # Interrupt, stdin, display updates and comms work in the new interpreter.
        Run(self.kc, "counter := 0")
        run = Run(self.kc, "for { counter++ }", wait=False)
        time.sleep(0.3)
        self.km.interrupt_kernel()
        run.wait()
        self.assertEqual(run.reply["content"]["ename"], "Interrupted")
        r = Run(self.kc, 'var who string\nfmt.Scanln(&who)\nfmt.Println("hello", who)', allow_stdin=True, stdin="gopher")
        self.assertEqual(r.stdout(), "hello gopher\n")
        r = Run(self.kc, 'h := display.NewHandle()\nh.Show(display.Markdown("one"))\nh.Update(display.Markdown("two"))')
        self.assertEqual(r.of("update_display_data")[0]["content"]["data"]["text/markdown"], "two")
        self.kc.comm_info()
        self.assertEqual(self.kc.get_shell_msg(timeout=TIMEOUT)["content"]["status"], "ok")

    def test_interpreter_killed(self):
        # What the system's out-of-memory killer does: SIGKILL.
        run = Run(self.kc, "time.Sleep(10 * time.Second)", wait=False)
        time.sleep(0.5)
        children = process_tree(kernel_pid(self.km))[1:]
        self.assertTrue(children, "the kernel has no interpreter process")
        os.kill(children[-1], signal.SIGKILL)
        run.wait()
        c = run.reply["content"]
        text = c["evalue"] + "\n".join(c["traceback"])
        self.assertIn("SIGKILL", text)
        self.lost(run, text)

    def test_state_lost_between_cells_is_told(self):
        # The interpreter dies with no cell running: the next cell is told.
        Run(self.kc, "go func() { time.Sleep(200 * time.Millisecond); m := map[int]int{}; "
                     "for g := 0; g < 4; g++ { go func() { for i := 0; ; i++ { m[i%64] = i } }() } }()")
        time.sleep(3)
        r = Run(self.kc, "1 + 1")
        self.assertEqual(r.result(), "2")
        err = "".join(m["content"]["text"] for m in r.of("stream") if m["content"]["name"] == "stderr")
        self.assertIn("concurrent map writes", err)
        self.assertIn("state is lost", err)

    # Replays.

    def test_replayed_message_runs_once(self):
        cfg = self.km.get_connection_info()
        key = cfg["key"] if isinstance(cfg["key"], bytes) else cfg["key"].encode()
        Run(self.kc, "replayed := 0")
        h = json.dumps({"msg_id": uuid.uuid4().hex, "session": "raw", "username": "t",
                        "date": "2024-01-01T00:00:00Z", "msg_type": "execute_request", "version": "5.3"}).encode()
        parts = [h, b"{}", b"{}", json.dumps({"code": "replayed++", "silent": False}).encode()]
        sig = hmac.new(key, b"".join(parts), hashlib.sha256).hexdigest().encode()
        sock = zmq.Context.instance().socket(zmq.DEALER)
        sock.connect("%s://%s:%d" % (cfg["transport"], cfg["ip"], cfg["shell_port"]))
        try:
            sock.send_multipart([b"<IDS|MSG>", sig] + parts)
            sock.send_multipart([b"<IDS|MSG>", sig] + parts)
            replies = 0
            while sock.poll(1500):
                sock.recv_multipart()
                replies += 1
        finally:
            sock.close(linger=0)
        self.assertEqual(replies, 1)
        self.assertEqual(Run(self.kc, "replayed").result(), "1")


if __name__ == "__main__":
    unittest.main()
