#!/usr/bin/env bash
# Resident tensors and ssd's device forms on a lent NVIDIA machine: gpu's
# resident tests (tensor ops on the device vs the CPU, lazy sync, leaks),
# ssd/gputest (forms vs the float64 oracle, state, fallbacks, L = 1024 where
# the quadratic shader runs), then BenchmarkChunked (resident vs host inputs
# vs the CPU) at L = 4096. Build first (bench/device/README.md)
#   go test -c -tags gl,egl -o $GL/gpu.test ./gpu
#   go test -c -tags gl,egl -o $GL/ssdgpu.test ./ssd/gputest
set -u
source bench/device/env.sh
G=$GL/gpu.test; S=$GL/ssdgpu.test
{
date -u
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
echo "== gpu: resident tests"
(timeout 120 $G -test.v -test.count=1 -test.run 'Resident|SSDState32|AllFinite32' 2>&1 | grep -v "^=== RUN")
echo "== ssd/gputest"
(timeout 180 $S -test.v -test.count=1 2>&1 | grep -v "^=== RUN")
echo "== BenchmarkChunked"
(timeout 240 $S -test.run '^$' -test.bench Chunked -test.benchtime 5x 2>&1 | grep -E "^Benchmark|FAIL|panic")
date -u
} 2>&1 | tee "$OUT/resident-h100.txt"
