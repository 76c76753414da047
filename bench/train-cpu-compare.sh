#!/usr/bin/env bash
# CPU training throughput, before and after a change, on this machine:
# `furious bench --train --device cpu` of two binaries, one preset per
# process, alternating which runs first, ROUNDS rounds; prints every line
# and the median tokens/s per preset and binary, with the median of the
# paired after/before ratios and the user+sys CPU seconds.
#   bash bench/train-cpu-compare.sh BEFORE_BINARY AFTER_BINARY [ROUNDS]
set -u
before=$1 after=$2 rounds=${3:-5}
presets="linear mamba2 mamba2s 2mamba 2mamba-e softmax"
raw=$(mktemp)
for r in $(seq 1 "$rounds"); do
	for p in $presets; do
		order="before after"
		[ $((r % 2)) -eq 0 ] && order="after before"
		for which in $order; do
			bin=$before
			[ "$which" = after ] && bin=$after
			line=$( { /usr/bin/time -f "cpu %U %S" "$bin" bench --train --device cpu --presets "$p" --reps 5 2>&1; } | grep -E "^ +$p |^cpu " | tr '\n' ' ')
			echo "$r $which $p $line" | tee -a "$raw"
		done
	done
done
echo
echo "preset     tok/s before  after  ratio | median paired after/before | cpu s before  after"
for p in $presets; do
	awk -v p="$p" '$3 == p {
		# fields: round which preset preset ms/step tokens/s loss check cpu user sys
		tps = $6; cpu = $(NF-1) + $NF
		if ($2 == "before") { b[$1] = tps; bc[++nb] = cpu; bs[nb] = tps } else { a[$1] = tps; ac[++na] = cpu; as[na] = tps }
	}
	function med(x, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
		return n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2 }
	END { n = 0; for (r in a) if (r in b) rt[++n] = a[r] / b[r]
		mb = med(bs, nb); ma = med(as, na)
		printf "%-10s %12.0f %6.0f %6.2f | %26.2f | %12.2f %6.2f\n", p, mb, ma, ma / mb, med(rt, n), med(bc, nb), med(ac, na) }' "$raw"
done
rm -f "$raw"
