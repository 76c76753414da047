package tensor

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

// memLimit is the cap in bytes for one allocation; 0 means "what the machine
// has available".
var memLimit atomic.Int64

// checkAbove is the size below which allocations are not checked against
// /proc/meminfo (reading it costs microseconds).
const checkAbove = 64 << 20

func init() {
	if s := os.Getenv("FURIOUS_MEM_LIMIT"); s != "" {
		if n, err := ParseBytes(s); err == nil {
			memLimit.Store(n)
		} else {
			fmt.Fprintf(os.Stderr, "furious: ignoring FURIOUS_MEM_LIMIT=%q: %v\n", s, err)
		}
	}
}

// SetMemoryLimit caps the size in bytes of any one tensor allocation; 0
// removes the cap (the machine's available memory still applies). It returns
// the previous cap.
func SetMemoryLimit(bytes int64) int64 { return memLimit.Swap(bytes) }

// MemoryLimit returns the cap set by SetMemoryLimit or FURIOUS_MEM_LIMIT, 0 if none.
func MemoryLimit() int64 { return memLimit.Load() }

// AvailableMemory returns MemAvailable from /proc/meminfo in bytes, or -1
// when it cannot be read (non-Linux).
func AvailableMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "MemAvailable:") {
			fields := strings.Fields(line)
			if len(fields) >= 2 {
				if kb, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
					return kb * 1024
				}
			}
		}
	}
	return -1
}

// ParseBytes reads sizes such as "512MiB", "8GB", "1.5GiB" or "1000000".
func ParseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(s), strings.ToUpper(u.suffix)) {
			s = strings.TrimSpace(s[:len(s)-len(u.suffix)])
			mult = u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("not a size: %q", s)
	}
	return int64(v * mult), nil
}

// FormatBytes prints a byte count with a binary unit, e.g. "1.5 GiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// numel returns the number of elements of shape, panicking with an *Error
// naming op on a negative dimension or an overflowing product.
func numel(op string, shape []int) int {
	n := 1
	for _, s := range shape {
		if s < 0 {
			panic(&Error{Op: op, Arg: "shape", Got: append([]int(nil), shape...), Msg: "(negative dimension)", Kind: ErrShape})
		}
		if s != 0 && n > (1<<62)/s {
			panic(&Error{Op: op, Arg: "shape", Msg: fmt.Sprintf("%s has more elements than can be addressed", ShapeString(shape)), Kind: ErrMemory})
		}
		n *= s
	}
	return n
}

// CheckAlloc panics with an *Error (ErrMemory) when n elements of dtype are
// larger than the cap or than the memory available. op names the caller.
func CheckAlloc(op string, dtype DType, shape []int) {
	n := numel(op, shape)
	bytes := int64(n) * int64(dtype.Size())
	if lim := memLimit.Load(); lim > 0 && bytes > lim {
		panic(&Error{Op: op, Kind: ErrMemory, Msg: fmt.Sprintf("a %s %s tensor needs %s, more than the limit of %s (tensor.SetMemoryLimit / FURIOUS_MEM_LIMIT)",
			dtype, ShapeString(shape), FormatBytes(bytes), FormatBytes(lim))})
	}
	if bytes > checkAbove {
		if avail := AvailableMemory(); avail >= 0 && bytes > avail {
			panic(&Error{Op: op, Kind: ErrMemory, Msg: fmt.Sprintf("a %s %s tensor needs %s, more than the %s of memory available",
				dtype, ShapeString(shape), FormatBytes(bytes), FormatBytes(avail))})
		}
	}
}
