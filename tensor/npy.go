package tensor

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// NumPy .npy files (format versions 1.0, 2.0 and 3.0): a magic string, a
// header that is a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, then the raw
// data. Only little-endian float32 ('<f4') and float64 ('<f8') in C order are
// read; anything else is an error that says what the file holds and how to
// convert it in NumPy. Files are written as version 1.0 (2.0 if the header
// is too long), C order, little-endian.

var npyMagic = []byte("\x93NUMPY")

// Load reads a .npy file.
func Load(path string) (*Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tensor.Load: %w", err)
	}
	defer f.Close()
	t, err := ReadNpy(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return t, nil
}

// Save writes t to path as a .npy file, replacing any file there.
func (t *Tensor) Save(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("tensor.Save: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := t.WriteNpy(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("tensor.Save: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tensor.Save: %w", err)
	}
	return nil
}

var (
	npyDescr   = regexp.MustCompile(`['"]descr['"]\s*:\s*['"]([^'"]*)['"]`)
	npyFortran = regexp.MustCompile(`['"]fortran_order['"]\s*:\s*(True|False)`)
	npyShape   = regexp.MustCompile(`['"]shape['"]\s*:\s*\(([^)]*)\)`)
)

// ReadNpy reads one .npy array from r; a float32 array is placed on the
// device SetDevice chose (Load too).
func ReadNpy(r io.Reader) (*Tensor, error) {
	const op = "tensor.ReadNpy"
	fail := func(format string, args ...any) (*Tensor, error) {
		return nil, fmt.Errorf(op+": "+format, args...)
	}
	pre := make([]byte, 8)
	if _, err := io.ReadFull(r, pre); err != nil {
		return fail("not a .npy file: too short for the header")
	}
	if !bytes.Equal(pre[:6], npyMagic) {
		return fail("not a .npy file (magic %q, want \\x93NUMPY)", pre[:6])
	}
	var hlen int
	switch pre[6] {
	case 1:
		b := make([]byte, 2)
		if _, err := io.ReadFull(r, b); err != nil {
			return fail("truncated header")
		}
		hlen = int(binary.LittleEndian.Uint16(b))
	case 2, 3:
		b := make([]byte, 4)
		if _, err := io.ReadFull(r, b); err != nil {
			return fail("truncated header")
		}
		hlen = int(binary.LittleEndian.Uint32(b))
	default:
		return fail("unsupported .npy format version %d.%d", pre[6], pre[7])
	}
	if hlen > 1<<20 {
		return fail("header of %d bytes is implausibly long", hlen)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return fail("truncated header (%d bytes announced)", hlen)
	}
	h := string(hb)
	dm, fm, sm := npyDescr.FindStringSubmatch(h), npyFortran.FindStringSubmatch(h), npyShape.FindStringSubmatch(h)
	if dm == nil || fm == nil || sm == nil {
		return fail("malformed header %q", strings.TrimSpace(h))
	}
	var dtype DType
	switch dm[1] {
	case "<f4":
		dtype = Float32
	case "<f8":
		dtype = Float64
	case ">f4", ">f8":
		return fail("dtype %s is big-endian; in NumPy write x.astype('<%s') instead", dm[1], dm[1][1:])
	default:
		return fail("dtype %q is not supported (only float32 '<f4' and float64 '<f8'); in NumPy write x.astype(np.float32)", dm[1])
	}
	if fm[1] == "True" {
		return fail("the array is in Fortran order; in NumPy write np.ascontiguousarray(x)")
	}
	var shape []int
	for _, p := range strings.Split(sm[1], ",") {
		p = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(p), "L"))
		if p == "" {
			continue
		}
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return fail("bad shape (%s) in header", sm[1])
		}
		shape = append(shape, v)
	}
	var t *Tensor
	if err := Catch(func() { t = New(dtype, shape...) }); err != nil {
		return nil, err
	}
	if err := readData(r, t); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fail("file truncated: header says %s %s (%d bytes of data), the data ends early", dtype, ShapeString(shape), t.Bytes())
		}
		return fail("%v", err)
	}
	return placed(t), nil
}

// readData fills t from little-endian bytes, a chunk at a time.
func readData(r io.Reader, t *Tensor) error {
	n := t.Len()
	size := t.dtype.Size()
	buf := make([]byte, min(n*size, 1<<20))
	for done := 0; done < n; {
		m := min(n-done, len(buf)/size)
		b := buf[:m*size]
		if _, err := io.ReadFull(r, b); err != nil {
			return err
		}
		if t.dtype == Float64 {
			for i := range m {
				t.f64[done+i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
			}
		} else {
			for i := range m {
				t.f32[done+i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
		}
		done += m
	}
	return nil
}

// WriteNpy writes t to w in .npy format.
func (t *Tensor) WriteNpy(w io.Writer) error {
	syncHost(t)
	descr := "<f4"
	if t.dtype == Float64 {
		descr = "<f8"
	}
	dims := make([]string, len(t.shape))
	for i, s := range t.shape {
		dims[i] = strconv.Itoa(s)
	}
	shape := strings.Join(dims, ", ")
	if len(t.shape) == 1 {
		shape += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape)
	// Pad with spaces so that the data starts at a multiple of 64 bytes.
	pre := 10
	if len(h)+pre+1 > 65535 {
		pre = 12
	}
	pad := 64 - (pre+len(h)+1)%64
	if pad == 64 {
		pad = 0
	}
	h += strings.Repeat(" ", pad) + "\n"
	var head bytes.Buffer
	head.Write(npyMagic)
	if pre == 10 {
		head.Write([]byte{1, 0})
		binary.Write(&head, binary.LittleEndian, uint16(len(h)))
	} else {
		head.Write([]byte{2, 0})
		binary.Write(&head, binary.LittleEndian, uint32(len(h)))
	}
	head.WriteString(h)
	if _, err := w.Write(head.Bytes()); err != nil {
		return fmt.Errorf("tensor.WriteNpy: %w", err)
	}
	size := t.dtype.Size()
	buf := make([]byte, min(t.Len()*size, 1<<20))
	for done := 0; done < t.Len(); {
		m := min(t.Len()-done, len(buf)/size)
		b := buf[:m*size]
		for i := range m {
			if t.dtype == Float64 {
				binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(t.f64[done+i]))
			} else {
				binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(t.f32[done+i]))
			}
		}
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("tensor.WriteNpy: %w", err)
		}
		done += m
	}
	return nil
}
