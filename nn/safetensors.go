package nn

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/furious-lab/furious/tensor"
)

// The safetensors format: an 8-byte little-endian header length n, a JSON
// header of n bytes mapping each tensor name to
// {"dtype": "F32"|"F64", "shape": [...], "data_offsets": [begin, end]}
// (byte offsets into the data that follows; an optional "__metadata__"
// entry maps strings to strings), then the raw little-endian data.

type stEntry struct {
	DType   string `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets [2]int `json:"data_offsets"`
}

// WriteSafetensors writes named tensors in safetensors format, in name
// order, with optional string metadata (nil for none).
func WriteSafetensors(w io.Writer, tensors map[string]*tensor.Tensor, metadata map[string]string) error {
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		if n == "__metadata__" || n == "" {
			return fmt.Errorf("nn.WriteSafetensors: invalid tensor name %q", n)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	off := 0
	for _, n := range names {
		t := tensors[n]
		dt := "F32"
		if t.DType() == tensor.Float64 {
			dt = "F64"
		}
		size := t.Len() * t.DType().Size()
		header[n] = stEntry{DType: dt, Shape: t.Shape(), Offsets: [2]int{off, off + size}}
		off += size
	}
	js, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(js)%8 != 0 { // pad with spaces so the data is 8-byte aligned
		js = append(js, ' ')
	}
	bw := bufio.NewWriter(w)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(js)))
	bw.Write(lenBuf[:])
	bw.Write(js)
	var b8 [8]byte
	for _, n := range names {
		t := tensors[n]
		if t.DType() == tensor.Float64 {
			for _, v := range t.Float64s() {
				binary.LittleEndian.PutUint64(b8[:], math.Float64bits(v))
				bw.Write(b8[:])
			}
		} else {
			for _, v := range t.Float32s() {
				binary.LittleEndian.PutUint32(b8[:4], math.Float32bits(v))
				bw.Write(b8[:4])
			}
		}
	}
	return bw.Flush()
}

// ReadSafetensors reads a safetensors stream with F32 and F64 tensors and
// returns them by name with the metadata.
func ReadSafetensors(r io.Reader) (map[string]*tensor.Tensor, map[string]string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, err
	}
	if len(data) < 8 {
		return nil, nil, fmt.Errorf("nn.ReadSafetensors: %d bytes, too short for a header", len(data))
	}
	n := binary.LittleEndian.Uint64(data[:8])
	if n > uint64(len(data)-8) {
		return nil, nil, fmt.Errorf("nn.ReadSafetensors: header length %d exceeds the %d bytes that follow", n, len(data)-8)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &raw); err != nil {
		return nil, nil, fmt.Errorf("nn.ReadSafetensors: header: %v", err)
	}
	body := data[8+n:]
	out := map[string]*tensor.Tensor{}
	var meta map[string]string
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, fmt.Errorf("nn.ReadSafetensors: __metadata__: %v", err)
			}
			continue
		}
		var e stEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, nil, fmt.Errorf("nn.ReadSafetensors: %s: %v", name, err)
		}
		elems := 1
		for _, s := range e.Shape {
			if s < 0 {
				return nil, nil, fmt.Errorf("nn.ReadSafetensors: %s: negative dim in %v", name, e.Shape)
			}
			elems *= s
		}
		b, en := e.Offsets[0], e.Offsets[1]
		if b < 0 || en < b || en > len(body) {
			return nil, nil, fmt.Errorf("nn.ReadSafetensors: %s: data_offsets %v outside the %d data bytes", name, e.Offsets, len(body))
		}
		buf := body[b:en]
		switch e.DType {
		case "F32":
			if len(buf) != 4*elems {
				return nil, nil, fmt.Errorf("nn.ReadSafetensors: %s: %d bytes for %v F32", name, len(buf), e.Shape)
			}
			v := make([]float32, elems)
			for i := range v {
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
			}
			out[name] = tensor.FromFloat32(v, e.Shape...)
		case "F64":
			if len(buf) != 8*elems {
				return nil, nil, fmt.Errorf("nn.ReadSafetensors: %s: %d bytes for %v F64", name, len(buf), e.Shape)
			}
			v := make([]float64, elems)
			for i := range v {
				v[i] = math.Float64frombits(binary.LittleEndian.Uint64(buf[8*i:]))
			}
			out[name] = tensor.FromFloat64(v, e.Shape...)
		default:
			return nil, nil, fmt.Errorf("nn.ReadSafetensors: %s: dtype %q not supported (F32, F64)", name, e.DType)
		}
	}
	return out, meta, nil
}

// SaveParams writes the named params (a checkpoint) to path.
func SaveParams(path string, params []*Var, metadata map[string]string) error {
	m := map[string]*tensor.Tensor{}
	for name, p := range ParamsByName(params) {
		m[name] = p.Value
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteSafetensors(f, m, metadata); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadParams reads path and copies each tensor into the param of that name
// (converting the dtype to the param's). Every param must be present with
// its shape; extra tensors in the file are an error too, except optimiser
// state (names starting "optim/", see SaveCheckpoint). It returns the
// file's metadata.
func LoadParams(path string, params []*Var) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ts, meta, err := ReadSafetensors(f)
	if err != nil {
		return nil, err
	}
	byName := ParamsByName(params)
	for name := range ts {
		if _, ok := byName[name]; !ok && !strings.HasPrefix(name, optimPrefix) {
			return nil, fmt.Errorf("nn.LoadParams: %s has tensor %q that no parameter is named", path, name)
		}
	}
	for name, p := range byName {
		t, ok := ts[name]
		if !ok {
			return nil, fmt.Errorf("nn.LoadParams: %s has no tensor %q", path, name)
		}
		if !slices.Equal(t.Shape(), p.Value.Shape()) {
			return nil, fmt.Errorf("nn.LoadParams: %s: %q has shape %s, the parameter %s", path, name, tensor.ShapeString(t.Shape()), tensor.ShapeString(p.Value.Shape()))
		}
		t = t.As(p.Value.DType())
		if t.DType() == tensor.Float64 {
			copy(p.Value.Float64s(), t.Float64s())
		} else {
			copy(p.Value.Float32s(), t.Float32s())
		}
	}
	return meta, nil
}

const optimPrefix = "optim/"

// SaveCheckpoint writes params and the AdamW moments (as F64 tensors named
// "optim/m/<param>" and "optim/v/<param>") with metadata "step" = o.T, so
// that training can resume exactly (LoadCheckpoint).
func SaveCheckpoint(path string, params []*Var, o *AdamW, metadata map[string]string) error {
	m := map[string]*tensor.Tensor{}
	for name, p := range ParamsByName(params) {
		m[name] = p.Value
	}
	meta := map[string]string{}
	for k, v := range metadata {
		meta[k] = v
	}
	if o != nil {
		meta["step"] = fmt.Sprint(o.T)
		for i, p := range o.Params {
			if o.m == nil || o.m[i] == nil {
				continue
			}
			m[optimPrefix+"m/"+p.Name] = o.m[i]
			m[optimPrefix+"v/"+p.Name] = o.v[i]
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteSafetensors(f, m, meta); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadCheckpoint restores params (as LoadParams) and, when o is non-nil,
// the AdamW moments and step count saved by SaveCheckpoint. It returns the
// metadata.
func LoadCheckpoint(path string, params []*Var, o *AdamW) (map[string]string, error) {
	meta, err := LoadParams(path, params)
	if err != nil || o == nil {
		return meta, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ts, _, err := ReadSafetensors(f)
	if err != nil {
		return nil, err
	}
	var step int
	if _, err := fmt.Sscan(meta["step"], &step); err != nil {
		return nil, fmt.Errorf("nn.LoadCheckpoint: %s has no step in its metadata", path)
	}
	o.T = step
	o.m, o.v = make([]*tensor.Tensor, len(o.Params)), make([]*tensor.Tensor, len(o.Params))
	for i, p := range o.Params {
		mt, vt := ts[optimPrefix+"m/"+p.Name], ts[optimPrefix+"v/"+p.Name]
		if mt == nil || vt == nil {
			continue // no moments yet (the parameter never had a gradient)
		}
		if !slices.Equal(mt.Shape(), p.Value.Shape()) || !slices.Equal(vt.Shape(), p.Value.Shape()) {
			return nil, fmt.Errorf("nn.LoadCheckpoint: %s: optimiser state of %q has shape %s, the parameter %s", path, p.Name, tensor.ShapeString(mt.Shape()), tensor.ShapeString(p.Value.Shape()))
		}
		o.m[i], o.v[i] = mt.As(tensor.Float64), vt.As(tensor.Float64)
	}
	return meta, nil
}
