#!/usr/bin/python3
"""Runs the Go side (go run ./bench/ssdbench) and the PyTorch side
(bench/torch_ssd.py) in the same session and prints one table with ratios
against the targets. Run from the repository root:

    /usr/bin/python3 bench/compare.py [--reps 5]

The Go run uses the build tags of scripts/buildtags.sh (OpenBLAS when it can
be linked) and OPENBLAS_NUM_THREADS=1: package ssd already runs one head per
core, and a threaded OpenBLAS inside each goroutine oversubscribes the two
cores (measured 5-10x slower). PyTorch runs with torch.set_num_threads(2).
"""
import argparse
import json
import os
import subprocess
import sys


def run(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    rows = {}
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            rows[(r["name"], r["L"])] = r
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--go-bin", help="a prebuilt ssdbench binary instead of go run (for a machine without Go)")
    ap.add_argument("--python", default="/usr/bin/python3", help="the interpreter that has torch")
    args = ap.parse_args()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    if args.go_bin:
        tags = "(prebuilt)"
        go = run([args.go_bin, "-reps", str(args.reps)], env)
    else:
        tags = subprocess.run(["scripts/buildtags.sh"], capture_output=True, text=True).stdout.strip()
        go = run(["go", "run", "-tags", tags, "./bench/ssdbench", "-reps", str(args.reps)], env)
    torch = run([args.python, "bench/torch_ssd.py", "--reps", str(args.reps)])

    print(f"build tags: '{tags}'   B=1 H=4 d=64 float32 chunk 64, median of {args.reps}, cpus {len(os.sched_getaffinity(0))}, torch {torch[('version', 0)]['version']}")
    print(f"{'measurement':34} {'Go ms':>9} {'torch ms':>9} {'torch/Go':>9}  target")
    ok = True
    for name in ("chunked_order1", "chunked_order2_softmax"):
        for L in (2048, 8192):
            g, t = go[(name, L)]["seconds"], torch[(name, L)]["seconds"]
            r = t / g
            ok &= r >= 2
            print(f"{name + ' L=' + str(L):34} {g*1e3:9.2f} {t*1e3:9.2f} {r:9.2f}  >= 2   {'ok' if r >= 2 else 'MISSED'}")
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
        whole = go[(name, 2048)]["gflops"]
        ok &= gp >= sg / 2
        print(f"{name + ' GEMM part GFLOP/s':34} {gp:9.1f} {'':9} {gp/sg:9.2f}  >= 0.5 of SGEMM {'ok' if gp >= sg/2 else 'MISSED'}"
              f"  (whole algorithm {whole:.1f}, {whole/sg:.2f})")
    st = go[("step_order2_softmax", 1)]["seconds"]
    ok &= st < 5e-4
    print(f"{'order-2 Step H=4 (ms)':34} {st*1e3:9.3f} {'':9} {'':9}  < 0.5  {'ok' if st < 5e-4 else 'MISSED'}")
    print(f"{'quadratic order 1 L=2048 (ms)':34} {go[('quadratic_order1', 2048)]['seconds']*1e3:9.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
