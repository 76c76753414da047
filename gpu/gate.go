package gpu

import "runtime"

// dispatchGate holds the dispatches of two alternative paths of one
// computation, of which the device chooses one: a shader that reads what
// decides it (attngemm.comp DECIDE) writes each held dispatch's work-group
// counts into args, its own where its path is chosen and none (0, 0, 0)
// where not, and the dispatches then run with the counts read from there
// (glDispatchComputeIndirect). The host reads nothing back and the path
// not chosen costs a dispatch of no groups. Dispatches join the gate's
// current path (path) through Device.runGated; Device.decide posts them.
type dispatchGate struct {
	path  int // the path dispatches join now: 0 or 1
	calls []gatedCall
}

// gatedCall is one held dispatch, with what run was given.
type gatedCall struct {
	p    *program
	c    *call
	args []arg
	bufs []*Buffer
	path int
}

// gateSlots is the most dispatches a gate holds (attngemm.comp DECIDE's
// NSLOT).
const gateSlots = 8

// slotArgs are the uniforms that tell DECIDE the held dispatches: slot k's
// counts gx[k], gy[k], gz[k] and its path gp[k]; and NSLOT, the slots.
func (g *dispatchGate) slotArgs() []arg {
	if len(g.calls) > gateSlots {
		panic("gpu: a dispatch gate holds more than gateSlots dispatches")
	}
	var args []arg
	for k, h := range g.calls {
		args = append(args, iarg(slotName("gx", k), int(h.c.groups[0])), iarg(slotName("gy", k), int(h.c.groups[1])),
			iarg(slotName("gz", k), int(h.c.groups[2])), iarg(slotName("gp", k), h.path))
	}
	return append(args, iarg("nslot", len(g.calls)))
}

func slotName(v string, k int) string { return v + "[" + string(rune('0'+k)) + "]" }

// decide posts p, the dispatch that writes the held dispatches' counts
// into out (3 uints a slot, slot k at k·12 bytes, then the path chosen;
// p's uniforms args plus slotArgs), then the held dispatches, each reading
// its counts from there: each path's in the order held, the two paths'
// n-th dispatches side by side with no barrier between them (one of the
// two runs no groups), so the path chosen waits on max(n₀, n₁) barriers,
// not n₀ + n₁. The gate is empty after.
func (d *Device) decide(g *dispatchGate, p *program, groups [3]int, bufs []*Buffer, args []arg, out *Buffer) error {
	if out.Len() < 3*len(g.calls)+1 {
		argPanic(p.name, "dispatch", "%d words of arguments for %d dispatches and the path", out.Len(), len(g.calls))
	}
	c, err := d.newCall(p, groups, bufs)
	if err != nil {
		return err
	}
	c.commands = true
	d.postCall(p, c, append(args, g.slotArgs()...))
	runtime.KeepAlive(bufs)
	var paths [2][]int // each path's slots in the order held
	for k, h := range g.calls {
		paths[h.path] = append(paths[h.path], k)
	}
	for n := 0; n < max(len(paths[0]), len(paths[1])); n++ {
		for pi, slots := range paths {
			if n >= len(slots) {
				continue
			}
			h := g.calls[slots[n]]
			h.c.indirect, h.c.indirectOff = out.id, 12*slots[n]
			h.c.alt = pi == 0 && n < len(paths[1])
			d.postCall(h.p, h.c, h.args)
			runtime.KeepAlive(h.bufs)
		}
	}
	g.calls = g.calls[:0]
	return nil
}
