package tensor

import "github.com/furious-lab/furious/backend"

// Sync waits until every registered backend has completed the work queued
// on it: an operation on resident (GPU) tensors returns once it is queued,
// before the device has computed it, so a timing of device work calls Sync
// before reading the clock (display.Timeit does). Reading a result (At,
// Data, String) waits for the work that writes it as well, but also copies
// it. A failure of queued work panics with an *Error, as the operation
// would have. Backends without a queue (the CPU) have nothing to wait for.
func Sync() {
	devices.Lock()
	bs := make([]backend.Backend, 0, len(devices.byName))
	for _, b := range devices.byName {
		bs = append(bs, b)
	}
	devices.Unlock()
	for _, b := range bs {
		if f, ok := b.(backend.Finisher); ok {
			if err := f.Finish(); err != nil {
				deviceError("tensor.Sync", err)
			}
		}
	}
}
