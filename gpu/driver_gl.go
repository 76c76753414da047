//go:build gl && cgo

package gpu

/*
#cgo LDFLAGS: -ldl -Wl,--as-needed
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define EGL_NO_PROTOTYPES
#include <EGL/egl.h>
#include <EGL/eglext.h>

// libEGL is opened with dlopen, not linked, so that a binary built with
// the gl tag starts on a machine without it and Open says what is missing.
static void *furiousEGLLib;
static PFNEGLGETPROCADDRESSPROC pGetProcAddress;
static PFNEGLGETERRORPROC pGetError;
static PFNEGLINITIALIZEPROC pInitialize;
static PFNEGLBINDAPIPROC pBindAPI;
static PFNEGLCHOOSECONFIGPROC pChooseConfig;
static PFNEGLCREATECONTEXTPROC pCreateContext;
static PFNEGLDESTROYCONTEXTPROC pDestroyContext;
static PFNEGLMAKECURRENTPROC pMakeCurrent;
static PFNEGLGETDISPLAYPROC pGetDisplay;

// furiousEGLLoad opens the EGL library (name, or libEGL.so.1) once; it
// returns 0 and fills err when it cannot.
static int furiousEGLLoad(const char *name, char *err, size_t n) {
	if (furiousEGLLib) return 1;
	void *h = dlopen(name && *name ? name : "libEGL.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, n, "cannot load the EGL library: %s (install libegl1)", dlerror());
		return 0;
	}
#define LOAD(p, sym) if (!(p = (void *)dlsym(h, sym))) { snprintf(err, n, "EGL library lacks %s", sym); dlclose(h); return 0; }
	LOAD(pGetProcAddress, "eglGetProcAddress")
	LOAD(pGetError, "eglGetError")
	LOAD(pInitialize, "eglInitialize")
	LOAD(pBindAPI, "eglBindAPI")
	LOAD(pChooseConfig, "eglChooseConfig")
	LOAD(pCreateContext, "eglCreateContext")
	LOAD(pDestroyContext, "eglDestroyContext")
	LOAD(pMakeCurrent, "eglMakeCurrent")
	LOAD(pGetDisplay, "eglGetDisplay")
#undef LOAD
	furiousEGLLib = h;
	return 1;
}

// eglGetProcAddress is what go-gl's own loader (build tag egl) refers to;
// defining it here forwards it to the library opened above, and leaves the
// executable without a link-time dependence on libEGL.
__eglMustCastToProperFunctionPointerType eglGetProcAddress(const char *name) {
	return pGetProcAddress ? pGetProcAddress(name) : NULL;
}
#define eglGetError pGetError
#define eglInitialize pInitialize
#define eglBindAPI pBindAPI
#define eglChooseConfig pChooseConfig
#define eglCreateContext pCreateContext
#define eglDestroyContext pDestroyContext
#define eglMakeCurrent pMakeCurrent
#define eglGetDisplay pGetDisplay

#ifndef EGL_PLATFORM_SURFACELESS_MESA
#define EGL_PLATFORM_SURFACELESS_MESA 0x31DD
#endif

// furiousEGL holds the display and context made by furiousEGLOpen.
typedef struct {
	EGLDisplay dpy;
	EGLContext ctx;
	const char *platform; // "device", "surfaceless", "default"
	int device;           // index of the EGL device used, -1 if none
	int ndevices;         // EGL devices enumerated
	char err[512];
} furiousEGL;

static int furiousTryDisplay(furiousEGL *e, EGLDisplay dpy) {
	EGLint major, minor;
	if (dpy == EGL_NO_DISPLAY) return 0;
	if (!eglInitialize(dpy, &major, &minor)) {
		snprintf(e->err, sizeof e->err, "eglInitialize failed (0x%x)", eglGetError());
		return 0;
	}
	if (!eglBindAPI(EGL_OPENGL_API)) {
		snprintf(e->err, sizeof e->err, "eglBindAPI(EGL_OPENGL_API) failed (0x%x)", eglGetError());
		return 0;
	}
	// A pbuffer-capable config with desktop GL; no surface is ever made.
	EGLint cfgAttr[] = { EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_NONE };
	EGLConfig cfg = EGL_NO_CONFIG_KHR;
	EGLint n = 0;
	if (!eglChooseConfig(dpy, cfgAttr, &cfg, 1, &n) || n < 1) {
		EGLint cfgAttr2[] = { EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_NONE };
		if (!eglChooseConfig(dpy, cfgAttr2, &cfg, 1, &n) || n < 1) cfg = EGL_NO_CONFIG_KHR;
	}
	EGLint ctxAttr[] = {
		EGL_CONTEXT_MAJOR_VERSION, 4,
		EGL_CONTEXT_MINOR_VERSION, 3,
		EGL_CONTEXT_OPENGL_PROFILE_MASK, EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
		EGL_NONE };
	EGLContext ctx = eglCreateContext(dpy, cfg, EGL_NO_CONTEXT, ctxAttr);
	if (ctx == EGL_NO_CONTEXT) {
		snprintf(e->err, sizeof e->err, "eglCreateContext(OpenGL 4.3 core) failed (0x%x)", eglGetError());
		return 0;
	}
	if (!eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx)) {
		snprintf(e->err, sizeof e->err, "eglMakeCurrent without a surface failed (0x%x)", eglGetError());
		eglDestroyContext(dpy, ctx);
		return 0;
	}
	e->dpy = dpy;
	e->ctx = ctx;
	return 1;
}

// furiousEGLOpen makes an OpenGL 4.3 core context current on the calling
// thread: EGL devices first, then Mesa's surfaceless platform, then the
// default display. want >= 0 picks one EGL device.
static int furiousEGLOpen(furiousEGL *e, int want, const char *lib) {
	memset(e, 0, sizeof *e);
	e->device = -1;
	if (!furiousEGLLoad(lib, e->err, sizeof e->err)) return 0;
	snprintf(e->err, sizeof e->err, "no EGL display could be initialised");
	PFNEGLQUERYDEVICESEXTPROC queryDevices = (PFNEGLQUERYDEVICESEXTPROC)eglGetProcAddress("eglQueryDevicesEXT");
	PFNEGLGETPLATFORMDISPLAYEXTPROC platformDisplay = (PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
	if (queryDevices && platformDisplay) {
		EGLDeviceEXT devs[16];
		EGLint n = 0;
		if (queryDevices(16, devs, &n)) {
			e->ndevices = n;
			for (int i = 0; i < n; i++) {
				if (want >= 0 && i != want) continue;
				if (furiousTryDisplay(e, platformDisplay(EGL_PLATFORM_DEVICE_EXT, devs[i], NULL))) {
					e->platform = "device";
					e->device = i;
					return 1;
				}
			}
		}
	}
	if (platformDisplay) {
		if (furiousTryDisplay(e, platformDisplay(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL))) {
			e->platform = "surfaceless";
			return 1;
		}
	}
	if (furiousTryDisplay(e, eglGetDisplay(EGL_DEFAULT_DISPLAY))) {
		e->platform = "default";
		return 1;
	}
	return 0;
}

// furiousEGLClose destroys the context only: the display stays initialised,
// because other devices of this process may share it (eglTerminate would
// pull it from under their contexts).
static void furiousEGLClose(furiousEGL *e) {
	eglMakeCurrent(e->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
	eglDestroyContext(e->dpy, e->ctx);
}

static void *furiousProc(const char *name) { return (void *)pGetProcAddress(name); }
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unsafe"

	"github.com/go-gl/gl/v4.3-core/gl"
)

// Built reports whether this binary was built with OpenGL support.
const Built = true

// GL_NVX_gpu_memory_info: free dedicated video memory in KiB.
const glGPUMemoryInfoCurrentAvailableVidmemNVX = 0x9049

// glDriver is the driver of a build with the gl tag: EGL plus go-gl's
// OpenGL 4.3 core bindings. Every method runs on the device's GL thread.
type glDriver struct {
	egl     C.furiousEGL
	nvxMem  bool // GL_NVX_gpu_memory_info present
	storage bool // glBufferStorage (GL 4.4 or GL_ARB_buffer_storage); FURIOUS_GL_BUFFERDATA=1 turns it off
	// checkEach makes every dispatch ask glGetError (FURIOUS_GPU_CHECK=each,
	// or =finish, which also waits for each dispatch to complete: serial).
	// Otherwise the error flag is read by the next call that checks
	// (allocation, upload, download, copy), which names the dispatches
	// since the last check: glGetError waits for NVIDIA's driver thread, and
	// per dispatch it cost more than the dispatch itself.
	checkEach bool
	serial    bool
	// unordered leaves host writes into buffers (uploads, copies)
	// unordered against dispatches (FURIOUS_GPU_WRITESYNC=none); see
	// beforeWrite.
	unordered bool
	dirty     bool   // a dispatch was issued since the last glFinish
	unchecked int    // dispatches since the last glGetError
	lastProg  string // the program of the last of them
}

func openDriver(device int) (driver, error) {
	check := os.Getenv("FURIOUS_GPU_CHECK")
	d := &glDriver{checkEach: check == "each" || check == "finish", serial: check == "finish",
		unordered: os.Getenv("FURIOUS_GPU_WRITESYNC") == "none"}
	lib := C.CString(os.Getenv("FURIOUS_EGL_LIBRARY"))
	defer C.free(unsafe.Pointer(lib))
	if C.furiousEGLOpen(&d.egl, C.int(device), lib) == 0 {
		return nil, fmt.Errorf("%w: gpu: no OpenGL 4.3 context through EGL: %s", errUnavailable, C.GoString(&d.egl.err[0]))
	}
	if err := gl.InitWithProcAddrFunc(func(name string) unsafe.Pointer {
		cname := C.CString(name)
		defer C.free(unsafe.Pointer(cname))
		return C.furiousProc(cname)
	}); err != nil {
		C.furiousEGLClose(&d.egl)
		return nil, fmt.Errorf("%w: gpu: loading OpenGL 4.3 entry points: %v", errUnavailable, err)
	}
	var major, minor int32
	gl.GetIntegerv(gl.MAJOR_VERSION, &major)
	gl.GetIntegerv(gl.MINOR_VERSION, &minor)
	if major < 4 || (major == 4 && minor < 3) {
		C.furiousEGLClose(&d.egl)
		return nil, fmt.Errorf("%w: gpu: OpenGL %d.%d has no compute shaders (need 4.3)", errUnavailable, major, minor)
	}
	var n int32
	gl.GetIntegerv(gl.NUM_EXTENSIONS, &n)
	for i := int32(0); i < n; i++ {
		switch gl.GoStr(gl.GetStringi(gl.EXTENSIONS, uint32(i))) {
		case "GL_NVX_gpu_memory_info":
			d.nvxMem = true
		case "GL_ARB_buffer_storage":
			d.storage = true
		}
	}
	if major > 4 || minor >= 4 {
		d.storage = true
	}
	if os.Getenv("FURIOUS_GL_BUFFERDATA") == "1" {
		d.storage = false
	}
	for gl.GetError() != gl.NO_ERROR {
	}
	return d, nil
}

func glString(name uint32) string {
	p := gl.GetString(name)
	if p == nil {
		return ""
	}
	return gl.GoStr(p)
}

func (d *glDriver) info() driverInfo {
	in := driverInfo{
		Vendor:   glString(gl.VENDOR),
		Renderer: glString(gl.RENDERER),
		Version:  glString(gl.VERSION),
		GLSL:     glString(gl.SHADING_LANGUAGE_VERSION),
		Platform: C.GoString(d.egl.platform),
		Device:   int(d.egl.device),
		Devices:  int(d.egl.ndevices),
	}
	var v int32
	gl.GetIntegerv(gl.MAX_COMPUTE_SHARED_MEMORY_SIZE, &v)
	in.MaxSharedBytes = int(v)
	gl.GetIntegerv(gl.MAX_COMPUTE_WORK_GROUP_INVOCATIONS, &v)
	in.MaxInvocations = int(v)
	var v64 int64
	gl.GetInteger64v(gl.MAX_SHADER_STORAGE_BLOCK_SIZE, &v64)
	in.MaxSSBOBytes = int(v64)
	for i := 0; i < 3; i++ {
		gl.GetIntegeri_v(gl.MAX_COMPUTE_WORK_GROUP_COUNT, uint32(i), &v)
		in.MaxGroups[i] = int(v)
	}
	return in
}

func (d *glDriver) compile(src string) (uint32, error) {
	sh := gl.CreateShader(gl.COMPUTE_SHADER)
	csrc, free := gl.Strs(src + "\x00")
	gl.ShaderSource(sh, 1, csrc, nil)
	free()
	gl.CompileShader(sh)
	var ok int32
	gl.GetShaderiv(sh, gl.COMPILE_STATUS, &ok)
	if ok == 0 {
		log := shaderLog(sh, false)
		gl.DeleteShader(sh)
		return 0, errors.New("compile: " + log)
	}
	prog := gl.CreateProgram()
	gl.AttachShader(prog, sh)
	gl.LinkProgram(prog)
	gl.DeleteShader(sh)
	gl.GetProgramiv(prog, gl.LINK_STATUS, &ok)
	if ok == 0 {
		log := shaderLog(prog, true)
		gl.DeleteProgram(prog)
		return 0, errors.New("link: " + log)
	}
	return prog, d.err("compile")
}

func shaderLog(obj uint32, program bool) string {
	var n int32
	if program {
		gl.GetProgramiv(obj, gl.INFO_LOG_LENGTH, &n)
	} else {
		gl.GetShaderiv(obj, gl.INFO_LOG_LENGTH, &n)
	}
	if n <= 1 {
		return "(no log)"
	}
	buf := make([]byte, n)
	if program {
		gl.GetProgramInfoLog(obj, n, nil, &buf[0])
	} else {
		gl.GetShaderInfoLog(obj, n, nil, &buf[0])
	}
	return strings.TrimRight(string(buf[:n-1]), "\x00\n ")
}

func (d *glDriver) uniform(prog uint32, name string) int32 {
	return gl.GetUniformLocation(prog, gl.Str(name+"\x00"))
}

func (d *glDriver) deleteProgram(prog uint32) { gl.DeleteProgram(prog) }

func (d *glDriver) newBuffer(size int) (uint32, error) {
	var id uint32
	gl.GenBuffers(1, &id)
	gl.BindBuffer(gl.SHADER_STORAGE_BUFFER, id)
	if d.storage {
		// Immutable storage without client mapping, so that the driver
		// has no reason to keep it in host memory.
		gl.BufferStorage(gl.SHADER_STORAGE_BUFFER, size, nil, gl.DYNAMIC_STORAGE_BIT)
	} else {
		gl.BufferData(gl.SHADER_STORAGE_BUFFER, size, nil, gl.DYNAMIC_COPY)
	}
	gl.BindBuffer(gl.SHADER_STORAGE_BUFFER, 0)
	if err := d.err("allocate"); err != nil {
		gl.DeleteBuffers(1, &id)
		for gl.GetError() != gl.NO_ERROR {
		}
		return 0, err
	}
	return id, nil
}

func (d *glDriver) deleteBuffer(id uint32) { gl.DeleteBuffers(1, &id) }

func (d *glDriver) upload(id uint32, off int, p unsafe.Pointer, size int) error {
	d.beforeWrite()
	gl.BindBuffer(gl.SHADER_STORAGE_BUFFER, id)
	gl.BufferSubData(gl.SHADER_STORAGE_BUFFER, off, size, p)
	gl.BindBuffer(gl.SHADER_STORAGE_BUFFER, 0)
	d.afterWrite()
	return d.err("upload")
}

func (d *glDriver) download(id uint32, off int, p unsafe.Pointer, size int) error {
	gl.MemoryBarrier(gl.BUFFER_UPDATE_BARRIER_BIT)
	gl.BindBuffer(gl.SHADER_STORAGE_BUFFER, id)
	gl.GetBufferSubData(gl.SHADER_STORAGE_BUFFER, off, size, p)
	gl.BindBuffer(gl.SHADER_STORAGE_BUFFER, 0)
	return d.err("download")
}

func (d *glDriver) copyBuffer(src, dst uint32, srcOff, dstOff, size int) error {
	gl.MemoryBarrier(gl.BUFFER_UPDATE_BARRIER_BIT | gl.SHADER_STORAGE_BARRIER_BIT)
	gl.BindBuffer(gl.COPY_READ_BUFFER, src)
	gl.BindBuffer(gl.COPY_WRITE_BUFFER, dst)
	d.beforeWrite()
	gl.CopyBufferSubData(gl.COPY_READ_BUFFER, gl.COPY_WRITE_BUFFER, srcOff, dstOff, size)
	d.afterWrite()
	gl.BindBuffer(gl.COPY_READ_BUFFER, 0)
	gl.BindBuffer(gl.COPY_WRITE_BUFFER, 0)
	return d.err("copy")
}

func (d *glDriver) dispatch(c *call) error {
	gl.UseProgram(c.prog)
	for i, b := range c.bufs {
		gl.BindBufferBase(gl.SHADER_STORAGE_BUFFER, uint32(i), b)
	}
	for _, u := range c.ints {
		gl.Uniform1i(u.loc, u.v)
	}
	for _, u := range c.floats {
		gl.Uniform1f(u.loc, u.v)
	}
	if c.indirect != 0 {
		gl.BindBuffer(gl.DISPATCH_INDIRECT_BUFFER, c.indirect)
		gl.DispatchComputeIndirect(c.indirectOff)
		gl.BindBuffer(gl.DISPATCH_INDIRECT_BUFFER, 0)
	} else {
		gl.DispatchCompute(c.groups[0], c.groups[1], c.groups[2])
	}
	// Later dispatches and reads see what this one wrote (but for its
	// alternative, which the barrier after it covers).
	barrier := uint32(gl.SHADER_STORAGE_BARRIER_BIT | gl.BUFFER_UPDATE_BARRIER_BIT)
	if c.commands {
		barrier |= gl.COMMAND_BARRIER_BIT
	}
	if !c.alt {
		gl.MemoryBarrier(barrier)
	}
	d.dirty = true
	if d.serial {
		gl.Finish()
	}
	if d.checkEach {
		return d.err("dispatch " + c.name)
	}
	d.unchecked++
	d.lastProg = c.name
	return nil
}

func (d *glDriver) finish() { gl.Finish(); d.dirty = false }

// Host writes and dispatches. On the H100 (NVIDIA 580) the model step's
// gradients were 100% wrong with its dispatches queued and right with a
// glFinish after each one (FURIOUS_GPU_CHECK=finish), while every op alone
// was right; its host writes (glBufferSubData of index lists and zeros,
// glCopyBufferSubData) were then the commands not ordered by the memory
// barriers. With host writes ordered here, and fewer of them in a step
// (zeros and slice gradients by dispatches, a loss's targets once), the
// step is right there (nn/gputest). Which change was needed was not
// isolated: TestHostWritesOrdered's plain pattern (a sum, then an upload
// into its input) stayed in order on the H100 even unguarded. So a host
// write waits for the dispatches issued before it (glFinish, only when
// there were any since the last one) and completes before anything after
// it runs. A steady-state step makes a few host writes (the batch's ids,
// its targets, the embedding gradient's index list).
// FURIOUS_GPU_WRITESYNC=none turns this off, to look for the defect.
func (d *glDriver) beforeWrite() {
	if !d.unordered && d.dirty {
		d.finish()
	}
}

// afterWrite completes a host write before later commands run.
func (d *glDriver) afterWrite() {
	if !d.unordered {
		d.finish()
	}
}

func (d *glDriver) check() error { return d.err("sync") }

func (d *glDriver) timerBegin() uint32 {
	var q uint32
	gl.GenQueries(1, &q)
	gl.BeginQuery(gl.TIME_ELAPSED, q)
	return q
}

func (d *glDriver) timerEnd() { gl.EndQuery(gl.TIME_ELAPSED) }

func (d *glDriver) timerResult(q uint32) uint64 {
	var v uint64
	gl.GetQueryObjectui64v(q, gl.QUERY_RESULT, &v)
	gl.DeleteQueries(1, &q)
	return v
}

func (d *glDriver) freeVideoMemoryKiB() (int, bool) {
	if !d.nvxMem {
		return 0, false
	}
	var v int32
	gl.GetIntegerv(glGPUMemoryInfoCurrentAvailableVidmemNVX, &v)
	return int(v), true
}

// programBinary is the driver's binary of a linked program
// (glGetProgramBinary; NVIDIA's holds the generated assembly as text), nil
// where it gives none.
func (d *glDriver) programBinary(prog uint32) []byte {
	var n int32
	gl.GetProgramiv(prog, gl.PROGRAM_BINARY_LENGTH, &n)
	if n <= 0 {
		return nil
	}
	buf := make([]byte, n)
	var got int32
	var format uint32
	gl.GetProgramBinary(prog, n, &got, &format, unsafe.Pointer(&buf[0]))
	for gl.GetError() != gl.NO_ERROR {
	}
	return buf[:got]
}

func (d *glDriver) destroy() { C.furiousEGLClose(&d.egl) }

// err turns pending GL errors into one Go error; nil when there are none.
func (d *glDriver) err(op string) error {
	var names []string
	for i := 0; i < 8; i++ {
		e := gl.GetError()
		if e == gl.NO_ERROR {
			break
		}
		names = append(names, glErrorName(e))
	}
	since := d.unchecked
	d.unchecked = 0
	if names == nil {
		return nil
	}
	var err error = fmt.Errorf("%s: GL error %s", op, strings.Join(names, ", "))
	if since > 0 {
		err = fmt.Errorf("GL error %s, found at %s: from it or one of the %d dispatches since the last check, the last of them this shader's (FURIOUS_GPU_CHECK=each checks each)", strings.Join(names, ", "), op, since)
		if names[0] == "GL_OUT_OF_MEMORY" {
			err = &oomError{err}
		}
		return &Error{Shader: d.lastProg, Op: "dispatch", Err: err}
	}
	if names[0] == "GL_OUT_OF_MEMORY" {
		return &oomError{err}
	}
	return err
}

func glErrorName(e uint32) string {
	switch e {
	case gl.INVALID_ENUM:
		return "GL_INVALID_ENUM"
	case gl.INVALID_VALUE:
		return "GL_INVALID_VALUE"
	case gl.INVALID_OPERATION:
		return "GL_INVALID_OPERATION"
	case gl.INVALID_FRAMEBUFFER_OPERATION:
		return "GL_INVALID_FRAMEBUFFER_OPERATION"
	case gl.OUT_OF_MEMORY:
		return "GL_OUT_OF_MEMORY"
	case gl.STACK_OVERFLOW:
		return "GL_STACK_OVERFLOW"
	case gl.STACK_UNDERFLOW:
		return "GL_STACK_UNDERFLOW"
	}
	return fmt.Sprintf("0x%x", e)
}
