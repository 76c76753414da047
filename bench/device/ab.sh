#!/usr/bin/env bash
# Builds of the gpu tests side by side: $GL/A.test and $GL/B.test (go test
# -c of ./gpu at two commits, named by A and B; default gpu and gpu3), or
# the builds BUILDS names (space-separated, e.g. "gpu gpu3 gpu4"), each
# benchmark pattern in a process of its own, ROUNDS rounds (default 2) in
# alternation A, B, A, B, so the machine's drift falls on every build.
# PATTERNS (";"-separated -test.bench patterns) default to the scores'
# product with each epilogue and the GEMM attention forward at 2K and 8K.
# Then the last build's attention, matmul and GEMM tests. Prints one line
# per benchmark: its medians (ms) in run order. Run in session 14 for
# e10c703; session 15 ran three builds so (6a801f4).
#
#   A=gpu B=gpu3 bash bench/device/ab.sh
#   BUILDS="gpu gpu3 gpu4" PATTERNS='AttentionDevice/(mid|long)/softmax$/gemm/forward$' bash bench/device/ab.sh
set -u
source bench/device/env.sh
cd gpu
A=${A:-gpu} B=${B:-gpu3}
read -r -a builds <<<"${BUILDS:-$A $B}"
last=${builds[${#builds[@]}-1]}
patterns=(
	'ScoresEpilogue/L=.*/(none|order2-masked|expb-masked)/score'
	'AttentionDevice/(mid|long)/(2mamba|softmax)/gemm/forward$'
)
if [ -n "${PATTERNS:-}" ]; then
	IFS=';' read -r -a patterns <<<"$PATTERNS"
fi
for p in "${patterns[@]}"; do
	for ((r = 0; r < ${ROUNDS:-2}; r++)); do
		for b in "${builds[@]}"; do
			timeout 90 ../"$GL"/"$b".test -test.run '^$' -test.bench "$p" -test.benchtime 10x 2>&1 | short | sed "s|^|$b |"
		done
	done
done >"$OUT/ab.txt"
awk '{b = $1; n = $2; ms = ""; for (i = 3; i <= NF; i++) if ($(i+1) == "ms/median") ms = $i
	sub("Benchmark", "", n); row[n] = row[n] " " b "=" ms } END { for (n in row) print n ":" row[n] }' "$OUT/ab.txt" | sort
timeout 120 ../"$GL"/"$last".test -test.run 'Attention|MatMul|Gemm' -test.count=1 -test.v >"$OUT/tests-$last.log" 2>&1
echo "$last's attention, matmul and GEMM tests: rc=$? $(tail -1 "$OUT/tests-$last.log"), $(grep -cE '^\s*--- FAIL' "$OUT/tests-$last.log") failed"
