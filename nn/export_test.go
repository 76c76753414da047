package nn

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// python is Debian's interpreter, the one with python3-torch.
const python = "/usr/bin/python3"

// needTorch skips the test without python3 and torch, or fails it under
// CI=true (the CI installs python3-torch through scripts/deps.sh test).
func needTorch(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import torch, numpy").CombinedOutput()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("PyTorch not available (%v: %s): apt-get install python3-torch python3-numpy (scripts/deps.sh test)", err, strings.TrimSpace(string(out)))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// exportBlocks are the blocks the export is checked on: every preset of the
// table, an order-3 forget-gate variant (chunked in furious), and variants
// that together turn on the axes no preset uses (no norm, exp with the output
// norm, a scale of 0.5, conv width 3, Z bias, RoPE on a finite order, the
// original mask with dt bias on a softmax-free block) and both exportable
// custom log-decays.
func exportBlocks(L int) map[string]BlockConfig {
	out := map[string]BlockConfig{}
	for _, p := range ssd.PresetTable() {
		out[p.Key] = Preset(p.Key)
	}
	o3 := BlockConfig{Variant: ssd.Variant{Name: "order3-forget", Order: 3, Mask: ssd.MaskForget, Norm: ssd.NormOutput,
		Eps: ssd.DefaultEps, ConvWidth: 2}, ConvBias: true}
	out["order3-forget"] = o3
	o3.Chunk = 4 // furious trains the chunked form; the export is the quadratic one
	out["order3-forget-chunked"] = o3
	out["axes"] = BlockConfig{Variant: ssd.Variant{Name: "axes", Order: 2, Scale: 0.5, Mask: ssd.MaskOriginal, Norm: ssd.NormNone,
		ConvWidth: 3, ConvSiLU: true, ValueDT: true, DRes: true, ZGate: true}, DtBias: true, ZBias: true, RoPE: true}
	out["exp-output"] = BlockConfig{Variant: ssd.Variant{Name: "exp-output", Exp: true, Mask: ssd.MaskForget, Norm: ssd.NormOutput,
		Eps: 1e-5, QKAct: ssd.ActReLU, ZGate: true, DRes: true}}
	a := NewInit(11, tensor.Float64).Uniform(1, 2, L) // (H, L) in [−1, 1] → a ∈ [−1.5, −0.5]
	a = tensor.AddScalar(tensor.Scale(a, 0.5), -1)
	out["fixed-decay"] = BlockConfig{Variant: ssd.Variant{Name: "fixed-decay", Order: 1, Mask: ssd.MaskCustom, Norm: ssd.NormSoftmax,
		QKAct: ssd.ActReLU, ConvWidth: 2}, Decay: FixedDecay(a)}
	return out
}

// torchDecayBlock is a block whose log-decay a = −softplus(h W)/2 (W: its own
// Var "decay.w", (DModel, H)) is given to the exporter in PyTorch too.
func torchDecayBlock(dt tensor.DType, dm, heads int) BlockConfig {
	w := NamedParam("decay.w", NewInit(21, dt).Linear(dm, heads))
	f := func(h *Var) *Var { return Scale(Softplus(Permute(MatMul(h, w), 0, 2, 1)), -0.5) }
	return BlockConfig{Variant: ssd.Variant{Name: "torch-decay", Order: 2, Mask: ssd.MaskCustom, Norm: ssd.NormSoftmax, ConvWidth: 2},
		ConvBias: true, Decay: TorchDecay(f, "-0.5 * F.softplus((h @ p[0]).transpose(1, 2))", w)}
}

// exportCase is one exported model with the batch it is checked on.
type exportCase struct {
	name string
	m    *LM
	dir  string
}

// The exported module's logits equal furious's on the same batch (≤ 1e-5
// of their largest magnitude in float32, 1e-10 in float64) for every preset,
// an order-3 forget-gate variant, the variants of the remaining axes and
// both custom log-decays, and after one backward every parameter's gradient
// equals furious's to 1e-4 of its scale (max |g|) in float32, 1e-9 in float64.
func TestExportTorchMatchesFurious(t *testing.T) {
	needTorch(t)
	const B, L, V = 2, 12, 16
	r := tensor.NewRNG(5)
	ids, tg := make([]int, B*L), make([]int, B*L)
	for i := range ids {
		ids[i], tg[i] = r.Intn(V), r.Intn(V)
		if i%5 == 2 {
			tg[i] = -100
		}
	}
	batch := map[string]*tensor.Tensor{"ids": intsTensor(ids, B, L), "targets": intsTensor(tg, B, L)}
	root := t.TempDir()
	var cases []exportCase
	blocks := exportBlocks(L)
	names := make([]string, 0, len(blocks)+1)
	for n := range blocks {
		names = append(names, n)
	}
	names = append(names, "torch-decay")
	sort.Strings(names)
	for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64} {
		for _, n := range names {
			bc, ok := blocks[n]
			if !ok {
				bc = torchDecayBlock(dt, 16, 2)
			}
			bc.DModel, bc.Heads = 16, 2
			m := NewLM(ModelConfig{Vocab: V, Layers: 2, Block: bc, Seed: 7, DType: dt})
			dir := filepath.Join(root, fmt.Sprintf("%s-%s", n, dt))
			if _, err := ExportTorch(m, dir, ExportOptions{}); err != nil {
				t.Fatalf("%s %s: %v", n, dt, err)
			}
			writeSafetensorsFile(t, filepath.Join(dir, "batch.safetensors"), batch)
			cases = append(cases, exportCase{name: n + " " + dt.String(), m: m, dir: dir})
		}
	}
	args := []string{filepath.Join("testdata", "export_check.py")}
	for _, c := range cases {
		args = append(args, c.dir)
	}
	if out, err := exec.Command(python, args...).CombinedOutput(); err != nil {
		t.Fatalf("export_check.py: %v\n%s", err, out)
	}
	for _, c := range cases {
		got := readSafetensorsFile(t, filepath.Join(c.dir, "torch.safetensors"))
		ps := TorchParams(c.m)
		ZeroGrads(ps)
		logits := c.m.Forward(ids, B, L)
		loss := CrossEntropy(logits, tg, -100)
		loss.Backward()
		tolY, tolG := 1e-5, 1e-4
		if c.m.Cfg.DType == tensor.Float64 {
			tolY, tolG = 1e-10, 1e-9
		}
		dy := scaledDiff(got["logits"], logits.Value)
		dl := math.Abs(got["loss"].Data()[0]-loss.Item()) / math.Abs(loss.Item())
		worst, at := 0.0, ""
		for _, p := range ps {
			g := got["grad/"+p.Name]
			if g == nil {
				t.Fatalf("%s: PyTorch has no gradient for %s", c.name, p.Name)
			}
			if d := scaledDiff(g, p.Grad); d > worst {
				worst, at = d, p.Name
			}
		}
		t.Logf("%-28s logits %.2e  loss %.2e  grads %.2e (%s)", c.name, dy, dl, worst, at)
		if dy > tolY || dl > tolY {
			t.Errorf("%s: logits differ by %.3g of their scale, loss by %.3g relative (tolerance %g)", c.name, dy, dl, tolY)
		}
		if worst > tolG {
			t.Errorf("%s: gradient of %s differs by %.3g of its scale (tolerance %g)", c.name, at, worst, tolG)
		}
	}
}

// scaledDiff is max |a − b| / max |b| (0 when both are 0).
func scaledDiff(a, b *tensor.Tensor) float64 {
	if a.Len() != b.Len() {
		return math.Inf(1)
	}
	ad, bd := a.Data(), b.Data()
	d, s := 0.0, 0.0
	for i := range ad {
		d = math.Max(d, math.Abs(ad[i]-bd[i]))
		s = math.Max(s, math.Abs(bd[i]))
	}
	if s == 0 {
		return d
	}
	return d / s
}

func intsTensor(v []int, shape ...int) *tensor.Tensor {
	f := make([]float64, len(v))
	for i, x := range v {
		f[i] = float64(x)
	}
	return tensor.FromFloat64(f, shape...)
}

func writeSafetensorsFile(t *testing.T, path string, ts map[string]*tensor.Tensor) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := WriteSafetensors(f, ts, nil); err != nil {
		t.Fatal(err)
	}
}

func readSafetensorsFile(t *testing.T, path string) map[string]*tensor.Tensor {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ts, _, err := ReadSafetensors(f)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}
