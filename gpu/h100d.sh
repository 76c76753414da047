#!/usr/bin/env bash
# gpu3's last call (BENCH.md, 2026-11-23 01:18–01:30): the whole
# conformance suite, then the fused SSD's stages with and without
# prefetching, and SSDAuto at each L, each in a process of its own. Staged
# like h100.sh, with the test binary built as .gl/gpu3.test.
set -u
source "$(dirname "$0")/env.sh"
T=.gl/gpu3.test
date -u
timeout 200 $T -test.v -test.count=1 >"$OUT/conf.log" 2>&1
echo "conformance rc=$?"
grep -E "^(--- (FAIL|SKIP)|ok|PASS|FAIL)" "$OUT/conf.log" | head -20
echo "checks: $(grep -c 'largest relative' "$OUT/conf.log")"
short() { grep -E "^Benchmark|FAIL|panic" | sed -E 's/ +[0-9]+ ns\/op//; s/-16 +/ /'; }
st() { echo "== $*"; timeout 60 $T -test.run '^$' -test.bench "SSDStages/order=$1/chunk=$2/rpt=$3/L=$4\$" -test.benchtime 10x "${@:5}" 2>&1 | tee -a "$OUT/bench.log" | short; }
au() { echo "== auto $*"; timeout 60 $T -test.run '^$' -test.bench "SSDAuto/order=$1/L=$2/" -test.benchtime 10x "${@:3}" 2>&1 | tee -a "$OUT/bench.log" | short; }
st 2 256 4 32768 -ssd.nopref
st 2 256 4 32768
st 2 256 8 32768
st 1 64 4 131072 -ssd.nopref
st 1 64 4 131072
st 1 64 4 32768
for L in 2048 8192 32768 131072; do au 1 $L; au 2 $L; done
au 2 32768 -ssd.nopref
au 2 131072 -ssd.nopref
au 1 131072 -ssd.nopref
# STATE8 (v2) as timed in the first two calls:
# st 2 256 4 32768 -ssd.state8=128 [-ssd.state8ks=16]; -ssd.state8=160; -ssd.state8=208
