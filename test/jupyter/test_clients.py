"""Drive the furious kernel through jupyter_client's KernelManager, the way
Jupyter front ends do. Run by jupyter_test.go with the kernelspec installed
in a temporary JUPYTER_PATH; needs Debian's python3-jupyter-client."""

import hashlib
import hmac
import json
import os
import signal
import statistics
import time
import unittest
import uuid
from queue import Empty

import zmq
from jupyter_client.manager import KernelManager

KERNEL = "furious"
TIMEOUT = 20


def start():
    km = KernelManager(kernel_name=KERNEL)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=TIMEOUT)
    return km, kc


def kernel_pid(km):
    prov = getattr(km, "provisioner", None)
    if prov is not None and getattr(prov, "process", None) is not None:
        return prov.process.pid
    return km.kernel.pid


def process_tree(pid):
    """pid and its descendants (the supervisor and its interpreter)."""
    out = [pid]
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                for c in f.read().split():
                    out += process_tree(int(c))
        except OSError:
            pass
    return out


def rss_kb_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Run:
    """The messages of one execution, collected up to the idle status."""

    def __init__(self, kc, code, allow_stdin=False, stdin=None, stop_on_error=True, wait=True):
        self.kc = kc
        self.msg_id = kc.execute(code, allow_stdin=allow_stdin, stop_on_error=stop_on_error)
        self.outputs = []
        self.reply = None
        self.stdin = stdin
        if wait:
            self.wait()

    def wait(self, timeout=TIMEOUT):
        deadline = time.time() + timeout
        idle = False
        while not idle:
            if self.stdin is not None:
                try:
                    m = self.kc.get_stdin_msg(timeout=0.01)
                    if m["msg_type"] == "input_request":
                        self.kc.input(self.stdin)
                except Empty:
                    pass
            try:
                m = self.kc.get_iopub_msg(timeout=0.05)
            except Empty:
                if time.time() > deadline:
                    raise AssertionError("no idle status within %ss" % timeout)
                continue
            if m["parent_header"].get("msg_id") != self.msg_id:
                continue
            m["_t"] = time.time()
            if m["msg_type"] == "status":
                idle = m["content"]["execution_state"] == "idle"
                continue
            self.outputs.append(m)
        while self.reply is None:
            r = self.kc.get_shell_msg(timeout=max(1, deadline - time.time()))
            if r["parent_header"].get("msg_id") == self.msg_id:
                self.reply = r
        return self

    def of(self, msg_type):
        return [m for m in self.outputs if m["msg_type"] == msg_type]

    def stdout(self):
        return "".join(m["content"]["text"] for m in self.of("stream") if m["content"]["name"] == "stdout")

    def result(self, mime="text/plain"):
        rs = self.of("execute_result")
        return rs[-1]["content"]["data"].get(mime) if rs else None


class KernelClientTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start()

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)

    def run_ok(self, code, **kw):
        r = Run(self.kc, code, **kw)
        self.assertEqual(r.reply["content"]["status"], "ok", r.reply["content"])
        return r

    def test_kernel_info(self):
        self.kc.kernel_info()
        info = self.kc.get_shell_msg(timeout=TIMEOUT)["content"]
        li = info["language_info"]
        self.assertEqual(info["protocol_version"].split(".")[0], "5")
        self.assertGreaterEqual(tuple(int(x) for x in info["protocol_version"].split(".")[:2]), (5, 3))
        self.assertEqual(li["name"], "go")
        self.assertEqual(li["mimetype"], "text/x-go")
        self.assertEqual(li["file_extension"], ".go")
        for key in ("version", "pygments_lexer", "codemirror_mode"):
            self.assertTrue(li[key], key)
        self.assertTrue(info["banner"])
        self.assertTrue(info["help_links"])

    def test_execute_result_count_and_input(self):
        r = self.run_ok("x := 40\nx + 2")
        self.assertEqual(r.result(), "42")
        n = r.reply["content"]["execution_count"]
        self.assertEqual(r.of("execute_input")[0]["content"]["execution_count"], n)
        self.assertEqual(r.of("execute_result")[0]["content"]["execution_count"], n)
        r2 = self.run_ok("x")
        self.assertEqual(r2.reply["content"]["execution_count"], n + 1)

    def test_println_has_no_result(self):
        r = self.run_ok('import "fmt"\nfmt.Println("hi")')
        self.assertEqual(r.stdout(), "hi\n")
        self.assertEqual(r.of("execute_result"), [])

    def test_silent_and_user_expressions(self):
        self.kc.execute("secret := 6 * 7", silent=True, user_expressions={"v": "secret", "bad": "nope +"})
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        self.assertEqual(reply["content"]["status"], "ok")
        ue = reply["content"]["user_expressions"]
        self.assertEqual(ue["v"]["data"]["text/plain"], "42")
        self.assertEqual(ue["bad"]["status"], "error")

    def test_goroutine_output_in_order_and_streaming(self):
        code = """import ("fmt"; "sync"; "time")
var wg sync.WaitGroup
for i := 0; i < 3; i++ {
	wg.Add(1)
	go func(i int) { defer wg.Done(); time.Sleep(time.Duration(40*i) * time.Millisecond); fmt.Println("g", i) }(i)
}
wg.Wait()
fmt.Println("first")
time.Sleep(600 * time.Millisecond)
fmt.Println("second")"""
        r = self.run_ok(code)
        self.assertEqual(r.stdout(), "g 0\ng 1\ng 2\nfirst\nsecond\n")
        streams = r.of("stream")
        first = [m for m in streams if "first" in m["content"]["text"]][0]
        second = [m for m in streams if "second" in m["content"]["text"]][0]
        # "first" was sent while the cell was still sleeping.
        self.assertGreater(second["_t"] - first["_t"], 0.3)

    def test_stdout_stderr_order(self):
        r = self.run_ok('import ("fmt"; "os")\nfmt.Println("o1")\nfmt.Fprintln(os.Stderr, "e1")\nfmt.Println("o2")')
        seq = [(m["content"]["name"], m["content"]["text"]) for m in r.of("stream")]
        self.assertEqual(seq, [("stdout", "o1\n"), ("stderr", "e1\n"), ("stdout", "o2\n")])

    def test_redefinition(self):
        self.run_ok("func twice(v int) int { return 2 * v }")
        self.run_ok("func twice(v int) int { return 3 * v }")
        self.assertEqual(self.run_ok("twice(2)").result(), "6")
        self.run_ok("type Pt struct{ X int }")
        r = Run(self.kc, "type Pt struct{ X, Y int }")
        self.assertEqual(r.reply["content"]["status"], "error")
        self.assertIn("restart", r.reply["content"]["evalue"])

    def test_compile_error_position(self):
        r = Run(self.kc, "a := 1\nb := a + undefinedThing")
        c = r.reply["content"]
        self.assertEqual(c["status"], "error")
        self.assertIn("cell 2:", c["evalue"])
        self.assertIsInstance(c["traceback"], list)
        self.assertEqual(len(r.of("error")), 1)

    def test_panic_keeps_state(self):
        self.run_ok("kept := 11")
        r = Run(self.kc, 'func explode() { panic("kaboom") }\nexplode()')
        c = r.reply["content"]
        self.assertEqual((c["status"], c["ename"], c["evalue"]), ("error", "panic", "kaboom"))
        self.assertTrue(any("cell" in line for line in c["traceback"]), c["traceback"])
        self.assertEqual(self.run_ok("kept").result(), "11")

    def test_stop_on_error_aborts_queue(self):
        first = self.kc.execute('panic("stop")')
        second = self.kc.execute("aborted := 1")
        replies = {}
        while len(replies) < 2:
            m = self.kc.get_shell_msg(timeout=TIMEOUT)
            replies[m["parent_header"]["msg_id"]] = m["content"]
        self.assertEqual(replies[first]["status"], "error")
        self.assertEqual(replies[second]["status"], "aborted")
        # Without stop_on_error the next one runs.
        self.kc.execute('panic("go on")', stop_on_error=False)
        third = self.kc.execute("1")
        replies = {}
        while len(replies) < 2:
            m = self.kc.get_shell_msg(timeout=TIMEOUT)
            replies[m["parent_header"]["msg_id"]] = m["content"]
        self.assertEqual(replies[third]["status"], "ok")

    def test_complete(self):
        self.run_ok('import "strings"')
        self.kc.complete("strings.ToLo", 12)
        c = self.kc.get_shell_msg(timeout=TIMEOUT)["content"]
        self.assertIn("ToLower", c["matches"])
        self.assertEqual((c["cursor_start"], c["cursor_end"]), (8, 12))
        # cursor_pos counts code points, not bytes.
        code = 'é := "ü"\nstrings.ToLo'
        self.kc.complete(code, len(code))
        c = self.kc.get_shell_msg(timeout=TIMEOUT)["content"]
        self.assertIn("ToLower", c["matches"])
        self.assertEqual(c["cursor_start"], len(code) - 4)
        # Names in scope and fields of values.
        self.run_ok("type Rec struct{ Alpha, Beta int }\nrecord := Rec{1, 2}")
        self.kc.complete("record.Al", 9)
        self.assertIn("Alpha", self.kc.get_shell_msg(timeout=TIMEOUT)["content"]["matches"])
        self.kc.complete("reco", 4)
        self.assertIn("record", self.kc.get_shell_msg(timeout=TIMEOUT)["content"]["matches"])
        # Fast: no first-request stall (median of five, robust to a busy CI machine).
        times = []
        for _ in range(5):
            t = time.time()
            self.kc.complete("math.Sq", 7)
            c = self.kc.get_shell_msg(timeout=TIMEOUT)["content"]
            times.append(time.time() - t)
            self.assertIn("Sqrt", c["matches"])
        self.assertLess(statistics.median(times), 0.1, times)

    def test_inspect(self):
        self.kc.inspect("strings.ToUpper", 10)
        c = self.kc.get_shell_msg(timeout=TIMEOUT)["content"]
        self.assertTrue(c["found"])
        self.assertIn("func ToUpper(s string) string", c["data"]["text/plain"])
        self.kc.inspect("tensor.New", 8)
        c = self.kc.get_shell_msg(timeout=TIMEOUT)["content"]
        self.assertTrue(c["found"], c)
        self.assertIn("func New(", c["data"]["text/plain"])
        self.kc.inspect("nosuchthing", 3)
        self.assertFalse(self.kc.get_shell_msg(timeout=TIMEOUT)["content"]["found"])

    def test_is_complete(self):
        for code, want in [("x := 1", "complete"), ("func f() {", "incomplete"), ("x := )", "invalid"),
                           ("y := 2 +", "incomplete")]:
            self.kc.is_complete(code)
            c = self.kc.get_shell_msg(timeout=TIMEOUT)["content"]
            self.assertEqual(c["status"], want, code)
            if want == "incomplete":
                self.assertIn("indent", c)

    def test_history(self):
        self.run_ok("histmark := 1")
        self.run_ok("histmark + 1")
        self.kc.history(hist_access_type="tail", n=2, output=False, raw=True)
        h = self.kc.get_shell_msg(timeout=TIMEOUT)["content"]["history"]
        self.assertEqual([e[2] for e in h], ["histmark := 1", "histmark + 1"])
        session, line = h[0][0], h[0][1]
        self.kc.history(hist_access_type="range", session=session, start=line, stop=line + 1, output=False, raw=True)
        h = self.kc.get_shell_msg(timeout=TIMEOUT)["content"]["history"]
        self.assertEqual(h, [[session, line, "histmark := 1"]])
        self.kc.history(hist_access_type="search", pattern="histmark*", output=False, raw=True)
        h = self.kc.get_shell_msg(timeout=TIMEOUT)["content"]["history"]
        self.assertGreaterEqual(len(h), 2)

    def test_comms(self):
        self.kc.comm_info()
        c = self.kc.get_shell_msg(timeout=TIMEOUT)["content"]
        self.assertEqual(c["status"], "ok")
        self.assertEqual(c["comms"], {})
        comm_id = uuid.uuid4().hex
        msg = self.kc.session.msg("comm_open", {"comm_id": comm_id, "target_name": "nobody", "data": {}})
        self.kc.shell_channel.send(msg)
        deadline = time.time() + TIMEOUT
        while True:
            m = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.time()))
            if m["msg_type"] == "comm_close" and m["content"]["comm_id"] == comm_id:
                break

    def test_stdin(self):
        r = self.run_ok('import "fmt"\nvar who string\nfmt.Print("name? ")\nfmt.Scanln(&who)\nfmt.Println("hello", who)',
                        allow_stdin=True, stdin="gopher")
        self.assertEqual(r.stdout(), "name? hello gopher\n")
        # Not allowed: the cell gets an error instead of hanging.
        r = Run(self.kc, 'var w2 string\n_, err := fmt.Scanln(&w2)\nerr != nil', allow_stdin=False)
        self.assertEqual(r.result(), "true")

    def test_display(self):
        r = self.run_ok('h := display.NewHandle()\nh.Show(display.Markdown("one"))\nh.Update(display.Markdown("two"))')
        shown = r.of("display_data")[0]["content"]
        upd = r.of("update_display_data")[0]["content"]
        self.assertEqual(shown["transient"]["display_id"], upd["transient"]["display_id"])
        self.assertEqual(upd["data"]["text/markdown"], "two")
        r = self.run_ok('display.ClearOutput(true)')
        self.assertEqual(r.of("clear_output")[0]["content"]["wait"], True)

    def test_rich_results(self):
        r = self.run_ok('type Badge struct{ N int }\nfunc (b Badge) HTML() string { return fmt.Sprintf("<i>%d</i>", b.N) }\nBadge{7}')
        self.assertEqual(r.result("text/html"), "<i>7</i>")
        r = self.run_ok('import ("image"; "image/color")\nimg := image.NewRGBA(image.Rect(0, 0, 4, 4))\nimg.Set(1, 1, color.RGBA{255, 0, 0, 255})\nimg')
        self.assertTrue(r.result("image/png"))
        r = self.run_ok('import ("gonum.org/v1/plot"; "gonum.org/v1/plot/plotter")\n'
                        'p := plot.New()\nl, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})\np.Add(l)\np')
        self.assertTrue(r.result("image/png"))
        r = self.run_ok('bar := display.NewProgress(3, "work")\nfor i := 0; i < 3; i++ { bar.Add(1) }')
        self.assertTrue(r.of("display_data"))
        self.assertTrue(r.of("update_display_data"))

    def test_bad_messages_leave_kernel_running(self):
        cfg = self.km.get_connection_info()
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.DEALER)
        sock.connect("%s://%s:%d" % (cfg["transport"], cfg["ip"], cfg["shell_port"]))
        key = cfg["key"] if isinstance(cfg["key"], bytes) else cfg["key"].encode()

        def frames(msg_type, content, sign=True, header=None):
            h = header if header is not None else json.dumps({
                "msg_id": uuid.uuid4().hex, "session": "raw", "username": "t", "date": "2024-01-01T00:00:00Z",
                "msg_type": msg_type, "version": "5.3"}).encode()
            parts = [h, b"{}", b"{}", content]
            sig = hmac.new(key, b"".join(parts), hashlib.sha256).hexdigest().encode() if sign else b"0" * 64
            return [b"<IDS|MSG>", sig] + parts

        sock.send_multipart([b"garbage"])
        sock.send_multipart(frames("execute_request", b'{"code": "1"}', sign=False))
        sock.send_multipart(frames("execute_request", b'{"code": ', sign=True))
        sock.send_multipart(frames("x", b"{}", header=b"{not json"))
        sock.send_multipart(frames("no_such_request", b"{}"))
        big = json.dumps({"code": "// " + "x" * (50 * 1024 * 1024), "silent": True}).encode()
        sock.send_multipart(frames("execute_request", big))
        sock.close(linger=1000)
        # The kernel still answers, and its heartbeat too.
        self.assertEqual(self.run_ok("1 + 1").result(), "2")
        self.assertTrue(self.kc.is_alive())


class LifecycleTests(unittest.TestCase):
    def test_interrupt_message_and_sigint(self):
        km, kc = start()
        try:
            Run(kc, "counter := 0")
            for how in ("message", "signal"):
                r = Run(kc, "for { counter++ }", wait=False)
                time.sleep(0.5)
                t = time.time()
                if how == "message":
                    km.interrupt_kernel()
                else:
                    km.signal_kernel(signal.SIGINT)
                r.wait()
                self.assertLess(time.time() - t, 1.0, how)
                c = r.reply["content"]
                self.assertEqual((c["status"], c["ename"]), ("error", "Interrupted"), how)
                after = Run(kc, "counter > 0")
                self.assertEqual(after.result(), "true", how)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)

    def test_restart_gives_fresh_interpreter(self):
        km, kc = start()
        try:
            Run(kc, "before := 1")
            self.assertEqual(Run(kc, "before").result(), "1")
            km.restart_kernel(now=False)
            kc.wait_for_ready(timeout=TIMEOUT)
            r = Run(kc, "before")
            self.assertEqual(r.reply["content"]["status"], "error")
            self.assertEqual(Run(kc, "2 * 21").result(), "42")
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)

    def test_shutdown(self):
        km, kc = start()
        kc.shutdown()
        reply = kc.get_control_msg(timeout=TIMEOUT) if hasattr(kc, "get_control_msg") else None
        if reply is not None:
            self.assertEqual(reply["msg_type"], "shutdown_reply")
        deadline = time.time() + 5
        while km.is_alive() and time.time() < deadline:
            time.sleep(0.05)
        self.assertFalse(km.is_alive())
        kc.stop_channels()
        km.cleanup_resources()


class Benchmarks(unittest.TestCase):
    """Launch time, execute round trip and idle memory, written to
    $FURIOUS_BENCH_OUT (JSON) when set."""

    def test_benchmarks(self):
        t0 = time.perf_counter()
        km = KernelManager(kernel_name=KERNEL)
        km.start_kernel()
        kc = km.client()
        kc.start_channels()
        kc.kernel_info()
        while True:
            m = kc.get_shell_msg(timeout=TIMEOUT)
            if m["msg_type"] == "kernel_info_reply":
                break
        launch = time.perf_counter() - t0
        try:
            Run(kc, "1+1")  # warm up
            rtts = []
            for _ in range(100):
                t = time.perf_counter()
                msg_id = kc.execute("1+1")
                while True:
                    m = kc.get_shell_msg(timeout=TIMEOUT)
                    if m["parent_header"].get("msg_id") == msg_id:
                        break
                rtts.append(time.perf_counter() - t)
            median = statistics.median(rtts)
            time.sleep(1.0)
            rss_kb = sum(rss_kb_of(p) for p in process_tree(kernel_pid(km)))
            res = {"launch_to_kernel_info_reply_s": round(launch, 4), "execute_1plus1_median_ms": round(median * 1e3, 3),
                   "execute_1plus1_p90_ms": round(sorted(rtts)[89] * 1e3, 3), "idle_rss_mb": round(rss_kb / 1024, 1)}
            print("\nBENCH " + json.dumps(res))
            out = os.environ.get("FURIOUS_BENCH_OUT")
            if out:
                with open(out, "w") as f:
                    json.dump(res, f, indent=2)
            # The targets are launch < 1 s, round trip < 5 ms and RSS < 150 MB;
            # the measured numbers are recorded in the README. Speed is judged from
            # those records, not by this test: on a shared machine it only guards
            # against gross regressions (10x the targets), and memory exactly.
            self.assertLess(launch, 10.0)
            self.assertLess(median, 0.05)
            self.assertLess(rss_kb / 1024, 150)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


if __name__ == "__main__":
    unittest.main()
