package gpu

import (
	"errors"
	"unsafe"

	"github.com/furious-lab/furious/backend"
)

// errUnavailable is what Open wraps when no context can be made.
var errUnavailable = backend.ErrUnavailable

// driver is the thin layer of raw OpenGL calls. The gl build implements it
// with EGL and go-gl; other builds have none and Open fails. Every method is
// called on the device's GL thread only.
type driver interface {
	info() driverInfo
	compile(src string) (prog uint32, err error)
	uniform(prog uint32, name string) int32
	deleteProgram(prog uint32)
	newBuffer(size int) (uint32, error)
	deleteBuffer(id uint32)
	upload(id uint32, off int, p unsafe.Pointer, size int) error
	download(id uint32, off int, p unsafe.Pointer, size int) error
	copyBuffer(src, dst uint32, srcOff, dstOff, size int) error
	dispatch(c *call) error
	timerBegin() uint32          // a new GL_TIME_ELAPSED query, begun
	timerEnd()                   // ends the query begun last
	timerResult(q uint32) uint64 // the query's nanoseconds (waits for it), and deletes it
	finish()
	check() error // the GL errors of the dispatches since the last check, if any
	freeVideoMemoryKiB() (int, bool)
	programBinary(prog uint32) []byte
	destroy()
}

// driverInfo is what the context reports about itself.
type driverInfo struct {
	Vendor, Renderer, Version, GLSL string
	Platform                        string // EGL platform: "device", "surfaceless" or "default"
	Device, Devices                 int    // EGL device used (-1: none) and how many were listed
	MaxSharedBytes                  int    // GL_MAX_COMPUTE_SHARED_MEMORY_SIZE
	MaxInvocations                  int    // GL_MAX_COMPUTE_WORK_GROUP_INVOCATIONS
	MaxSSBOBytes                    int    // GL_MAX_SHADER_STORAGE_BLOCK_SIZE
	MaxGroups                       [3]int // GL_MAX_COMPUTE_WORK_GROUP_COUNT
}

// call is one compute dispatch: a program, its storage buffers by binding
// index, its uniforms and the number of work groups.
type call struct {
	name   string // the program's shader and defines, for error messages
	prog   uint32
	bufs   []uint32
	ints   []uniformI
	floats []uniformF
	groups [3]uint32
	// indirect, when not 0, is the buffer whose 3 uints from byte
	// indirectOff hold the work-group counts (written on the device:
	// dispatchGate); groups is then their largest value.
	indirect    uint32
	indirectOff int
	commands    bool // later dispatches read their counts from what this one wrote
	// alt: no memory barrier after this dispatch, whose next is its
	// alternative (dispatchGate: of the two, one runs no groups).
	alt bool
}

type uniformI struct {
	loc int32
	v   int32
}

type uniformF struct {
	loc int32
	v   float32
}

// oomError marks GL_OUT_OF_MEMORY so that it unwraps to ErrOutOfMemory.
type oomError struct{ err error }

func (e *oomError) Error() string   { return e.err.Error() }
func (e *oomError) Unwrap() []error { return []error{e.err, ErrOutOfMemory} }

// ErrOutOfMemory is matched by errors.Is when the GPU refused an allocation
// or a dispatch ran out of memory (GL_OUT_OF_MEMORY).
var ErrOutOfMemory = errors.New("gpu: out of GPU memory")
