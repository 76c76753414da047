package gpu

import (
	"fmt"
	"runtime"
	"strings"
)

// program is a linked compute program in the device's cache, keyed by
// shader name and defines.
type program struct {
	name string
	key  string // name and defines, as cached
	id   uint32
	locs map[string]int32
}

// program returns the cached program for shader name compiled with the
// given "#define" lines (e.g. "TILE 8"), compiling it on first use.
// Compile and link failures are *Error naming the shader, with the log.
func (d *Device) program(name, src string, defines ...string) (*program, error) {
	key := name
	if len(defines) > 0 {
		key += "[" + strings.Join(defines, ";") + "]"
	}
	d.mu.Lock()
	p := d.programs[key]
	d.mu.Unlock()
	if p != nil {
		return p, nil
	}
	full := withDefines(src, defines)
	var id uint32
	var err error
	d.do(func() { id, err = d.drv.compile(full) })
	if err != nil {
		return nil, &Error{Shader: name, Op: "build", Err: err}
	}
	p = &program{name: name, key: key, id: id, locs: map[string]int32{}}
	d.mu.Lock()
	if q := d.programs[key]; q != nil { // compiled twice concurrently: keep one
		d.mu.Unlock()
		d.do(func() { d.drv.deleteProgram(id) })
		return q, nil
	}
	d.programs[key] = p
	d.mu.Unlock()
	return p, nil
}

// withDefines inserts "#define X" lines after the #version line.
func withDefines(src string, defines []string) string {
	if len(defines) == 0 {
		return src
	}
	i := strings.Index(src, "\n")
	if !strings.HasPrefix(src, "#version") || i < 0 {
		i = -1
	}
	var b strings.Builder
	b.WriteString(src[:i+1])
	for _, d := range defines {
		b.WriteString("#define " + d + "\n")
	}
	b.WriteString(src[i+1:])
	return b.String()
}

// arg is one uniform of a dispatch: an int (I) or a float (F).
type arg struct {
	name string
	isF  bool
	i    int32
	f    float32
}

func iarg(name string, v int) arg     { return arg{name: name, i: int32(v)} }
func farg(name string, v float32) arg { return arg{name: name, isF: true, f: v} }

// run dispatches p over groups work groups with bufs bound to storage
// bindings 0, 1, ... and the uniforms set. GL errors become *Error naming
// the shader. The dispatch is posted, not waited for: a GL error is
// reported by a later call (Device.post).
func (d *Device) run(p *program, groups [3]int, bufs []*Buffer, args ...arg) error {
	return d.runGated(nil, p, groups, bufs, args...)
}

// runGated is run, or, with gate, the dispatch held in gate (its
// current path) until Device.decide posts it with counts the device
// chooses.
func (d *Device) runGated(gate *dispatchGate, p *program, groups [3]int, bufs []*Buffer, args ...arg) error {
	c, err := d.newCall(p, groups, bufs)
	if err != nil {
		return err
	}
	if gate != nil {
		gate.calls = append(gate.calls, gatedCall{p: p, c: c, args: args, bufs: bufs, path: gate.path})
		return nil
	}
	d.postCall(p, c, args)
	runtime.KeepAlive(bufs) // until the dispatch is queued: see pool
	return nil
}

// newCall is p's dispatch over groups with bufs bound, checked against
// the device's limits, after any failure of a posted call is reported.
func (d *Device) newCall(p *program, groups [3]int, bufs []*Buffer) (*call, error) {
	for i, g := range groups {
		if g < 1 || (d.info.MaxGroups[i] > 0 && g > d.info.MaxGroups[i]) {
			return nil, &Error{Shader: p.name, Op: "dispatch", Err: fmt.Errorf("work-group count %v exceeds the device's limit %v", groups, d.info.MaxGroups)}
		}
	}
	c := &call{name: p.key, prog: p.id, groups: [3]uint32{uint32(groups[0]), uint32(groups[1]), uint32(groups[2])}}
	for i, b := range bufs {
		if b == nil || b.id == 0 {
			argPanic(p.name, "dispatch", "buffer %d is released", i)
		}
		c.bufs = append(c.bufs, b.id)
	}
	return c, d.pending()
}

// postCall queues c, p's dispatch, with the uniforms args.
func (d *Device) postCall(p *program, c *call, args []arg) {
	d.post(p.name, "dispatch", func() error {
		for _, a := range args {
			loc, ok := p.locs[a.name]
			if !ok {
				loc = d.drv.uniform(p.id, a.name)
				p.locs[a.name] = loc
			}
			if loc < 0 {
				continue // optimised away by the compiler
			}
			if a.isF {
				c.floats = append(c.floats, uniformF{loc, a.f})
			} else {
				c.ints = append(c.ints, uniformI{loc, a.i})
			}
		}
		if d.prof == nil {
			return d.drv.dispatch(c)
		}
		return d.profiledDispatch(profileKey(p.key, args), c)
	})
}

// profileKey is a profile row's name: the program's key and its integer
// uniforms (sizes: a product's M, N and K, an attention's BH and L), so
// that the same shader at two shapes is two rows.
func profileKey(key string, args []arg) string {
	var sb strings.Builder
	sb.WriteString(key)
	for _, a := range args {
		if !a.isF {
			fmt.Fprintf(&sb, " %s=%d", a.name, a.i)
		}
	}
	return sb.String()
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// ProgramBinaries returns the driver's binary of every cached program,
// keyed by shader name and defines (for reading what the driver's compiler
// made of a shader: register use, local memory, unrolling).
func (d *Device) ProgramBinaries() map[string][]byte {
	d.mu.Lock()
	progs := make(map[string]uint32, len(d.programs))
	for k, p := range d.programs {
		progs[k] = p.id
	}
	d.mu.Unlock()
	out := map[string][]byte{}
	d.do(func() {
		for k, id := range progs {
			if b := d.drv.programBinary(id); b != nil {
				out[k] = b
			}
		}
	})
	return out
}
