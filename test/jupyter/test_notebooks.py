"""Execute a notebook with the furious kernel through nbclient and through
`jupyter nbconvert --execute`, and do one `jupyter console` round trip."""

import os
import subprocess
import sys
import tempfile
import time
import unittest

import nbformat
from nbclient import NotebookClient

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "testdata", "sample.ipynb")


def check_outputs(test, nb):
    nbformat.validate(nb)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    outs = [c.outputs for c in cells]
    test.assertEqual(outs[0][0]["text"], "squares: 9 16\n")
    test.assertEqual(outs[1][0]["data"]["text/plain"], "385")
    test.assertEqual(outs[1][0]["execution_count"], 2)
    test.assertEqual(outs[2][0]["output_type"], "display_data")
    test.assertEqual(outs[2][0]["data"]["text/html"], "<b>bold</b>")
    test.assertEqual(outs[2][1]["data"]["text/markdown"], "*result*")
    test.assertEqual(outs[3][0]["data"]["text/plain"], "7")
    test.assertEqual(outs[4][0]["data"]["text/plain"], "[2 3]")


class NotebookTests(unittest.TestCase):
    def test_nbclient(self):
        nb = nbformat.read(SAMPLE, as_version=4)
        NotebookClient(nb, kernel_name="furious", timeout=60).execute()
        check_outputs(self, nb)

    def test_nbconvert_execute(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "out.ipynb")
            subprocess.run(["jupyter", "nbconvert", "--to", "notebook", "--execute",
                            "--ExecutePreprocessor.kernel_name=furious", "--output", out, SAMPLE],
                           check=True, capture_output=True, timeout=120)
            check_outputs(self, nbformat.read(out, as_version=4))

    def test_nbconvert_error_fails(self):
        nb = nbformat.read(SAMPLE, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell('panic("broken")'))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.ipynb")
            nbformat.write(nb, path)
            p = subprocess.run(["jupyter", "nbconvert", "--to", "notebook", "--execute",
                                "--ExecutePreprocessor.kernel_name=furious", path],
                               capture_output=True, text=True, timeout=120)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("broken", p.stderr)

    def test_console_round_trip(self):
        p = subprocess.run(["jupyter", "console", "--kernel", "furious", "--simple-prompt"],
                           input="answer := 6 * 7\nanswer\n", capture_output=True, text=True, timeout=60)
        self.assertIn("Out[2]: 42", p.stdout, p.stdout + p.stderr)


class ReplPtyTests(unittest.TestCase):
    """furious repl on a pseudo-terminal: tab completion, history recall,
    multi-line input."""

    def test_repl_editing(self):
        import pty
        import select
        from jupyter_client.kernelspec import KernelSpecManager

        binary = KernelSpecManager().get_kernel_spec("furious").argv[0]
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(binary, [binary, "repl"])
        out = b""

        def expect(text, timeout=10):
            nonlocal out
            deadline = time.time() + timeout
            while text.encode() not in out:
                r, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
                if not r:
                    self.fail("%r not seen in %r" % (text, out.decode(errors="replace")))
                out += os.read(fd, 4096)

        def send(s):
            os.write(fd, s.encode())

        try:
            expect("go> ")
            send("mySpecialVar := 20\r")
            expect("go> ")
            send("mySpec\t + 1\r")  # tab completes the name
            expect("21")
            send("\x1b[A\r")  # up arrow recalls the last line
            out = b""
            expect("21")
            send("func dbl(v int) int {\r")
            expect("... ")
            send("return 2 * v\r}\r")
            send("dbl(4)\r")
            expect("8")
            send("\x04")  # Ctrl-D
        finally:
            os.close(fd)
            os.waitpid(pid, 0)


if __name__ == "__main__":
    unittest.main()
