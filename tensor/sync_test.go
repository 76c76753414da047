package tensor

import (
	"errors"
	"strings"
	"testing"

	"github.com/furious-lab/furious/backend"
)

// finisher is a backend with a queue that counts Finish calls.
type finisher struct {
	name string
	n    int
	err  error
}

func (f *finisher) Name() string                       { return f.name }
func (f *finisher) Kind() backend.Kind                 { return backend.GPU }
func (f *finisher) Describe() string                   { return f.name }
func (f *finisher) Capabilities() backend.Capabilities { return backend.Capabilities{} }
func (f *finisher) Finish() error                      { f.n++; return f.err }

func TestSyncFinishesEveryBackend(t *testing.T) {
	f := &finisher{name: "test-sync-queue"}
	Register(f)
	t.Cleanup(func() {
		devices.Lock()
		delete(devices.byName, f.name)
		devices.active = nil
		devices.Unlock()
	})
	Sync()
	Sync()
	if f.n != 2 {
		t.Errorf("Finish called %d times for 2 Syncs", f.n)
	}
	f.err = errors.New("queued dispatch failed")
	err := Catch(Sync)
	var te *Error
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "tensor.Sync") || !strings.Contains(err.Error(), "queued dispatch failed") {
		t.Errorf("a failed Finish gives %v", err)
	}
}
