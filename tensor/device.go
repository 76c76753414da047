package tensor

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/furious-lab/furious/backend"
	"github.com/furious-lab/furious/backend/cpu"
)

// The device registry: backends register by name, and SetDevice or the
// FURIOUS_DEVICE environment variable ("cpu" by default) chooses the one
// where constructors place new float32 tensors and loaded data. Operations
// never consult it: an operation runs where its operands live (resident.go).
var devices struct {
	sync.Mutex
	byName   map[string]backend.Backend
	want     string // "auto", "cpu", "gpu", or "" (not chosen: use FURIOUS_DEVICE)
	active   backend.Backend
	reason   string // why active was chosen
	noticed  map[string]bool
	noticeTo io.Writer
}

func init() {
	devices.byName = map[string]backend.Backend{}
	devices.noticed = map[string]bool{}
	devices.noticeTo = os.Stderr
	Register(cpu.New())
}

// Register adds b under b.Name(), replacing a backend of the same name, and
// makes the next operation choose the active backend again.
func Register(b backend.Backend) {
	devices.Lock()
	defer devices.Unlock()
	devices.byName[b.Name()] = b
	devices.active = nil
}

// Backends lists the registered backends' names in order.
func Backends() []string {
	devices.Lock()
	defer devices.Unlock()
	names := make([]string, 0, len(devices.byName))
	for n := range devices.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SetDevice chooses where the constructors (Zeros, Ones, Full, FromFloat32,
// Randn, Rand) and the loaders (Load, ReadNpy) place new float32 tensors:
// "cpu", "gpu" (or any registered name), or "auto" (the GPU when a
// registered GPU backend is available, else the CPU). Operations do not
// depend on it: each runs where its operands live. float64 tensors stay on
// the CPU whatever the choice. It returns an error, and keeps the current
// choice, for an unknown name or an unavailable backend; the error wraps
// backend.ErrUnavailable.
func SetDevice(name string) error {
	name = strings.ToLower(strings.TrimSpace(name))
	devices.Lock()
	defer devices.Unlock()
	if name != "auto" {
		b, ok := devices.byName[name]
		if !ok {
			return fmt.Errorf("tensor.SetDevice: no %q backend in this build (registered: %s): %w", name, strings.Join(namesLocked(), ", "), backend.ErrUnavailable)
		}
		if err := available(b); err != nil {
			return fmt.Errorf("tensor.SetDevice(%q): %w", name, err)
		}
	}
	devices.want = name
	devices.active = nil
	return nil
}

// Device describes the backend new tensors are placed on and why it was
// chosen, e.g. "cpu: gonum + OpenBLAS 0.3.21 (2 BLAS threads), 2 threads (default)".
func Device() string {
	b, reason := activeBackend()
	return b.Describe() + " (" + reason + ")"
}

// ActiveBackend returns the backend new float32 tensors are placed on
// (SetDevice, FURIOUS_DEVICE).
func ActiveBackend() backend.Backend {
	b, _ := activeBackend()
	return b
}

// SetNoticeWriter sets where one-time notices (such as a CPU fallback) are
// written, os.Stderr by default; nil silences them. It returns the previous
// writer.
func SetNoticeWriter(w io.Writer) io.Writer {
	devices.Lock()
	defer devices.Unlock()
	old := devices.noticeTo
	devices.noticeTo = w
	return old
}

func namesLocked() []string {
	names := make([]string, 0, len(devices.byName))
	for n := range devices.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func available(b backend.Backend) error {
	if p, ok := b.(backend.Prober); ok {
		return p.Available()
	}
	return nil
}

// activeBackend resolves the choice lazily, so that backends registered in
// later init functions are seen and FURIOUS_DEVICE is read when first needed.
func activeBackend() (backend.Backend, string) {
	devices.Lock()
	defer devices.Unlock()
	if devices.active != nil {
		return devices.active, devices.reason
	}
	want, source := devices.want, "tensor.SetDevice"
	if want == "" {
		want, source = strings.ToLower(strings.TrimSpace(os.Getenv("FURIOUS_DEVICE"))), "FURIOUS_DEVICE"
		if want == "" {
			want, source = "cpu", "default"
		}
	}
	cpuB := devices.byName["cpu"]
	switch want {
	case "cpu":
		devices.active, devices.reason = cpuB, source
		if source != "default" {
			devices.reason = source + " cpu"
		}
	case "auto":
		gpu, ok := devices.byName["gpu"]
		switch {
		case !ok:
			devices.active, devices.reason = cpuB, "auto: no gpu backend registered"
		case available(gpu) != nil:
			devices.active, devices.reason = cpuB, "auto: gpu unavailable: "+available(gpu).Error()
		default:
			devices.active, devices.reason = gpu, "auto: gpu available"
		}
	default:
		b, ok := devices.byName[want]
		switch {
		case !ok:
			devices.active, devices.reason = cpuB, fmt.Sprintf("%s asked for %q, which is not registered; using cpu", source, want)
		case available(b) != nil:
			devices.active, devices.reason = cpuB, fmt.Sprintf("%s asked for %q, unavailable: %v; using cpu", source, want, available(b))
		default:
			devices.active, devices.reason = b, source+" "+want
		}
	}
	return devices.active, devices.reason
}

// placed returns the new host tensor t on the device SetDevice chose: t
// itself on the CPU or for float64, else a resident copy (the constructors
// and loaders call it; operations never do).
func placed(t *Tensor) *Tensor {
	if t.dtype != Float32 {
		return t
	}
	b, _ := activeBackend()
	if b.Kind() == backend.CPU {
		return t
	}
	return toBackend("tensor (placed by SetDevice)", t, b)
}

// noticeOnce writes msg once per key to the notice writer.
func noticeOnce(key, msg string) {
	devices.Lock()
	defer devices.Unlock()
	if devices.noticed[key] {
		return
	}
	devices.noticed[key] = true
	if devices.noticeTo != nil {
		fmt.Fprintln(devices.noticeTo, "furious: "+msg)
	}
}
