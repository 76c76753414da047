package nn

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/furious-lab/furious/ssd"
	"github.com/furious-lab/furious/tensor"
)

// The PyTorch module and the torchrun training script that ExportTorch
// writes; model.py is exportTorchPy with the model's CONFIG (and a custom
// decay's source) filled in, train.py is exportTrainPy as it is.
var (
	//go:embed export_torch.py
	exportTorchPy string
	//go:embed export_train.py
	exportTrainPy string
)

// The files of an export directory.
const (
	ExportModelFile   = "model.py"          // the self-contained PyTorch module
	ExportTrainFile   = "train.py"          // the torchrun (DDP) training script
	ExportWeightsFile = "model.safetensors" // the parameters, furious's names and shapes
)

// ExportOptions configure ExportTorch.
type ExportOptions struct {
	// Force replaces an existing non-empty directory (by default it is an
	// error; an empty directory is always used).
	Force bool
}

// TorchExport describes an export directory written by ExportTorch.
type TorchExport struct {
	Dir     string // the directory
	Model   string // Dir/model.py
	Script  string // Dir/train.py
	Weights string // Dir/model.safetensors
}

// Command returns the shell command that trains the export with torchrun on
// nproc processes of one machine (gloo on CPUs, nccl on GPUs), run in the
// export directory (copied to the cluster), followed by args (e.g.
// "--steps 1000 --mqar 64,8,8,64 --out ckpt").
func (e TorchExport) Command(nproc int, args string) string {
	return strings.TrimSpace(fmt.Sprintf("torchrun --standalone --nproc_per_node=%d %s %s", nproc, ExportTrainFile, args))
}

// TorchRun is the result of TorchExport.Train.
type TorchRun struct {
	Output     string  // what the launcher and the processes printed
	Loss       float64 // the last step's training loss (mean over the processes), from the checkpoint's metadata
	HeldLoss   float64 // the loss on the held batch (--held-seed) from the metadata, NaN without one
	Checkpoint string  // the checkpoint written: --out/checkpoint.safetensors, default Dir/checkpoints/…
}

// torchrunFlags make the launcher of Debian's torch 1.13 work on Python
// 3.11 (its default "--redirects 0 --tee 0" parse to None there: workers'
// stdout is teed to the console with a "[default<rank>]:" prefix instead),
// and poll the workers every 0.5 s instead of 5 s, so that a short local
// run ends when its processes do.
var torchrunFlags = []string{"--redirects", "1", "--tee", "1", "--monitor_interval", "0.5"}

// Train runs train.py on this machine with torchrun (the real launcher:
// nproc processes, gloo on CPUs, nccl on GPUs), passing args to the script
// ("--mqar", "64,8,8,64", "--steps", "10", ...); the working directory is
// Dir. Each process uses one thread (OMP_NUM_THREADS=1) unless args set
// --threads. It returns the output, the checkpoint's path and the last and
// held losses recorded in it, or an error with the output. An interrupt
// (tensor.Interrupt: the notebook's stop button) kills torchrun and its
// workers and returns an error wrapping tensor.ErrInterrupted.
func (e TorchExport) Train(nproc int, args ...string) (TorchRun, error) {
	run := TorchRun{Loss: math.NaN(), HeldLoss: math.NaN(), Checkpoint: filepath.Join(e.Dir, "checkpoints", "checkpoint.safetensors")}
	launcher, err := exec.LookPath("torchrun")
	if err != nil {
		return run, fmt.Errorf("nn.TorchExport.Train: torchrun not found (apt-get install python3-torch): %v", err)
	}
	if nproc < 1 {
		return run, fmt.Errorf("nn.TorchExport.Train: nproc is %d, want ≥ 1", nproc)
	}
	cmdArgs := append([]string{"--standalone", fmt.Sprintf("--nproc_per_node=%d", nproc)}, torchrunFlags...)
	cmd := exec.Command(launcher, append(append(cmdArgs, e.Script), args...)...)
	cmd.Dir = e.Dir
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	out, err := runInterruptible(cmd)
	run.Output = string(out)
	if errors.Is(err, tensor.ErrInterrupted) {
		return run, err
	}
	if err != nil {
		return run, fmt.Errorf("nn.TorchExport.Train: %s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	// The numbers come from the checkpoint's metadata: the console lines of
	// two processes may interleave.
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--out" {
			run.Checkpoint = filepath.Join(args[i+1], "checkpoint.safetensors")
			if !filepath.IsAbs(run.Checkpoint) {
				run.Checkpoint = filepath.Join(e.Dir, run.Checkpoint)
			}
		}
	}
	f, err := os.Open(run.Checkpoint)
	if err != nil {
		return run, fmt.Errorf("nn.TorchExport.Train: no checkpoint after the run: %v\n%s", err, out)
	}
	defer f.Close()
	_, meta, err := ReadSafetensors(f)
	if err != nil {
		return run, fmt.Errorf("nn.TorchExport.Train: %s: %v", run.Checkpoint, err)
	}
	for key, dst := range map[string]*float64{"loss": &run.Loss, "held_loss": &run.HeldLoss} {
		if v, ok := meta[key]; ok {
			if *dst, err = strconv.ParseFloat(v, 64); err != nil {
				return run, fmt.Errorf("nn.TorchExport.Train: %s: metadata %s = %q is not a number", run.Checkpoint, key, v)
			}
		}
	}
	return run, nil
}

// runInterruptible runs cmd in a process group of its own and returns its
// combined output. When tensor.Interrupt is called (the notebook's stop
// button) the whole group — torchrun and its workers — is killed and the
// error is a *tensor.Error wrapping tensor.ErrInterrupted.
func runInterruptible(cmd *exec.Cmd) ([]byte, error) {
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return buf.Bytes(), err
		case <-tick.C:
			if tensor.Interrupted() {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				e := &tensor.Error{Op: "nn.TorchExport.Train", Kind: tensor.ErrInterrupted, Msg: "interrupted: torchrun and its workers were stopped"}
				select {
				case <-done:
					return buf.Bytes(), e
				case <-time.After(10 * time.Second): // a worker that left the group still writes the output: leave it
					e.Msg = fmt.Sprintf("interrupted: torchrun (process group %d) was killed, but its output is still open after 10 s", cmd.Process.Pid)
					return nil, e
				}
			}
		}
	}
}

// torchBlock is the JSON of the block's axes in model.py's CONFIG.
type torchBlock struct {
	Name      string  `json:"name"`
	Order     int     `json:"order"`
	Exp       bool    `json:"exp"`
	Scale     float64 `json:"scale"` // 0: 1/√d
	Mask      string  `json:"mask"`  // none, original, softplus, forget, custom
	Norm      string  `json:"norm"`  // none, output, softmax
	Eps       float64 `json:"eps"`
	Conv      int     `json:"conv"`
	ConvSiLU  bool    `json:"conv_silu"`
	ConvBias  bool    `json:"conv_bias"`
	QKAct     string  `json:"qk_act"` // none, relu, silu
	DtValues  bool    `json:"dt_values"`
	DtBias    bool    `json:"dt_bias"`
	DRes      bool    `json:"d_res"`
	ZGate     bool    `json:"z_gate"`
	ZBias     bool    `json:"z_bias"`
	RoPE      bool    `json:"rope"`
	RoPETheta float64 `json:"rope_theta"`
}

// torchDecayParam is one parameter of a TorchDecay.
type torchDecayParam struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// torchDecaySpec is the custom log-decay in CONFIG: "fixed" (FixedDecay)
// or "torch" (TorchDecay).
type torchDecaySpec struct {
	Kind   string            `json:"kind"`
	Shape  []int             `json:"shape,omitempty"`
	Params []torchDecayParam `json:"params,omitempty"`
}

// torchConfig is model.py's CONFIG.
type torchConfig struct {
	Format  string          `json:"format"`
	Vocab   int             `json:"vocab"`
	Layers  int             `json:"layers"`
	DModel  int             `json:"d_model"`
	Heads   int             `json:"heads"`
	Hidden  int             `json:"hidden"`
	NormEps float64         `json:"norm_eps"`
	DType   string          `json:"dtype"`
	Block   torchBlock      `json:"block"`
	Decay   *torchDecaySpec `json:"decay"`
}

// decayExport is what an exportable Decay (FixedDecay, TorchDecay) tells
// the exporter when it is called with decayProbe.
type decayExport struct {
	fixed  *tensor.Tensor // FixedDecay's a
	source string         // TorchDecay's PyTorch code
	vars   []*Var         // TorchDecay's parameters
}

// decayProbe is the input the exporter passes to a block's Decay: the
// functions made by FixedDecay and TorchDecay answer it by setting
// probed; any other function computes on it as on a block input and so
// leaves probed nil.
var (
	decayProbe = &Var{Value: tensor.New(tensor.Float64, 1, 1, 1)}
	probed     *decayExport
)

// probeDecay returns what the block's Decay says about itself, or nil when
// it is a plain function (not expressible in PyTorch).
func probeDecay(c BlockConfig) *decayExport {
	if c.Decay == nil {
		return nil
	}
	probed = nil
	defer func() { probed = nil }()
	tensor.Catch(func() { c.Decay(decayProbe) }) // a plain function may fail on the probe: still unexpressible
	return probed
}

// TorchDecay makes a custom log-decay (BlockConfig.Decay with Mask
// ssd.MaskCustom) that ExportTorch can export: f computes it in furious,
// source is the same function in PyTorch, the body of
//
//	def custom_log_decay(h, p):  # h (B, L, DModel), p = [vars...] as torch Parameters → a (B, H, L)
//
// (an expression alone is returned; torch, F and softplus_exact, the
// threshold-free softplus, are in scope). vars are the trainable Vars f
// uses, each with a Name (they are saved, trained by the exported script and
// read back by LoadTorch under that name); f must give the same values as
// source (the export tests check that for their examples, nothing checks a
// user's).
func TorchDecay(f func(h *Var) *Var, source string, vars ...*Var) func(h *Var) *Var {
	const op = "nn.TorchDecay"
	if f == nil {
		tensor.Errorf(op, "f", "is nil")
	}
	if strings.TrimSpace(source) == "" {
		tensor.Errorf(op, "source", "is empty: give the log-decay in PyTorch")
	}
	for i, v := range vars {
		if v == nil || v.Name == "" || strings.HasPrefix(v.Name, optimPrefix) || strings.HasPrefix(v.Name, "decay.p") || v.Name == "decay.a" {
			tensor.Errorf(op, "vars", "var %d needs a Name (not empty, not optim/…, decay.a or decay.p…): it is the tensor's name in the checkpoints", i)
		}
	}
	ex := &decayExport{source: source, vars: vars}
	return func(h *Var) *Var {
		if h == decayProbe {
			probed = ex
			return nil
		}
		return f(h)
	}
}

// The axis values model.py implements; ExportTorch refuses any other (a
// new mask, norm or activation needs its PyTorch form in export_torch.py).
var (
	torchMasks = []ssd.MaskKind{ssd.MaskNone, ssd.MaskOriginal, ssd.MaskSoftplus, ssd.MaskForget, ssd.MaskCustom}
	torchNorms = []ssd.Norm{ssd.NormNone, ssd.NormOutput, ssd.NormSoftmax}
	torchActs  = []ssd.Act{ssd.ActNone, ssd.ActReLU, ssd.ActSiLU}
)

// torchConfigOf returns CONFIG for m, the custom decay's description (nil
// without one), or an error naming the axis that PyTorch cannot express.
func torchConfigOf(m *LM) (torchConfig, *decayExport, error) {
	c := m.Cfg.Block
	b := torchBlock{Name: c.Name, Order: c.Order, Exp: c.Exp, Scale: c.Scale, Mask: c.Mask.String(), Norm: c.Norm.String(),
		Eps: c.Eps, Conv: c.ConvWidth, ConvSiLU: c.ConvSiLU, ConvBias: c.ConvBias && c.ConvWidth > 0, QKAct: c.QKAct.String(),
		DtValues: c.ValueDT, DtBias: c.DtBias && (c.ValueDT || c.Mask == ssd.MaskOriginal), DRes: c.DRes, ZGate: c.ZGate,
		ZBias: c.ZBias && c.ZGate, RoPE: c.RoPE, RoPETheta: RoPETheta}
	dt := "float32"
	if m.Cfg.DType == tensor.Float64 {
		dt = "float64"
	}
	tc := torchConfig{Format: "furious-torch-1", Vocab: m.Cfg.Vocab, Layers: m.Cfg.Layers, DModel: c.DModel, Heads: c.Heads,
		Hidden: m.Cfg.HiddenSize(), NormEps: m.Norm.Eps, DType: dt, Block: b}
	switch {
	case !slices.Contains(torchMasks, c.Mask):
		return tc, nil, fmt.Errorf("nn.ExportTorch: axis Mask %s: model.py has no PyTorch form of this mask (nn/export_torch.py)", c.Mask)
	case !slices.Contains(torchNorms, c.Norm):
		return tc, nil, fmt.Errorf("nn.ExportTorch: axis Norm %s: model.py has no PyTorch form of this norm (nn/export_torch.py)", c.Norm)
	case !slices.Contains(torchActs, c.QKAct):
		return tc, nil, fmt.Errorf("nn.ExportTorch: axis QKAct %s: model.py has no PyTorch form of this activation (nn/export_torch.py)", c.QKAct)
	}
	for i, l := range m.Layers {
		if l.Norm1.Eps != m.Norm.Eps || l.Norm2.Eps != m.Norm.Eps {
			return tc, nil, fmt.Errorf("nn.ExportTorch: the RMSNorm epsilons of layer %d (%g, %g) differ from the final norm's %g; model.py has one", i, l.Norm1.Eps, l.Norm2.Eps, m.Norm.Eps)
		}
	}
	if c.Mask != ssd.MaskCustom {
		return tc, nil, nil
	}
	ex := probeDecay(c)
	if ex == nil {
		return tc, nil, fmt.Errorf("nn.ExportTorch: axis Mask custom (BlockConfig.Decay): a Go function cannot be written in PyTorch; build it with nn.FixedDecay or nn.TorchDecay (its PyTorch source beside it)")
	}
	if ex.fixed != nil {
		tc.Decay = &torchDecaySpec{Kind: "fixed", Shape: ex.fixed.Shape()}
		return tc, ex, nil
	}
	tc.Decay = &torchDecaySpec{Kind: "torch"}
	names := ParamsByName(m.Params())
	for _, v := range ex.vars {
		if _, dup := names[v.Name]; dup {
			return tc, nil, fmt.Errorf("nn.ExportTorch: axis Mask custom (nn.TorchDecay): var %q has the name of a model parameter", v.Name)
		}
		tc.Decay.Params = append(tc.Decay.Params, torchDecayParam{Name: v.Name, Shape: v.Value.Shape()})
	}
	return tc, ex, nil
}

// decayPython is the custom_log_decay definition model.py holds.
func decayPython(ex *decayExport) string {
	head := "def custom_log_decay(h, p):\n    \"\"\"The block's custom log-decay (nn.TorchDecay): h (B, L, DModel), p its parameters -> a (B, H, L).\"\"\"\n"
	if ex == nil || ex.source == "" {
		return head + "    raise NotImplementedError(\"this model has no custom log-decay written in PyTorch\")"
	}
	src := strings.TrimRight(ex.source, "\n ")
	if !strings.Contains(src, "return") {
		src = "return " + strings.TrimSpace(src)
	}
	var b strings.Builder
	b.WriteString(head)
	for _, line := range strings.Split(src, "\n") {
		b.WriteString("    " + line + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// ExportTorch writes m to dir as a PyTorch model: model.py (a self-contained
// module implementing exactly m's architecture, every block axis, with
// furious's parameter names and shapes and numerics conventions; torch ≥ 1.13
// and numpy only), model.safetensors (m's parameters) and train.py (a
// torchrun DDP training script on MQAR settings or a token file, writing
// safetensors checkpoints under the same names; LoadTorch reads them back).
//
// A custom log-decay (ssd.MaskCustom) is exported when it was made by
// FixedDecay or TorchDecay; any other Decay function is an error naming the
// axis. dir must not exist or be empty unless o.Force; the files are written
// into a temporary directory beside dir and renamed into place, so an error
// leaves nothing behind.
func ExportTorch(m *LM, dir string, o ExportOptions) (TorchExport, error) {
	if m == nil {
		return TorchExport{}, errors.New("nn.ExportTorch: model is nil")
	}
	tc, ex, err := torchConfigOf(m)
	if err != nil {
		return TorchExport{}, err
	}
	cj, err := json.MarshalIndent(tc, "", "  ")
	if err != nil {
		return TorchExport{}, err
	}
	// CONFIG sits in a raw ''' string: a quote in a name becomes JSON's \u0027.
	model := strings.Replace(exportTorchPy, "{{CONFIG}}", strings.ReplaceAll(string(cj), "'", `\u0027`), 1)
	model = strings.Replace(model, "{{DECAY}}", decayPython(ex), 1)
	weights := map[string]*tensor.Tensor{}
	for name, p := range ParamsByName(m.Params()) {
		weights[name] = p.Value
	}
	if ex != nil {
		for _, v := range ex.vars {
			weights[v.Name] = v.Value.As(m.Cfg.DType)
		}
		if ex.fixed != nil {
			weights["decay.a"] = ex.fixed.As(m.Cfg.DType)
		}
	}
	meta := map[string]string{"format": tc.Format, "config": string(cj)}
	files := map[string]func(f *os.File) error{
		ExportModelFile:   func(f *os.File) error { _, err := f.WriteString(model); return err },
		ExportTrainFile:   func(f *os.File) error { _, err := f.WriteString(exportTrainPy); return err },
		ExportWeightsFile: func(f *os.File) error { return WriteSafetensors(f, weights, meta) },
	}
	if err := writeDirAtomic("nn.ExportTorch", dir, o.Force, files); err != nil {
		return TorchExport{}, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return TorchExport{Dir: abs, Model: filepath.Join(abs, ExportModelFile), Script: filepath.Join(abs, ExportTrainFile),
		Weights: filepath.Join(abs, ExportWeightsFile)}, nil
}

// writeDirAtomic writes files (name → writer) into a new temporary
// directory beside dir and renames it to dir. dir may be missing or empty;
// a non-empty dir is an error unless force (then it is replaced). On any
// error the temporary directory is removed and dir is untouched.
func writeDirAtomic(op, dir string, force bool, files map[string]func(*os.File) error) (err error) {
	if dir == "" {
		return fmt.Errorf("%s: the directory is empty", op)
	}
	dir = filepath.Clean(dir)
	if st, err := os.Stat(dir); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s: %s exists and is not a directory", op, dir)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("%s: %v", op, err)
		}
		if len(entries) > 0 && !force {
			return fmt.Errorf("%s: %s exists and is not empty (%d entries); choose another directory or force the replacement (ExportOptions.Force, furious export --force)", op, dir, len(entries))
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: %v", op, err)
	}
	parent := filepath.Dir(dir)
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("%s: cannot write into %s: %v", op, parent, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		f, err := os.Create(filepath.Join(tmp, n))
		if err != nil {
			return fmt.Errorf("%s: %v", op, err)
		}
		werr := files[n](f)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("%s: writing %s: %v", op, filepath.Join(dir, n), werr)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("%s: %v", op, err)
	}
	if _, serr := os.Stat(dir); serr == nil {
		old := tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("%s: cannot replace %s: %v", op, dir, err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			os.Rename(old, dir)
			return fmt.Errorf("%s: cannot rename into %s: %v", op, dir, err)
		}
		os.RemoveAll(old)
		return nil
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("%s: cannot rename into %s: %v", op, dir, err)
	}
	return nil
}

// TorchParams returns the tensors a checkpoint of the exported m holds: m's
// parameters and the Vars of a TorchDecay, in that order.
func TorchParams(m *LM) []*Var {
	ps := append([]*Var(nil), m.Params()...)
	if ex := probeDecay(m.Cfg.Block); ex != nil {
		ps = append(ps, ex.vars...)
	}
	return ps
}

// LoadTorch reads a checkpoint written by the exported train.py (or
// model.safetensors) into m: every tensor of TorchParams(m) must be present
// with its shape, and no other tensor but a FixedDecay's "decay.a" (read by
// model.py only); errors name the file, the tensor and both shapes. It
// returns the checkpoint's metadata (train.py writes step, loss and
// held_loss).
func LoadTorch(path string, m *LM) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	ts, meta, err := ReadSafetensors(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("nn.LoadTorch: %s: %v", path, err)
	}
	ps := TorchParams(m)
	byName := ParamsByName(ps)
	for name, t := range ts {
		if name == "decay.a" {
			continue
		}
		p, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("nn.LoadTorch: %s has tensor %q %s that no parameter of the model is named", path, name, tensor.ShapeString(t.Shape()))
		}
		if !slices.Equal(t.Shape(), p.Value.Shape()) {
			return nil, fmt.Errorf("nn.LoadTorch: %s: tensor %q has shape %s, the parameter %s", path, name, tensor.ShapeString(t.Shape()), tensor.ShapeString(p.Value.Shape()))
		}
	}
	for name, p := range byName {
		if _, ok := ts[name]; !ok {
			return nil, fmt.Errorf("nn.LoadTorch: %s has no tensor %q (the parameter %s)", path, name, tensor.ShapeString(p.Value.Shape()))
		}
	}
	for name, p := range byName { // every name and shape agrees: copy, converting the dtype
		t := ts[name].As(p.Value.DType())
		if t.DType() == tensor.Float64 {
			copy(p.Value.Float64s(), t.Float64s())
		} else {
			copy(p.Value.Float32s(), t.Float32s())
		}
	}
	return meta, nil
}
