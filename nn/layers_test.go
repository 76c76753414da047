package nn

import (
	"bytes"
	"encoding/binary"
	"math"
	"path/filepath"
	"testing"

	"github.com/furious-lab/furious/tensor"
)

// tinyLM is a one-block decoder used to gradient-check a whole model:
// embed → RMSNorm → qkv projection → causal conv-free 2Mamba attention with
// a softplus decay → output projection + residual → SwiGLU + residual →
// RMSNorm → LM head → cross-entropy. x holds every parameter.
func tinyLM(x []*Var, ids, targets []int, B, L, H int, order int, norm bool) *Var {
	emb, n1, wqkv, wa, wo, gate, up, down, n2, head := x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9]
	D := emb.Value.Dim(1)
	d := D / H
	h := Embedding(emb, ids, B, L)                                     // (B, L, D)
	u := RMSNorm(h, n1, 1e-6)                                          // (B, L, D)
	qkv := Reshape(MatMul(u, wqkv), B, L, 3, H, d)                     // (B, L, 3, H, d)
	qkv = Permute(qkv, 2, 0, 3, 1, 4)                                  // (3, B, H, L, d)
	q := Reshape(Slice(qkv, 0, 0, 1), B, H, L, d)                      // (B, H, L, d)
	k := Reshape(Slice(qkv, 0, 1, 2), B, H, L, d)                      //
	v := Reshape(Slice(qkv, 0, 2, 3), B, H, L, d)                      //
	a := Neg(Softplus(Permute(MatMul(u, wa), 0, 2, 1)))                // (B, H, L) = −softplus(h W_A)
	y := Attention(q, k, v, a, opts(order, norm))                      // (B, H, L, d)
	y = Reshape(Permute(y, 0, 2, 1, 3), B, L, D)                       // (B, L, D)
	h = Add(h, MatMul(y, wo))                                          // residual
	mlp := &SwiGLU{&Linear{W: gate}, &Linear{W: up}, &Linear{W: down}} //
	h = Add(h, mlp.Forward(RMSNorm(h, n2, 1e-6)))                      // (B, L, D)
	logits := MatMul(h, head)                                          // (B, L, V)
	return CrossEntropy(logits, targets, -100)
}

func tinyParams(V, D, H, F int, dt tensor.DType) []*tensor.Tensor {
	in := NewInit(5, dt)
	return []*tensor.Tensor{
		in.Normal(1, V, D), in.Uniform(1.5, D), in.Linear(D, 3*D), in.Linear(D, H),
		in.Linear(D, D), in.Linear(D, F), in.Linear(D, F), in.Linear(F, D), in.Uniform(1.5, D), in.Linear(D, V),
	}
}

var layerCases = []gcase{
	{"Linear+bias", ins(rn(1, 2, 3, 4), rn(2, 4, 5), rn(3, 5)), func(x []*Var) *Var {
		return (&Linear{W: x[1], B: x[2]}).Forward(x[0])
	}},
	{"SwiGLU", ins(rn(1, 2, 3, 4), rn(2, 4, 6), rn(3, 4, 6), rn(4, 6, 4)), func(x []*Var) *Var {
		return (&SwiGLU{&Linear{W: x[1]}, &Linear{W: x[2]}, &Linear{W: x[3]}}).Forward(x[0])
	}},
	{"Embed+Norm", ins(rn(1, 6, 4), rn(2, 4)), func(x []*Var) *Var {
		return (&Norm{W: x[1], Eps: 1e-6}).Forward((&Embed{W: x[0]}).Forward([]int{1, 5, 5, 0}, 2, 2))
	}},
}

func tinyModelCases() []gcase {
	const V, D, H, F, B, L = 7, 8, 2, 12, 2, 6
	mq := []int{1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5}
	tg := []int{2, -100, 4, -100, 6, 0, -100, 2, 3, 4, -100, 6}
	var cs []gcase
	for _, c := range []struct {
		name  string
		order int
		norm  bool
	}{{"tinyLM Mamba-2S-like", 1, false}, {"tinyLM 2Mamba", 2, true}, {"tinyLM 2Mamba-E", orderExp, true}} {
		c := c
		cs = append(cs, gcase{c.name, func() []*tensor.Tensor { return tinyParams(V, D, H, F, tensor.Float64) },
			func(x []*Var) *Var { return tinyLM(x, mq, tg, B, L, H, c.order, c.norm) }})
	}
	return cs
}

func TestGradCheckLayersAndModel(t *testing.T) {
	runGC(t, append(append([]gcase{}, layerCases...), tinyModelCases()...), 1e-6)
}

// Float32 layer and whole-model gradients agree with float64 within 1e-4.
func TestFloat32GradsLayersAndModel(t *testing.T) {
	f32vs64(t, append(append([]gcase{}, layerCases...), tinyModelCases()...), 1e-4)
}

func TestSafetensorsRoundTrip(t *testing.T) {
	in := NewInit(1, tensor.Float32)
	lin := NewLinear(in, "blk.0.proj", 3, 4, true)
	e64 := NamedParam("emb", tensor.NewRNG(2).Randn64(5, 2))
	params := append(lin.Params(), e64)
	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	if err := SaveParams(path, params, map[string]string{"step": "12"}); err != nil {
		t.Fatal(err)
	}
	fresh := []*Var{NamedParam("blk.0.proj.weight", tensor.Zeros(3, 4)), NamedParam("blk.0.proj.bias", tensor.Zeros(4)), NamedParam("emb", tensor.Zeros64(5, 2))}
	meta, err := LoadParams(path, fresh)
	if err != nil {
		t.Fatal(err)
	}
	if meta["step"] != "12" {
		t.Fatalf("metadata %v", meta)
	}
	for i := range params {
		if e := RelErr(params[i].Value, fresh[i].Value); e != 0 || fresh[i].Value.DType() != params[i].Value.DType() {
			t.Fatalf("%s differs after a round trip (%v)", params[i].Name, e)
		}
	}
	bad := []*Var{NamedParam("blk.0.proj.weight", tensor.Zeros(4, 3)), NamedParam("blk.0.proj.bias", tensor.Zeros(4)), NamedParam("emb", tensor.Zeros64(5, 2))}
	if _, err := LoadParams(path, bad); err == nil {
		t.Fatal("loading into a wrong shape succeeded")
	} else {
		t.Log(err)
	}
}

// A file written by hand from the format description reads back.
func TestSafetensorsReadsHandMadeFile(t *testing.T) {
	hdr := []byte(`{"__metadata__":{"format":"pt"},"b":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},"a":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]}}`)
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, uint64(len(hdr)))
	buf.Write(hdr)
	binary.Write(&buf, binary.LittleEndian, []float32{1.5, -2})
	binary.Write(&buf, binary.LittleEndian, math.Pi)
	ts, meta, err := ReadSafetensors(&buf)
	if err != nil {
		t.Fatal(err)
	}
	a, b := ts["a"], ts["b"]
	if meta["format"] != "pt" || a.DType() != tensor.Float32 || a.At(1, 0) != -2 || a.At(0, 0) != 1.5 || b.At(0) != math.Pi {
		t.Fatalf("read %v %v %v", meta, a, b)
	}
	// And what we write starts with the header length and is 8-aligned.
	var out bytes.Buffer
	if err := WriteSafetensors(&out, ts, nil); err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(out.Bytes()[:8])
	if n%8 != 0 || uint64(out.Len()) != 8+n+16 {
		t.Fatalf("header length %d, file %d bytes", n, out.Len())
	}
}
