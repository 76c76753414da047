package gpu

import "github.com/furious-lab/furious/backend"

var _ backend.Finisher = Backend{}

// Finish implements backend.Finisher: it waits until the default device
// has completed the work queued on it (glFinish) and returns the first
// failure of a posted call not yet reported. Before the device is opened
// there is nothing to wait for, and it opens nothing.
func (Backend) Finish() error {
	if !defaultOpened.Load() {
		return nil
	}
	d, err := Default()
	if err != nil {
		return err
	}
	d.Finish()
	return d.Sync()
}
