//go:build !dev

package gpu

import (
	"fmt"

	"github.com/furious-lab/furious/backend"
)

// Without the dev build tag the register-tiled attention prototype
// (attnflash.go and attnflash.comp, built with -tags dev, to be timed on
// a GPU before it replaces anything) is left out: attnFlash is the
// constant false, so attndev.go's hooks compile away, and these stand in
// for its stages, never called.
const attnFlash = false

// attnFlashQT is the prototype's query tile (attnflash.go).
const attnFlashQT = 64

// errFlashOff is the stand-ins' error: the prototype is not built in.
var errFlashOff = fmt.Errorf("gpu: the tiled attention prototype is built with -tags dev: %w", backend.ErrNotImplemented)

func (j *attnDev) flashForward() error             { return errFlashOff }
func (j *attnDev) flashDV() error                  { return errFlashOff }
func (j *attnDev) flashDQ(brows, da *Buffer) error { return errFlashOff }
func (j *attnDev) flashDK(brows, da *Buffer) error { return errFlashOff }
