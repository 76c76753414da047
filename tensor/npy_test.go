package tensor

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNpyRoundTrip(t *testing.T) {
	for _, x := range []*Tensor{NewRNG(1).Randn(2, 3, 4), NewRNG(2).Randn64(5), NewRNG(3).Randn64(), Zeros(0, 3), Full(2.5).Reshape(), NewRNG(4).Randn(300, 1000)} {
		var buf bytes.Buffer
		if err := x.WriteNpy(&buf); err != nil {
			t.Fatal(err)
		}
		hdr := buf.Bytes()[:128]
		hl := int(hdr[8]) | int(hdr[9])<<8
		if (10+hl)%64 != 0 || hdr[10+hl-1] != '\n' {
			t.Fatalf("%s: header length %d does not align the data to 64 bytes", ShapeString(x.shape), hl)
		}
		y, err := ReadNpy(&buf)
		if err != nil {
			t.Fatalf("%s: %v", ShapeString(x.shape), err)
		}
		if y.dtype != x.dtype || !slices.Equal(y.shape, x.shape) || MaxAbsDiff(x, y) != 0 {
			t.Fatalf("round trip of %s %s gave %s %s", x.dtype, ShapeString(x.shape), y.dtype, ShapeString(y.shape))
		}
	}
	path := filepath.Join(t.TempDir(), "x.npy")
	x := NewRNG(5).Randn(7, 2)
	if err := x.Save(path); err != nil {
		t.Fatal(err)
	}
	y, err := Load(path)
	if err != nil || MaxAbsDiff(x, y) != 0 {
		t.Fatalf("Save/Load: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.npy")); err == nil || !strings.Contains(err.Error(), "tensor.Load") {
		t.Fatalf("missing file: %v", err)
	}
}

// npyWith returns a float32 (2,3) file whose header has descr and fortran
// replaced, cut to n bytes when n > 0.
func npyWith(t *testing.T, descr, fortran string, n int) []byte {
	var buf bytes.Buffer
	if err := Ones(2, 3).WriteNpy(&buf); err != nil {
		t.Fatal(err)
	}
	b := bytes.Replace(buf.Bytes(), []byte("'<f4'"), []byte("'"+descr+"'"), 1)
	b = bytes.Replace(b, []byte("False"), []byte(fortran), 1)
	if n > 0 {
		b = b[:n]
	}
	return b
}

func TestNpyErrors(t *testing.T) {
	cases := []struct {
		data []byte
		want string
	}{
		{npyWith(t, "<i4", "False", 0), `dtype "<i4" is not supported`},
		{npyWith(t, ">f4", "False", 0), "big-endian"},
		{npyWith(t, "<f4", "True ", 0), "Fortran order"},
		{npyWith(t, "<f4", "False", 128+10), "file truncated: header says float32 (2,3) (24 bytes of data)"},
		{npyWith(t, "<f4", "False", 20), "truncated header"},
		{[]byte("PK\x03\x04 not npy"), "not a .npy file"},
		{[]byte{}, "too short"},
	}
	for _, c := range cases {
		_, err := ReadNpy(bytes.NewReader(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "tensor.ReadNpy: ") {
			t.Errorf("want an error containing %q, got %v", c.want, err)
		}
	}
	data := npyWith(t, "<f4", "False", 0)
	old := SetMemoryLimit(16)
	defer SetMemoryLimit(old)
	if _, err := ReadNpy(bytes.NewReader(data)); !errors.Is(err, ErrMemory) {
		t.Fatalf("memory cap not applied on load: %v", err)
	}
}

// needNumPy returns Debian's interpreter, /usr/bin/python3, when it can
// import NumPy; else it skips the test, or fails it under CI=true (the CI
// installs python3-numpy).
func needNumPy(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s cannot import numpy (apt-get install python3-numpy): %v", py, err)
		}
		t.Skipf("skipping: %s cannot import numpy (apt-get install python3-numpy): %v", py, err)
	}
	return py
}

// TestNpyWithNumPy round-trips through NumPy: Go writes, NumPy checks and
// writes back a transformed array, Go reads it. It skips when /usr/bin/python3
// has no NumPy, except under CI=true where NumPy must be installed
// (apt-get install python3-numpy).
func TestNpyWithNumPy(t *testing.T) {
	py := needNumPy(t)
	dir := t.TempDir()
	x32, x64 := NewRNG(1).Randn(2, 3, 4), NewRNG(2).Randn64(5, 3)
	if err := x32.Save(filepath.Join(dir, "a.npy")); err != nil {
		t.Fatal(err)
	}
	if err := x64.Save(filepath.Join(dir, "b.npy")); err != nil {
		t.Fatal(err)
	}
	script := `
import numpy as np, sys
d = sys.argv[1]
a, b = np.load(d + "/a.npy"), np.load(d + "/b.npy")
assert a.dtype == np.float32 and a.shape == (2, 3, 4), (a.dtype, a.shape)
assert b.dtype == np.float64 and b.shape == (5, 3), (b.dtype, b.shape)
np.save(d + "/a2.npy", a * 2 + 1)
np.save(d + "/b2.npy", b.T.copy())
np.save(d + "/f.npy", np.asfortranarray(b))
np.save(d + "/i.npy", np.arange(6, dtype=np.int64))
print(repr(float(a.sum())))
`
	out, err := exec.Command(py, "-c", script, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy: %v\n%s", err, out)
	}
	a2, err := Load(filepath.Join(dir, "a2.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if d := MaxAbsDiff(a2, AddScalar(Scale(x32, 2), 1)); d != 0 {
		t.Fatalf("NumPy's a*2+1 differs from ours by %g", d)
	}
	b2, err := Load(filepath.Join(dir, "b2.npy"))
	if err != nil || MaxAbsDiff(b2, x64.Transpose(0, 1)) != 0 {
		t.Fatalf("NumPy's b.T differs: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "f.npy")); err == nil || !strings.Contains(err.Error(), "Fortran") {
		t.Fatalf("Fortran-order file: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "i.npy")); err == nil || !strings.Contains(err.Error(), "<i8") {
		t.Fatalf("int64 file: %v", err)
	}
}
