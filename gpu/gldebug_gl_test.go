//go:build gl && cgo

package gpu

import "github.com/go-gl/gl/v4.3-core/gl"

// With -gl.debug the benchmarks turn on the driver's debug output
// (KHR_debug, read from its message log rather than through a callback)
// and print what it logged: NVIDIA's driver says there where it places
// each buffer (video or host memory) and when it moves one.
func init() {
	glDebugOn = func(d *Device) {
		d.do(func() {
			gl.Enable(gl.DEBUG_OUTPUT)
			gl.Enable(gl.DEBUG_OUTPUT_SYNCHRONOUS)
			gl.DebugMessageControl(gl.DONT_CARE, gl.DONT_CARE, gl.DONT_CARE, 0, nil, true)
			for gl.GetError() != gl.NO_ERROR {
			}
		})
	}
	glDebugDrain = func(d *Device) []string {
		var msgs []string
		d.do(func() {
			var maxLen int32
			gl.GetIntegerv(gl.MAX_DEBUG_MESSAGE_LENGTH, &maxLen)
			if maxLen <= 0 {
				maxLen = 4096
			}
			buf := make([]byte, maxLen)
			var length int32
			for i := 0; i < 10000; i++ {
				var src, typ, id, sev uint32
				n := gl.GetDebugMessageLog(1, maxLen, &src, &typ, &id, &sev, &length, &buf[0])
				if n == 0 {
					break
				}
				msgs = append(msgs, string(buf[:max(length-1, 0)]))
			}
			for gl.GetError() != gl.NO_ERROR {
			}
		})
		return msgs
	}
}
