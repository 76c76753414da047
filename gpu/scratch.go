package gpu

// scratch is a device buffer kept between calls of one operation (the SSD
// forms' decays and chunk states), so that a timed or repeated call does
// not allocate. busy marks it taken; a second caller meanwhile gets a
// buffer of its own.
type scratch struct {
	buf  *Buffer
	busy bool
}

// takeScratch returns a buffer of at least n floats for slot, and the
// function that gives it back. The slot keeps the largest buffer asked for
// (until Close or FreeScratch); one asked for while the slot is busy is
// released when given back.
func (d *Device) takeScratch(slot string, n int) (*Buffer, func(), error) {
	d.mu.Lock()
	if d.scratch == nil {
		d.scratch = map[string]*scratch{}
	}
	s := d.scratch[slot]
	if s != nil && !s.busy && s.buf.id != 0 && s.buf.Len() >= n {
		s.busy = true
		d.mu.Unlock()
		return s.buf, func() { d.mu.Lock(); s.busy = false; d.mu.Unlock() }, nil
	}
	keep := s == nil || !s.busy
	d.mu.Unlock()
	b, err := d.NewBuffer(n)
	if err != nil {
		return nil, nil, err
	}
	if !keep {
		return b, b.Release, nil
	}
	d.mu.Lock()
	old := d.scratch[slot]
	ns := &scratch{buf: b, busy: true}
	d.scratch[slot] = ns
	d.mu.Unlock()
	if old != nil && !old.busy {
		old.buf.Release()
	}
	return b, func() { d.mu.Lock(); ns.busy = false; d.mu.Unlock() }, nil
}

// FreeScratch releases the buffers that the SSD forms keep between calls
// (they are also freed by Close).
func (d *Device) FreeScratch() {
	d.mu.Lock()
	var free []*Buffer
	for k, s := range d.scratch {
		if !s.busy {
			free = append(free, s.buf)
			delete(d.scratch, k)
		}
	}
	d.mu.Unlock()
	for _, b := range free {
		b.Release()
	}
}
