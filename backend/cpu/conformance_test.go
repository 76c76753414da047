package cpu_test

import (
	"testing"

	"github.com/furious-lab/furious/backend/backendtest"
	"github.com/furious-lab/furious/backend/cpu"
)

func TestConformance(t *testing.T) { backendtest.RunAll(t, cpu.New()) }
