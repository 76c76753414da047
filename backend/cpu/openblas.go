//go:build openblas && cgo

package cpu

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
*/
import "C"

import (
	"fmt"
	"strings"

	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
)

const haveOpenBLAS = true

func init() {
	blas32.Use(netlib.Implementation{})
	blas64.Use(netlib.Implementation{})
	// One OpenBLAS thread per call: parallelism comes from Go (Parallel,
	// Sgemm's row split, ssd's heads). A threaded OpenBLAS called from
	// several goroutines at once oversubscribes the cores (measured 4-10x
	// slower for ssd.Chunked on 2 cores).
	setBLASThreads(1)
}

// openBLASVersion returns e.g. "OpenBLAS 0.3.21" from openblas_get_config,
// whose text starts "OpenBLAS 0.3.21 NO_AFFINITY ...".
func openBLASVersion() string {
	f := strings.Fields(C.GoString(C.openblas_get_config()))
	if len(f) >= 2 && f[0] == "OpenBLAS" {
		return f[0] + " " + f[1]
	}
	return "OpenBLAS"
}

func blasName() string {
	return fmt.Sprintf("gonum + %s (%s)", openBLASVersion(), threadsText(BLASThreads(), "BLAS threads"))
}

// BLASThreads is OpenBLAS's thread count (openblas_get_num_threads).
func BLASThreads() int { return int(C.openblas_get_num_threads()) }

func setBLASThreads(n int) { C.openblas_set_num_threads(C.int(n)) }
