package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/furious-lab/furious/backend/cpu"
	"github.com/furious-lab/furious/gpu"
	"github.com/furious-lab/furious/kernel"
)

// backendReporters print one line each about a compute backend.
var backendReporters = []func() string{
	func() string { return cpu.New().Describe() },
	gpuReport,
}

// gpuReport opens the GPU (an OpenGL 4.3 context through EGL) and describes
// it, or says why there is none.
func gpuReport() string {
	d, err := gpu.Default()
	if err != nil {
		return "gpu: unavailable: " + err.Error()
	}
	return d.Describe()
}

func version(w io.Writer) {
	fmt.Fprintf(w, "furious %s (Jupyter protocol %s), %s %s/%s\n", kernel.Version, kernel.ProtocolVersion,
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/traefik/yaegi", "gonum.org/v1/gonum", "github.com/go-zeromq/zmq4":
				fmt.Fprintf(w, "  %s %s\n", d.Path, d.Version)
			}
		}
	}
	fmt.Fprintln(w, "backends:")
	for _, r := range backendReporters {
		fmt.Fprintln(w, "  "+r())
	}
}
