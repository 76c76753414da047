#!/usr/bin/env bash
# furious bench --device gpu on a lent NVIDIA machine (see gpu/BENCH.md).
set -u
source "$(dirname "$0")/env.sh"
date -u | tee "$OUT/date.txt"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a "$OUT/date.txt"
.gl/furious version | tee "$OUT/version.txt"
timeout 200 .gl/gpu.test -test.count=1 > "$OUT/conformance.log" 2>&1; echo "conformance rc=$? $(tail -1 $OUT/conformance.log)"
timeout 330 .gl/furious bench --device gpu --H 16 --d 64 --L 2048,8192,32768,131072 --reps 10 --max-quadratic 8192 2>&1 | tee "$OUT/bench-gpu.txt"
