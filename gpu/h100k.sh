#!/usr/bin/env bash
# gpuperf2's call (BENCH.md, 2026-11-23c): the conformance suite, then SCAN
# fused into STATE (RUNS, -ssd.runs N chunks a run; 0 = the separate SCAN)
# at order 1, 128K and order 2, 32K (stages and SSDAuto), and with RUNS the
# chunk lengths (-ssd.chunk1, -ssd.chunk2) and 32-row tiles (-ssd.rt32).
# Every benchmark warms up for 0.5 s; each setting runs in its own process.
set -u
cd "$(dirname "$0")/../.." || exit 1
for f in .gl/perf/*.deb; do dpkg -x "$f" /; done
ldconfig
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
T=.gl/perf/gpu.test
date -u
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
short() { grep -E "^Benchmark|FAIL|panic" | sed -E 's/ +[0-9]+ ns\/op//; s/-16 +/ /'; }
timeout 200 $T -test.v -test.count=1 >"$OUT/conf.log" 2>&1
echo "conformance rc=$? checks=$(grep -c 'largest relative' "$OUT/conf.log")"
grep -E "^(--- (FAIL|SKIP)|ok|PASS|FAIL)" "$OUT/conf.log" | sort | uniq -c | head -20
st() { echo "== stages $*"; timeout 60 $T -test.run '^$' -test.bench "SSDStages/order=$1/chunk=$2/rpt=4/L=$3\$" -test.benchtime 10x "${@:4}" 2>&1 | tee -a "$OUT/bench.log" | short; }
for r in 0 4 8 16; do st 1 64 131072 -ssd.runs $r; done
for r in 0 2 4 8; do st 2 256 32768 -ssd.runs $r; done
ss() { echo "== ssd $*"; timeout 60 $T -test.run '^$' -test.bench "BenchmarkSSD\$/order=$1/chunk=$2/rpt=4/L=$3\$" -test.benchtime 10x "${@:4}" 2>&1 | tee -a "$OUT/bench.log" | short; }
ss 1 64 131072 -ssd.runs 8 -ssd.rt32
ss 1 32 131072 -ssd.runs 16 -ssd.chunk1 32 -ssd.rt32
ss 1 128 131072 -ssd.runs 4 -ssd.chunk1 128
ss 2 512 32768 -ssd.runs 2 -ssd.chunk2 512
ss 2 128 32768 -ssd.runs 8 -ssd.chunk2 128
au() { echo "== auto $*"; timeout 60 $T -test.run '^$' -test.bench "SSDAuto/order=$1/L=$2/" -test.benchtime 10x "${@:3}" 2>&1 | tee -a "$OUT/bench.log" | short; }
for L in 2048 8192 32768 131072; do au 1 $L -ssd.runs 8; au 2 $L -ssd.runs 4; done
date -u
