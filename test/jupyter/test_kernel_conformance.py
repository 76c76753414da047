"""The public Jupyter kernel conformance suite (jupyter/jupyter_kernel_test)
run against the furious kernel, with Go samples for every field it asks for.

The suite is Debian's python3-jupyter-kernel-test (scripts/deps.sh test
installs it); a copy elsewhere can be put first on the path with
JUPYTER_KERNEL_TEST_DIR. jupyter_test.go checks that it imports before
running this file with the kernelspec installed in a temporary JUPYTER_PATH.
"""

import os
import sys

if os.environ.get("JUPYTER_KERNEL_TEST_DIR"):
    sys.path.insert(0, os.environ["JUPYTER_KERNEL_TEST_DIR"])
import jupyter_kernel_test as jkt  # noqa: E402


class FuriousKernelTests(jkt.KernelTests):
    kernel_name = "furious"
    language_name = "go"
    file_extension = ".go"

    code_hello_world = 'import "fmt"\nfmt.Println("hello, world")'
    code_stderr = 'import (\n\t"fmt"\n\t"os"\n)\nfmt.Fprintln(os.Stderr, "test")'

    completion_samples = [
        {"text": "fmt.Sprin", "matches": {"Sprint", "Sprintf", "Sprintln"}},
        {"text": "strings.ToUp", "matches": {"ToUpper", "ToUpperSpecial"}},
        {"text": "appe", "matches": {"append"}},
    ]

    complete_code_samples = [
        "1",
        'fmt.Println("hello, world")',
        "func f(x int) int {\n\treturn x * 2\n}\n",
        'import "strings"',
        "x := []int{1, 2, 3}",
    ]
    incomplete_code_samples = [
        "func f(x int) int {\n\treturn x * 2",
        "x := []int{1,\n2,",
        "s := `raw\nstring",
        "y := 1 +",
    ]
    invalid_code_samples = ["import = 7q", "x := )", "func f() { return }}"]

    code_page_something = "fmt.Println?"

    code_generate_error = 'panic("boom")'

    code_execute_result = [
        {"code": "1+2+3", "result": "6"},
        {"code": "[]int{1, 4, 9}", "result": "[1 4 9]"},
        {"code": 'import "strings"\nstrings.Repeat("ab", 2)', "result": '"abab"'},
    ]

    code_display_data = [
        {"code": 'display.Show(display.HTML("<b>test</b>"))', "mime": "text/html"},
        {"code": 'display.Show(display.Math(`\\frac{1}{2}`))', "mime": "text/latex"},
        {"code": 'display.Show(display.Markdown("# title"))', "mime": "text/markdown"},
    ]

    code_history_pattern = "1?2*"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "fmt.Println"

    code_clear_output = "display.ClearOutput(false)"


if __name__ == "__main__":
    unittest.main()
