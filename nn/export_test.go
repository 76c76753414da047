package nn

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/furious-lab/furious/nn/data"
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
// custom log-decays (one named with quotes, which CONFIG's raw string must survive).
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
	out["fixed-decay"] = BlockConfig{Variant: ssd.Variant{Name: "fixed-decay '''quoted'''", Order: 1, Mask: ssd.MaskCustom, Norm: ssd.NormSoftmax,
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
// equals furious's to 1e-4 of its scale (max |g|) in float32, 1e-9 in float64;
// the same with the attention core recomputed in the backward pass.
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
		for _, pre := range []string{"", "recompute/"} { // plain, and with the core recomputed in the backward pass
			name := c.name
			if pre != "" {
				name += " (recompute)"
			}
			dy := scaledDiff(got[pre+"logits"], logits.Value)
			dl := math.Abs(got[pre+"loss"].Data()[0]-loss.Item()) / math.Abs(loss.Item())
			worst, at := 0.0, ""
			for _, p := range ps {
				g := got[pre+"grad/"+p.Name]
				if g == nil {
					t.Fatalf("%s: PyTorch has no gradient for %s", name, p.Name)
				}
				if d := scaledDiff(g, p.Grad); d > worst {
					worst, at = d, p.Name
				}
			}
			t.Logf("%-40s logits %.2e  loss %.2e  grads %.2e (%s)", name, dy, dl, worst, at)
			if dy > tolY || dl > tolY {
				t.Errorf("%s: logits differ by %.3g of their scale, loss by %.3g relative (tolerance %g)", name, dy, dl, tolY)
			}
			if worst > tolG {
				t.Errorf("%s: gradient of %s differs by %.3g of its scale (tolerance %g)", name, at, worst, tolG)
			}
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

// The round trip: export, one `torchrun --nproc_per_node=2` training step on
// the CPU with gloo, read the checkpoint back with LoadTorch; the loss
// furious computes on the held MQAR batch equals the one PyTorch printed
// (both float32, ≤ 1e-5 relative), and train.py's generators draw exactly
// furious's data.MQAR and data.Batcher batches.
func TestExportTorchRoundTrip(t *testing.T) {
	needTorch(t)
	bc := Preset("2mamba")
	bc.DModel, bc.Heads = 16, 2
	m := NewLM(ModelConfig{Vocab: 16, Layers: 2, Block: bc, Seed: 9})
	before := m.Params()[1].Value.Clone()
	ex, err := ExportTorch(m, filepath.Join(t.TempDir(), "export"), ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	task := data.MQAR{Vocab: 16, NumKV: 3, NumQueries: 2, SeqLen: 12, IgnoreIndex: -100}
	run, err := ex.Train(2, "--mqar", "16,3,2,12", "--steps", "1", "--batch", "4", "--held-seed", "99", "--held-batch", "4", "--threads", "1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(run.Output, "2 process(es), cpu, DDP gloo") || math.IsNaN(run.HeldLoss) || math.IsNaN(run.Loss) {
		t.Fatalf("train.py did not run on 2 gloo processes or printed no held loss:\n%s", run.Output)
	}
	meta, err := LoadTorch(run.Checkpoint, m)
	if err != nil {
		t.Fatal(err)
	}
	if meta["step"] != "1" || meta["world_size"] != "2" {
		t.Errorf("checkpoint metadata %v, want step 1 of world size 2", meta)
	}
	if scaledDiff(m.Params()[1].Value, before) == 0 {
		t.Errorf("%s did not change: no training step was read back", m.Params()[1].Name)
	}
	ids, tg := task.Batch(99, 4)
	var loss float64
	NoGrad(func() { loss = m.Loss(ids, tg, 4, 12, -100).Item() })
	rel := math.Abs(loss-run.HeldLoss) / math.Abs(run.HeldLoss)
	t.Logf("held loss: PyTorch %.9g, furious %.9g (relative %.2e)", run.HeldLoss, loss, rel)
	if rel > 1e-5 {
		t.Errorf("held loss: furious %.9g, PyTorch printed %.9g (relative %.3g)\n%s", loss, run.HeldLoss, rel, run.Output)
	}

	// train.py's generators are furious's: the same seed, the same batch.
	script := fmt.Sprintf(`import sys, json, numpy as np; sys.path.insert(0, %q); import train
i, t = train.mqar_batch(16, 3, 2, 12, 5, 3)
b = train.Batcher(np.arange(40), 2, 6, 8); b.next(); w, u = b.next()
print(json.dumps([i.reshape(-1).tolist(), t.reshape(-1).tolist(), w.reshape(-1).tolist(), u.reshape(-1).tolist()]))`, ex.Dir)
	out, err := exec.Command(python, "-c", script).Output()
	if err != nil {
		t.Fatalf("train.py's generators: %v", err)
	}
	var got [4][]int
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	wi, wt := task.Batch(5, 3)
	toks := make([]int, 40)
	for i := range toks {
		toks[i] = i
	}
	bt := data.NewBatcher(toks, 2, 6, 8)
	bt.Next()
	bi, bu := bt.Next()
	for k, want := range [][]int{wi, wt, bi, bu} {
		if !slices.Equal(got[k], want) {
			t.Errorf("train.py batch %d: %v, furious %v", k, got[k], want)
		}
	}
}

// Bad input: an axis PyTorch cannot express, an unwritable directory, a
// non-empty one, and checkpoints whose names or shapes do not match give
// errors naming the axis, the path or the tensor and both shapes, and leave
// nothing behind (no directory, no temporary, no parameter changed).
func TestExportTorchErrors(t *testing.T) {
	root := t.TempDir()
	bc := BlockConfig{Variant: ssd.Variant{Order: 1, Mask: ssd.MaskCustom, Norm: ssd.NormSoftmax, QKAct: ssd.ActReLU}, DModel: 8, Heads: 2,
		Decay: func(h *Var) *Var { return Neg(Softplus(Permute(Slice(h, 2, 0, 2), 0, 2, 1))) }}
	m := NewLM(ModelConfig{Vocab: 8, Layers: 1, Block: bc, Seed: 1})
	dir := filepath.Join(root, "custom")
	_, err := ExportTorch(m, dir, ExportOptions{})
	if err == nil || !strings.Contains(err.Error(), "axis Mask custom") || !strings.Contains(err.Error(), "Decay") {
		t.Errorf("a Go log-decay function: got %v, want an error naming the axis Mask custom (Decay)", err)
	}
	assertOnly(t, root)

	bc = Preset("2mamba")
	bc.DModel, bc.Heads = 8, 2
	m = NewLM(ModelConfig{Vocab: 8, Layers: 1, Block: bc, Seed: 1})
	m.Cfg.Block.Mask = ssd.MaskCustom + 1 // a mask added to ssd after model.py was written
	if _, err = ExportTorch(m, dir, ExportOptions{}); err == nil || !strings.Contains(err.Error(), "axis Mask MaskKind(5)") {
		t.Errorf("a mask model.py does not know: got %v, want an error naming the axis", err)
	}
	m.Cfg.Block.Mask = ssd.MaskSoftplus
	assertOnly(t, root)
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ExportTorch(m, filepath.Join(file, "out"), ExportOptions{})
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("a directory under a file: got %v, want an error naming %s", err, file)
	}
	assertOnly(t, root, "file")

	full := filepath.Join(root, "full")
	os.Mkdir(full, 0o755)
	os.WriteFile(filepath.Join(full, "mine.txt"), []byte("keep"), 0o644)
	_, err = ExportTorch(m, full, ExportOptions{})
	if err == nil || !strings.Contains(err.Error(), full) || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a non-empty directory: got %v, want an error naming %s", err, full)
	}
	if b, _ := os.ReadFile(filepath.Join(full, "mine.txt")); string(b) != "keep" {
		t.Errorf("the user's file was touched")
	}
	ex, err := ExportTorch(m, full, ExportOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(full, "mine.txt")); err == nil {
		t.Errorf("Force did not replace the directory")
	}
	assertOnly(t, root, "file", "full")
	if _, err := LoadTorch(ex.Weights, m); err != nil {
		t.Errorf("model.safetensors does not load back: %v", err)
	}

	// Checkpoints that do not match the model.
	good := map[string]*tensor.Tensor{}
	for n, p := range ParamsByName(m.Params()) {
		good[n] = p.Value
	}
	name := "layers.0.attn.qkv.weight"
	cases := map[string]struct {
		edit func(map[string]*tensor.Tensor)
		want []string
	}{
		"shape":   {func(ts map[string]*tensor.Tensor) { ts[name] = tensor.New(tensor.Float32, 8, 12) }, []string{name, "(8,12)", "(8,24)"}},
		"missing": {func(ts map[string]*tensor.Tensor) { delete(ts, name) }, []string{name, "no tensor", "(8,24)"}},
		"extra":   {func(ts map[string]*tensor.Tensor) { ts["layers.0.attn.extra"] = tensor.New(tensor.Float32, 3) }, []string{"layers.0.attn.extra", "(3)"}},
	}
	for cn, c := range cases {
		ts := map[string]*tensor.Tensor{}
		for n, v := range good {
			ts[n] = tensor.Scale(v, 2)
		}
		c.edit(ts)
		path := filepath.Join(root, cn+".safetensors")
		writeSafetensorsFile(t, path, ts)
		before := m.Params()[0].Value.Clone()
		_, err := LoadTorch(path, m)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) || !strings.Contains(err.Error(), path) {
				t.Errorf("%s: got %v, want an error naming %s and %q", cn, err, path, w)
				break
			}
		}
		if scaledDiff(m.Params()[0].Value, before) != 0 {
			t.Errorf("%s: a failed load changed %s", cn, m.Params()[0].Name)
		}
	}
}

// assertOnly fails unless dir holds exactly names (no temporary left).
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	es, _ := os.ReadDir(dir)
	var got []string
	for _, e := range es {
		if !strings.HasSuffix(e.Name(), ".safetensors") {
			got = append(got, e.Name())
		}
	}
	if !slices.Equal(got, names) {
		t.Errorf("%s holds %v, want %v", dir, got, names)
	}
}

// train.py on a token file (a float .npy as tensor.Save writes it), in one
// process without torchrun: two steps, then the held loss on the file's
// first windows (data.Windows) equals furious's on the checkpoint; --resume
// continues at the checkpoint's step; a float file that is not token ids is
// refused.
func TestExportTorchTokenFile(t *testing.T) {
	needTorch(t)
	bc := Preset("mamba2s")
	bc.DModel, bc.Heads = 16, 2
	m := NewLM(ModelConfig{Vocab: 12, Layers: 1, Block: bc, Seed: 4})
	ex, err := ExportTorch(m, filepath.Join(t.TempDir(), "export"), ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := tensor.NewRNG(3)
	toks := make([]int, 200)
	for i := range toks {
		toks[i] = r.Intn(12)
	}
	file := filepath.Join(ex.Dir, "ids.npy")
	if err := intsTensor(toks, len(toks)).Save(file); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, ex.Script, "--tokens", file, "--seq", "10", "--steps", "2", "--batch", "4", "--held-batch", "3", "--threads", "1", "--out", "ck")
	cmd.Dir = ex.Dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "1 process(es), cpu, no DDP") {
		t.Fatalf("train.py --tokens: %v\n%s", err, out)
	}
	meta, err := LoadTorch(filepath.Join(ex.Dir, "ck", "checkpoint.safetensors"), m)
	if err != nil {
		t.Fatal(err)
	}
	held, err := strconv.ParseFloat(meta["held_loss"], 64)
	if err != nil || meta["step"] != "2" {
		t.Fatalf("checkpoint metadata %v: %v", meta, err)
	}
	ids, tg, n := data.Windows(toks, 10, 3)
	var loss float64
	NoGrad(func() { loss = m.Loss(ids, tg, n, 10, -100).Item() })
	if rel := math.Abs(loss-held) / held; rel > 1e-5 {
		t.Errorf("held loss on the token file: furious %.9g, PyTorch %.9g (relative %.3g)", loss, held, rel)
	}

	// --resume continues from the checkpoint's step.
	cmd = exec.Command(python, ex.Script, "--tokens", file, "--seq", "10", "--steps", "3", "--batch", "4", "--threads", "1",
		"--resume", filepath.Join("ck", "checkpoint.safetensors"), "--out", "ck")
	cmd.Dir = ex.Dir
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "step 3/3") || strings.Contains(string(out), "step 1/3") {
		t.Errorf("train.py --resume: %v\n%s", err, out)
	}

	bad := tensor.FromFloat64([]float64{1, 2.5, 3, 4, 5, 6, 7, 8, 9, 10, 11, 1}, 12)
	if err := bad.Save(file); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(python, ex.Script, "--tokens", file, "--seq", "4", "--steps", "1", "--out", "ck")
	cmd.Dir = ex.Dir
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "non-integer") {
		t.Errorf("a float file of non-ids: %v\n%s", err, out)
	}
}

// An interrupt (the notebook's stop button) stops a local torchrun run: the
// launcher and both workers are killed, the error wraps ErrInterrupted.
func TestExportTorchTrainInterrupt(t *testing.T) {
	needTorch(t)
	bc := Preset("linear")
	bc.DModel, bc.Heads = 8, 2
	ex, err := ExportTorch(NewLM(ModelConfig{Vocab: 16, Layers: 1, Block: bc, Seed: 1}), filepath.Join(t.TempDir(), "export"), ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tensor.ClearInterrupt()
	go func() {
		// interrupt once the workers train (the checkpoint directory appears as they start)
		for i := 0; i < 600; i++ {
			if _, err := os.Stat(filepath.Join(ex.Dir, "checkpoints")); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		tensor.Interrupt()
	}()
	start := time.Now()
	run, err := ex.Train(2, "--mqar", "16,3,2,12", "--steps", "1000000", "--batch", "2", "--threads", "1")
	if !errors.Is(err, tensor.ErrInterrupted) {
		t.Fatalf("got %v, want an error wrapping tensor.ErrInterrupted\n%s", err, run.Output)
	}
	t.Logf("stopped after %.1fs: %v", time.Since(start).Seconds(), err)
	if pids := running(ex.Script); len(pids) > 0 {
		t.Errorf("processes %v of %s still run", pids, ex.Script)
	}
}

// running lists the processes whose command line mentions s (from /proc).
func running(s string) []string {
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var out []string
	for _, f := range dirs {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), s) {
			out = append(out, filepath.Base(filepath.Dir(f)))
		}
	}
	return out
}
