#!/usr/bin/env bash
# A device call for resident tensors and ssd's device forms (build first:
#   go test -c -tags gl,egl -o .gl/res/gpu.test ./gpu
#   go test -c -tags gl,egl -o .gl/res/ssdgpu.test ./ssd/gputest
# and copy this script and the glvnd loader .debs to .gl/res/; run with
# .gl/res carried): gpu's resident tests (tensor ops on the device vs the
# CPU, lazy sync, leaks), ssd/gputest (forms vs the float64 oracle, state,
# fallbacks, L = 1024 where the quadratic shader runs), then
# BenchmarkChunked (resident vs host inputs vs the CPU) at L = 4096.
set -u
cd "$(dirname "$0")/../.." || exit 1
for f in .gl/res/*.deb; do dpkg -x "$f" /; done
ldconfig
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
G=.gl/res/gpu.test; S=.gl/res/ssdgpu.test
{
date -u
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
echo "== gpu: resident tests"
(cd gpu && timeout 120 ../$G -test.v -test.count=1 -test.run 'Resident|SSDState32|AllFinite32' 2>&1 | grep -v "^=== RUN")
echo "== ssd/gputest"
(cd ssd/gputest && timeout 180 ../../$S -test.v -test.count=1 2>&1 | grep -v "^=== RUN")
echo "== BenchmarkChunked"
(cd ssd/gputest && timeout 240 ../../$S -test.run '^$' -test.bench Chunked -test.benchtime 5x 2>&1 | grep -E "^Benchmark|FAIL|panic")
date -u
} 2>&1 | tee "$OUT/resident-h100.txt"
