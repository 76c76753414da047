#!/usr/bin/python3
"""Prints furious's training speed against the PyTorch peer per model and
preset, from the files bench/device/train.sh writes into a folder: round 1
(NAME.json and NAME-torch.txt, every preset in one process each) and rounds
2 … (NAME-rK-PRESET.json and NAME-rK-PRESET-torch.txt, one preset at a time,
furious then the peer). For each preset: tokens/s of both sides, median over
the rounds, and the median of the per-round ratios furious/PyTorch.

    /usr/bin/python3 bench/train_ratio.py OUTDIR
"""
import glob
import json
import os
import re
import statistics
import sys


def furious(path):
    """preset → tokens/s from a furious bench --train --json file."""
    with open(path) as f:
        return {m["preset"]: m["tokens_per_s"] for m in json.load(f)["models"] if m.get("tokens_per_s")}


def torch(path):
    """preset → eager tokens/s from bench/train_torch.py's output."""
    out = {}
    with open(path) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) == 5 and cols[1] == "eager":
                try:
                    out[cols[0]] = float(cols[3])
                except ValueError:
                    pass
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = sys.argv[1]
    rows = {}  # (model, preset) → list of (furious, torch)
    for name in ("small", "large"):
        pairs = []
        if os.path.exists(f"{d}/{name}.json") and os.path.exists(f"{d}/{name}-torch.txt"):
            pairs.append((f"{d}/{name}.json", f"{d}/{name}-torch.txt"))
        for js in sorted(glob.glob(f"{d}/{name}-r*-*.json")):
            if re.search(rf"/{name}-r\d+-[^/]+\.json$", js):
                pairs.append((js, js[: -len(".json")] + "-torch.txt"))
        for js, tt in pairs:
            if not os.path.exists(tt):
                continue
            fu, to = furious(js), torch(tt)
            for p, v in fu.items():
                if p in to:
                    rows.setdefault((name, p), []).append((v, to[p]))
    if not rows:
        print(f"no furious/PyTorch pairs in {d}", file=sys.stderr)
        return 1
    print("model\tpreset\trounds\tfurious tokens/s\tPyTorch tokens/s\tratio (median of rounds)\tper-round ratios")
    for (name, p), rs in rows.items():
        ratios = [a / b for a, b in rs]
        print(f"{name}\t{p}\t{len(rs)}\t{statistics.median(a for a, _ in rs):.0f}\t{statistics.median(b for _, b in rs):.0f}\t"
              f"{statistics.median(ratios):.2f}\t{', '.join(f'{r:.2f}' for r in ratios)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
