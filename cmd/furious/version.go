package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/furious-lab/furious/kernel"
)

// Backend reporters print one line each about a compute backend; packages
// built into this binary append theirs (the GPU backend adds "gpu: ...").
var backendReporters = []func() string{
	func() string {
		return fmt.Sprintf("cpu: gonum (pure Go), %d threads", runtime.GOMAXPROCS(0))
	},
}

// gpuReport is replaced by the GPU package's reporter when it is built in.
var gpuReport = func() string { return "gpu: not built (this binary has no OpenGL backend)" }

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
	fmt.Fprintln(w, "  "+gpuReport())
}
