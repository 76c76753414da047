package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/gpu"
)

// furious bench prints one row per (form, order, L), each checked against
// the float64 oracle, and refuses bad flags with a message.
func TestBenchCPUTable(t *testing.T) {
	var out bytes.Buffer
	if err := bench([]string{"--L", "70,130", "--H", "2", "--d", "8", "--chunk", "16", "--reps", "1"}, &out); err != nil {
		t.Fatal(err)
	}
	checkBenchTable(t, out.String(), "cpu")
	for _, bad := range [][]string{{"--L", "0"}, {"--device", "tpu"}, {"--reps", "0"}} {
		if err := bench(bad, &out); err == nil {
			t.Errorf("bench %v: no error", bad)
		}
	}
}

// furious bench --train prints one row per preset, each with a float32
// gradient check against the float64 CPU model, and refuses bad flags.
func TestBenchTrainTable(t *testing.T) {
	var out bytes.Buffer
	args := []string{"--train", "--presets", "linear,2mamba-e", "--d-model", "16", "--H", "2", "--seq", "20", "--batch", "2", "--reps", "1"}
	if err := bench(args, &out); err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) == 5 && (f[0] == "linear" || f[0] == "2mamba-e") {
			rows++
			if c, err := strconv.ParseFloat(f[4], 64); err != nil || !(c < 1e-4) {
				t.Errorf("row %q: gradient check %s is not below 1e-4", line, f[4])
			}
		}
	}
	if rows != 2 {
		t.Fatalf("%d rows, want 2:\n%s", rows, out.String())
	}
	for _, bad := range [][]string{{"--train", "--presets", "mamba3"}, {"--train", "--d-model", "10", "--H", "4"}, {"--train", "--device", "tpu"}} {
		if err := bench(bad, &out); err == nil {
			t.Errorf("bench %v: no error", bad)
		}
	}
}

// furious bench --train --curve N trains each preset N steps three ways and
// prints the largest relative distance of each float32 curve from the
// float64 one: on the CPU device the device's curve is the float32 CPU
// curve itself, and both stay within float32 noise of the oracle.
func TestBenchTrainCurve(t *testing.T) {
	var out bytes.Buffer
	args := []string{"--train", "--curve", "12", "--presets", "linear,mamba2", "--d-model", "16", "--H", "2", "--seq", "16", "--batch", "2", "--layers", "1"}
	if err := bench(args, &out); err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) != 7 || (f[0] != "linear" && f[0] != "mamba2") {
			continue
		}
		rows++
		dev, _ := strconv.ParseFloat(f[5], 64)
		noise, _ := strconv.ParseFloat(f[6], 64)
		if f[2] != f[3] || dev != noise || !(noise < 1e-5) || !(noise > 0) {
			t.Errorf("row %q: the cpu device's curve must be the float32 one, within float32 noise (0, 1e-5) of float64", line)
		}
		if first, last := f[1], f[4]; first == last {
			t.Errorf("row %q: the loss did not move in 12 steps", line)
		}
	}
	if rows != 2 {
		t.Fatalf("%d rows, want 2:\n%s", rows, out.String())
	}
}

// furious bench --train --json writes the models the PyTorch peer
// (bench/train_torch.py) builds and times, and bench/train_ratio.py pairs
// the two sides' tokens/s: the whole side-by-side of bench/device/train.sh,
// run here on the CPU at a tiny size with Debian's python3-torch (skipped
// without it, failed under CI=true).
func TestBenchTrainPeer(t *testing.T) {
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import torch").CombinedOutput(); err != nil {
		msg := fmt.Sprintf("PyTorch not available (%v: %s): apt-get install python3-torch (scripts/deps.sh test)", err, strings.TrimSpace(string(out)))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	var out bytes.Buffer
	args := []string{"--train", "--presets", "mamba2,softmax", "--d-model", "16", "--H", "2", "--seq", "16", "--batch", "2", "--layers", "1",
		"--reps", "1", "--no-check", "--json", filepath.Join(dir, "small.json")}
	if err := bench(args, &out); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..")
	peer := exec.Command(python, filepath.Join(root, "bench", "train_torch.py"), "--config", filepath.Join(dir, "small.json"),
		"--device", "cpu", "--steps", "2", "--warm", "1", "--threads", "1")
	torchOut, err := peer.CombinedOutput()
	if err != nil {
		t.Fatalf("train_torch.py: %v\n%s", err, torchOut)
	}
	if err := os.WriteFile(filepath.Join(dir, "small-torch.txt"), torchOut, 0o644); err != nil {
		t.Fatal(err)
	}
	ratio, err := exec.Command(python, filepath.Join(root, "bench", "train_ratio.py"), dir).CombinedOutput()
	if err != nil {
		t.Fatalf("train_ratio.py: %v\n%s", err, ratio)
	}
	for _, p := range []string{"mamba2", "softmax"} {
		found := false
		for _, line := range strings.Split(string(ratio), "\n") {
			f := strings.Split(line, "\t")
			if len(f) == 7 && f[0] == "small" && f[1] == p {
				r, err := strconv.ParseFloat(f[5], 64)
				found = err == nil && r > 0 && f[2] == "1"
			}
		}
		if !found {
			t.Errorf("no ratio row for %s in:\n%s\n(PyTorch said:\n%s)", p, ratio, torchOut)
		}
	}
}

// furious bench --device gpu prints one row per (form, order, L), each
// checked at its own length against the float64 oracle (on Mesa's llvmpipe
// in CI; skipped only where no OpenGL 4.3 context can be made), the
// quadratic rows at L 512 through the GEMM form.
func TestBenchGPUTable(t *testing.T) {
	if _, err := gpu.Default(); err != nil {
		if !errors.Is(err, backend.ErrUnavailable) {
			t.Fatalf("gpu.Default: %v does not wrap backend.ErrUnavailable", err)
		}
		t.Skipf("no OpenGL 4.3 context: %v", err)
	}
	var out bytes.Buffer
	if err := bench([]string{"--device", "gpu", "--L", "130,512", "--H", "2", "--d", "8", "--chunk", "16", "--reps", "1"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "head 0 at the row's L") {
		t.Errorf("the footer does not say where GPU rows are checked:\n%s", out.String())
	}
	checkBenchTable(t, out.String(), "gpu")
}

// checkBenchTable checks furious bench's table: 14 rows of device (7 cases
// × 2 lengths), each check a relative difference below 1e-4, no warning.
func checkBenchTable(t *testing.T, text, device string) {
	t.Helper()
	rows := 0
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 8 && f[0] == device {
			rows++
			if c, err := strconv.ParseFloat(f[7], 64); err != nil || !(c < 1e-4) {
				t.Errorf("row %q: check %s is not a small relative difference", line, f[7])
			}
		}
	}
	if rows != 14 || strings.Contains(text, "WARNING") {
		t.Fatalf("%d rows (want 14: 7 cases × 2 lengths):\n%s", rows, text)
	}
}
