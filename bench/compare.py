#!/usr/bin/python3
"""Runs the Go side (bench/ssdbench) and the PyTorch side (bench/torch_ssd.py)
alternately in --rounds rounds of the same session and prints one table of
medians over the rounds, with ratios against the targets. Run from the
repository root:

    /usr/bin/python3 bench/compare.py [--reps 5] [--rounds 3]

The Go run uses the build tags of scripts/buildtags.sh (OpenBLAS when it can
be linked) and OPENBLAS_NUM_THREADS=1: package ssd already runs one head per
core, and a threaded OpenBLAS inside each goroutine oversubscribes the two
cores (measured 5-10x slower). PyTorch runs with torch.set_num_threads(2) and
times every formulation in bench/torch_ssd.py (decay mask or folded decay,
state passing by loop or chunk-level matrix); each row's PyTorch time is the
fastest formulation's.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def run(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    rows = {}
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            rows[(r["name"], r["L"])] = r
    return rows


def merge(rounds):
    """One row per key: the median over rounds of seconds (and gflops), the
    per-round values kept in "rounds"."""
    rows = {}
    for key in rounds[0]:
        rs = [r[key] for r in rounds if key in r]
        row = dict(rs[len(rs) // 2])
        for f in ("seconds", "gflops"):
            if f in row:
                row[f] = statistics.median(r[f] for r in rs)
        row["rounds"] = [r["seconds"] for r in rs]
        rows[key] = row
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3, help="alternating Go / PyTorch runs; medians over them")
    ap.add_argument("--go-bin", help="a prebuilt ssdbench binary instead of building one (for a machine without Go)")
    ap.add_argument("--python", default="/usr/bin/python3", help="the interpreter that has torch")
    args = ap.parse_args()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        gobin, tags = args.go_bin, "(prebuilt)"
        if not gobin:
            tags = subprocess.run(["scripts/buildtags.sh"], capture_output=True, text=True).stdout.strip()
            gobin = os.path.join(tmp, "ssdbench")
            subprocess.run(["go", "build", "-tags", tags, "-o", gobin, "./bench/ssdbench"], check=True)
        gos, torches = [], []
        for _ in range(args.rounds):
            gos.append(run([gobin, "-reps", str(args.reps)], env))
            torches.append(run([args.python, "bench/torch_ssd.py", "--reps", str(args.reps)]))
    go, torch = merge(gos), merge(torches)

    print(f"build tags: '{tags}'   B=1 H=4 d=64 float32 chunk 64, median of {args.reps} per round, median of "
          f"{args.rounds} alternating rounds, cpus {len(os.sched_getaffinity(0))}, "
          f"torch {torch[('version', 0)]['version']} on {torch[('version', 0)]['threads']} threads")
    print(f"{'measurement':34} {'Go ms':>9} {'torch ms':>9} {'torch/Go':>9}  target   (torch formulation; per-round ratios)")
    ok = True
    for name in ("chunked_order1", "chunked_order2_softmax"):
        for L in (2048, 8192):
            g, t = go[(name, L)], torch[(name, L)]
            r = t["seconds"] / g["seconds"]
            ok &= r >= 2
            per = ", ".join(f"{tt / gg:.2f}" for gg, tt in zip(g["rounds"], t["rounds"]))
            print(f"{name + ' L=' + str(L):34} {g['seconds']*1e3:9.2f} {t['seconds']*1e3:9.2f} {r:9.2f}  >= 2   "
                  f"{'ok' if r >= 2 else 'MISSED'}  ({t['variant']}; {per})")
    for name in ("chunked_order1", "chunked_order2_softmax"):
        for impl, rows in (("Go", go), ("torch", torch)):
            r = rows[(name, 8192)]["seconds"] / rows[(name, 2048)]["seconds"]
            print(f"{name + ' 8192/2048 ' + impl:34} {r:9.2f} {'':9} {'':9}  ~4 (linear in L)")
    for name in ("recurrent_order1", "recurrent_order2_softmax"):
        g2, g8 = go[(name, 2048)]["seconds"], go[(name, 8192)]["seconds"]
        print(f"{name + ' 8192/2048 Go':34} {g8/g2:9.2f} {'':9} {'':9}  ~4 (linear in L; {g2*1e3:.1f} ms at 2048)")
    sg = max(go[("sgemm1024", 0)]["gflops"], go[("sgemm1024_2goroutines", 0)]["gflops"])
    print(f"{'SGEMM 1024 GFLOP/s Go / torch':34} {sg:9.1f} {torch[('sgemm1024', 0)]['gflops']:9.1f}"
          f"  (Go: best of one call {go[('sgemm1024', 0)]['gflops']:.1f} and two goroutines)")
    for name in ("chunked_order1", "chunked_order2_softmax"):
        gp = go[(name + "_gemm_part", 2048)]["gflops"]
        ok &= gp >= sg / 2
        print(f"{name + ' GEMM part GFLOP/s':34} {gp:9.1f} {'':9} {gp/sg:9.2f}  >= 0.5 of SGEMM {'ok' if gp >= sg/2 else 'MISSED'}")
    for L in (2048, 8192):
        whole = go[("chunked_order1", L)]["gflops"]
        ok &= whole >= sg / 2
        print(f"{'chunked_order1 whole L=' + str(L) + ' GFLOP/s':34} {whole:9.1f} {'':9} {whole/sg:9.2f}  >= 0.5 of SGEMM "
              f"{'ok' if whole >= sg/2 else 'MISSED'}")
    whole = go[("chunked_order2_softmax", 2048)]["gflops"]
    print(f"{'chunked_order2_softmax whole GFLOP/s':34} {whole:9.1f} {'':9} {whole/sg:9.2f}")
    st = go[("step_order2_softmax", 1)]["seconds"]
    ok &= st < 5e-4
    print(f"{'order-2 Step H=4 (ms)':34} {st*1e3:9.3f} {'':9} {'':9}  < 0.5  {'ok' if st < 5e-4 else 'MISSED'}")
    print(f"{'quadratic order 1 L=2048 (ms)':34} {go[('quadratic_order1', 2048)]['seconds']*1e3:9.2f}")
    for name in ("chunked_order1", "chunked_order2_softmax"):
        for L in (2048, 8192):
            vs = torch[(name, L)]["variants"]
            print(f"  torch {name} L={L}: " + ", ".join(f"{k} {v*1e3:.1f} ms" for k, v in sorted(vs.items(), key=lambda kv: kv[1])))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
