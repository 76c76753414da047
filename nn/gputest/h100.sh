#!/usr/bin/env bash
# The device call of bench/results/train-h100-2026-11-23.txt (build first:
#   go test -c -tags gl,egl -o .gl/grad/gpu.test ./gpu
#   go test -c -tags gl,egl -o .gl/grad/gputest.test ./nn/gputest
# and copy this script and the five glvnd loader .debs to .gl/grad/; run
# with .gl/grad carried): GPU attention gradients vs nn's CPU oracle,
# one training step per preset gpu vs cpu, then MatMul / Attention / Train
# benchmarks (cpu on the machine's cores vs the gpu backend).
set -u
cd "$(dirname "$0")/../.." || exit 1
for f in .gl/grad/*.deb; do dpkg -x "$f" /; done
ldconfig
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
G=.gl/grad/gpu.test; T=.gl/grad/gputest.test
{
date -u
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
nproc; grep -m1 "model name" /proc/cpuinfo
echo "== gpu: TestDevice, TestAttentionGrad, TestAttentionLimit"
timeout 60 $G -test.v -test.count=1 -test.run 'TestDevice$|TestAttentionGrad|TestAttentionLimit' 2>&1 | grep -E "gpu_test.go|^(--- |ok|PASS|FAIL)|panic" | grep -v -- "--- PASS: TestAttentionGrad/"
echo "== attention checks: $(timeout 60 $G -test.v -test.count=1 -test.run 'TestAttentionGrad' 2>&1 | grep -c 'largest difference')"
timeout 60 $G -test.v -test.count=1 -test.run 'TestAttentionGrad' 2>&1 | grep "largest difference" | awk '{print $2, $(NF-4)}' | sort | awk '{if($2>m[$1])m[$1]=$2} END{for(k in m)print "worst", k, m[k]}'
echo "== nn/gputest tests"
timeout 90 $T -test.v -test.count=1 2>&1 | grep -v "^=== RUN"
echo "== benchmarks"
timeout 60 $T -test.run '^$' -test.bench 'MatMul' -test.benchtime 20x 2>&1 | grep -E "^Benchmark|FAIL|panic"
timeout 60 $T -test.run '^$' -test.bench 'Attention' -test.benchtime 20x 2>&1 | grep -E "^Benchmark|FAIL|panic"
timeout 150 $T -test.run '^$' -test.bench 'Train' -test.benchtime 8x 2>&1 | grep -E "^Benchmark|FAIL|panic"
date -u
} 2>&1 | tee "$OUT/log"
