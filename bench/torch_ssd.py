#!/usr/bin/python3
"""The chunked SSD algorithm in PyTorch (CPU), for a side-by-side timing with
the Go package furious/ssd. Written for this project in the style of
mamba_ssm's ssd_minimal (four numbered steps), not copied from it.

Shapes: q, k (B, H, L, d), v (B, H, L, d), a (B, H, L) log-decay, float32.
Order 1: y = Σ_j (q_i·k_j/√d) exp(Σ_{u=j+1}^{i} a_u) v_j.
Order 2 with softmax norm: the symmetric feature map φ (d(d+1)/2 features,
√2 off the diagonal) carries the state, the diagonal blocks use s² directly,
a ones column appended to V gives the denominator.

Prints one JSON object per measurement (median of --reps runs).
Run: /usr/bin/python3 bench/torch_ssd.py [--check]
"""
import argparse
import json
import math
import statistics
import time

import torch


def feature2(x):
    """φ(x) (…, d) → (…, d(d+1)/2): x_i x_j for i ≤ j, row-major, √2 off the diagonal."""
    d = x.shape[-1]
    i, j = torch.triu_indices(d, d)
    coef = torch.full(i.shape, math.sqrt(2.0), dtype=x.dtype)
    coef[i == j] = 1.0
    return x[..., i] * x[..., j] * coef


def chunked(q, k, v, a, chunk, order, softmax_norm):
    B, H, L, d = q.shape
    scale = 1.0 / math.sqrt(d)
    pad = (-L) % chunk
    if pad:  # zero tail: contributes nothing to earlier outputs
        q, k, v = (torch.nn.functional.pad(t, (0, 0, 0, pad)) for t in (q, k, v))
        a = torch.nn.functional.pad(a, (0, pad))
    n = (L + pad) // chunk
    if softmax_norm:
        v = torch.cat([v, torch.ones_like(v[..., :1])], dim=-1)   # X = [V, 1]
    W = v.shape[-1]
    q = q.reshape(B, H, n, chunk, d)
    k = k.reshape(B, H, n, chunk, d)
    v = v.reshape(B, H, n, chunk, W)
    cs = a.reshape(B, H, n, chunk).cumsum(-1)                       # within-chunk cumsum (B,H,n,Q)

    # 1. diagonal blocks: f(Q Kᵀ·scale) ⊙ exp(cs_i − cs_j) ⊙ M
    seg = cs[..., :, None] - cs[..., None, :]                        # (B,H,n,Q,Q)
    causal = torch.ones(chunk, chunk, dtype=torch.bool).tril()
    decay = torch.exp(seg.masked_fill(~causal, -math.inf))
    s = (q @ k.transpose(-1, -2)) * scale
    if order == 2:
        s = s * s
    y = (s * decay) @ v                                              # (B,H,n,Q,W)

    # 2. chunk states: T_c = Σ_j exp(cs_last − cs_j) ψ(k̃_j) x_jᵀ
    fk = k * scale if order == 1 else feature2(k * scale)           # (B,H,n,Q,D)
    fq = q if order == 1 else feature2(q)
    w = torch.exp(cs[..., -1:] - cs)                                 # (B,H,n,Q)
    states = (fk * w[..., None]).transpose(-1, -2) @ v               # (B,H,n,D,W)

    # 3. state passing (linear scan over chunks): S ← exp(cs_last)·S + T_c
    S = torch.zeros_like(states[:, :, 0])
    entering = []
    last = torch.exp(cs[..., -1])                                    # (B,H,n)
    for c in range(n):
        entering.append(S)
        S = last[:, :, c, None, None] * S + states[:, :, c]
    entering = torch.stack(entering, dim=2)                          # (B,H,n,D,W)

    # 4. outputs from the entering state: diag(exp(cs)) ψ(Q) S
    y = y + (fq * torch.exp(cs)[..., None]) @ entering
    y = y.reshape(B, H, n * chunk, W)[:, :, :L]
    if softmax_norm:
        den = y[..., -1:]
        y = torch.where(den != 0, y[..., :-1] / den, torch.zeros_like(y[..., :-1]))
    return y


def quadratic(q, k, v, a, order, softmax_norm):
    """The O(L²) oracle (float64 in --check)."""
    d = q.shape[-1]
    cs = a.cumsum(-1)
    L = q.shape[2]
    causal = torch.ones(L, L, dtype=torch.bool).tril()
    seg = (cs[..., :, None] - cs[..., None, :]).masked_fill(~causal, -math.inf)
    s = (q @ k.transpose(-1, -2)) / math.sqrt(d)
    p = s ** order * torch.exp(seg)
    y = p @ v
    if softmax_norm:
        y = y / p.sum(-1, keepdim=True)
    return y


def inputs(L, B=1, H=4, d=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(B, H, L, d, generator=g) for _ in range(3))
    a = -torch.nn.functional.softplus(torch.randn(B, H, L, generator=g))
    return q, k, v, a


def timeit(fn, reps):
    fn()  # warm up
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--check", action="store_true", help="compare with the quadratic form and exit")
    args = ap.parse_args()
    torch.set_num_threads(2)
    if args.check:
        for order, sm in ((1, False), (2, True)):
            q, k, v, a = (t.double() for t in inputs(200, d=16))
            e = (chunked(q, k, v, a, 64, order, sm) - quadratic(q, k, v, a, order, sm)).abs().max().item()
            print(json.dumps({"check": f"order{order}", "max_abs_err": e}))
        return
    print(json.dumps({"impl": "torch", "name": "version", "L": 0, "seconds": 0, "version": torch.__version__}))
    with torch.no_grad():
        for name, order, sm, L in (("chunked_order1", 1, False, 2048), ("chunked_order1", 1, False, 8192),
                                   ("chunked_order2_softmax", 2, True, 2048), ("chunked_order2_softmax", 2, True, 8192)):
            q, k, v, a = inputs(L)
            t = timeit(lambda: chunked(q, k, v, a, 64, order, sm), args.reps)
            print(json.dumps({"impl": "torch", "name": name, "L": L, "seconds": t}), flush=True)
        n = 1024
        x, y = torch.randn(n, n), torch.randn(n, n)
        t = timeit(lambda: x @ y, args.reps)
        print(json.dumps({"impl": "torch", "name": "sgemm1024", "L": 0, "seconds": t, "gflops": 2 * n**3 / t / 1e9}))


if __name__ == "__main__":
    main()
