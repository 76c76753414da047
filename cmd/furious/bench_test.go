package main

import (
	"bytes"
	"strings"
	"testing"
)

// furious bench prints one row per (form, order, L), each checked against
// the float64 oracle, and refuses bad flags with a message.
func TestBenchCPUTable(t *testing.T) {
	var out bytes.Buffer
	if err := bench([]string{"--L", "70,130", "--H", "2", "--d", "8", "--chunk", "16", "--reps", "1"}, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	rows := 0
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 8 && f[0] == "cpu" {
			rows++
			if f[7] == "NaN" || !strings.Contains(f[7], "e-") {
				t.Errorf("row %q: check %s is not a small relative difference", line, f[7])
			}
		}
	}
	if rows != 14 || strings.Contains(text, "WARNING") {
		t.Fatalf("%d rows (want 14: 7 cases × 2 lengths):\n%s", rows, text)
	}
	for _, bad := range [][]string{{"--L", "0"}, {"--device", "tpu"}, {"--reps", "0"}} {
		if err := bench(bad, &out); err == nil {
			t.Errorf("bench %v: no error", bad)
		}
	}
}
