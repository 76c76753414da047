#!/usr/bin/env bash
# Runs the gpu package's conformance tests and benchmarks on a lent NVIDIA
# machine, from a folder .gl/ at the repository root that holds the glvnd
# loader debs (libegl1 libglvnd0 libopengl0 libgl1 libglx0), this script and
# the test binary built here with
#   go test -c -tags gl,egl -o .gl/gpu.test ./gpu
# Call: run(command="bash .gl/h100.sh [bench regexp] [benchtime]", carry=[".gl"]).
# Logs go to $OUT.
set -u
cd "$(dirname "$0")/.."
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
T=.gl/gpu.test
BENCH=${1:-SGEMM|SSD|Quadratic|Attention}
BT=${2:-5x}
date -u | tee "$OUT/date.txt"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv | tee "$OUT/smi.txt"
timeout 180 $T -test.v -test.count=1 >"$OUT/conformance.log" 2>&1
echo "conformance rc=$?"
grep -E "^(--- (FAIL|SKIP)|ok|PASS|FAIL)|gpu: |not run|fell|grew" "$OUT/conformance.log" | head -30
echo "checks: $(grep -c 'largest relative' "$OUT/conformance.log")"
mkdir -p /tmp/gldump
FURIOUS_GL_DUMP=/tmp/gldump timeout 360 $T -test.run '^$' -test.bench "$BENCH" -test.benchtime "$BT" 2>&1 | tee "$OUT/bench.log" | grep -E "^Benchmark|FAIL|panic|sample" | sed -E 's/ +[0-9]+ ns\/op//; s/-16 +/ /'
if [ -n "${AB:-}" ]; then # the same stages with mutable glBufferData storage, for comparison
	FURIOUS_GL_BUFFERDATA=1 timeout 200 $T -test.run '^$' -test.bench "$AB" -test.benchtime "$BT" 2>&1 | tee "$OUT/bench-bufferdata.log" | grep -E "^Benchmark|FAIL|panic" | sed -E 's/ +[0-9]+ ns\/op//; s/-16 +/ /'
fi
(cd /tmp/gldump && ls | head -40 && tar czf "$OUT/programs.tgz" .)
