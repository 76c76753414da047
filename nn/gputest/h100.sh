#!/usr/bin/env bash
# GPU attention gradients vs nn's CPU oracle, one training step per preset
# gpu vs cpu, then MatMul / Attention / Train benchmarks (cpu on the
# machine's cores vs the gpu backend), on a lent NVIDIA machine: the call of
# bench/results/train-h100-2026-11-23.txt. Build first (bench/device/README.md)
#   go test -c -tags gl,egl -o $GL/gpu.test ./gpu
#   go test -c -tags gl,egl -o $GL/gputest.test ./nn/gputest
set -u
source bench/device/env.sh
G=$GL/gpu.test; T=$GL/gputest.test
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
