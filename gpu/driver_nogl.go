//go:build !gl || !cgo

package gpu

import "fmt"

// openDriver of a build without the gl tag (or without cgo): there is no
// OpenGL, and Open says how to get it.
func openDriver(device int) (driver, error) {
	return nil, fmt.Errorf("%w: gpu: built without OpenGL: install libegl-dev libgl-dev and rebuild with make (build tag gl, cgo enabled)", errUnavailable)
}

// Built reports whether this binary was built with OpenGL support.
const Built = false
