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


def split_chunks(q, k, v, a, chunk, softmax_norm):
    """Pads L to a multiple of chunk (a zero tail contributes nothing to
    earlier outputs), appends the ones column X = [V, 1] under the softmax
    norm, and reshapes to chunks: q, k (B,H,n,Q,d), x (B,H,n,Q,W), within-chunk
    cumulative log-decay cs (B,H,n,Q)."""
    B, H, L, d = q.shape
    pad = (-L) % chunk
    if pad:
        q, k, v = (torch.nn.functional.pad(t, (0, 0, 0, pad)) for t in (q, k, v))
        a = torch.nn.functional.pad(a, (0, pad))
    n = (L + pad) // chunk
    if softmax_norm:
        v = torch.cat([v, torch.ones_like(v[..., :1])], dim=-1)
    W = v.shape[-1]
    return (q.reshape(B, H, n, chunk, d), k.reshape(B, H, n, chunk, d),
            v.reshape(B, H, n, chunk, W), a.reshape(B, H, n, chunk).cumsum(-1))


def pass_states_loop(states, last):
    """State passing as a Python loop over chunks: S_{c+1} = exp(cs_last,c)·S_c + T_c.
    states (B,H,n,D,W), last = exp(cs_last) (B,H,n) → the states entering each
    chunk (B,H,n,D,W)."""
    out = torch.empty_like(states)
    S = torch.zeros_like(states[:, :, 0])
    for c in range(states.shape[2]):
        out[:, :, c] = S
        S = torch.addcmul(states[:, :, c], last[:, :, c, None, None], S)
    return out


def pass_states_matrix(states, cs_last):
    """State passing as one product with the (n, n) chunk-level decay matrix
    (the segsum form of mamba's ssd_minimal): entering_c = Σ_{c' < c}
    exp(Σ_{u=c'+1}^{c-1} cs_last,u) T_c'. cs_last (B,H,n) log."""
    n = states.shape[2]
    tot = torch.nn.functional.pad(cs_last[..., :-1], (1, 0)).cumsum(-1)   # Σ_{u<c} cs_last,u (B,H,n)
    seg = tot[..., :, None] - tot[..., None, :] - cs_last[..., None, :]   # Σ_{u=c'+1}^{c-1}  (B,H,n,n)
    strict = torch.ones(n, n, dtype=torch.bool).tril(-1)
    decay = torch.exp(seg.masked_fill(~strict, -math.inf))
    B, H, _, D, W = states.shape
    return (decay @ states.reshape(B, H, n, D * W)).reshape(B, H, n, D, W)


def chunked(q, k, v, a, chunk, order, softmax_norm, diag="mask", passing="loop"):
    """The chunked algorithm in four steps. diag "mask": the diagonal blocks
    use the decay matrix exp(cs_i − cs_j)·M (segsum, as ssd_minimal); "fold":
    the decay folded into the rows, diag(e^{cs}) (f(QKᵀ)⊙M) diag(e^{−cs}) X,
    which needs no (Q, Q) exp and is exact while e^{±cs} stay in range (they
    do for the benchmark's decays). passing "loop" or "matrix" (above)."""
    B, H, L, d = q.shape
    scale = 1.0 / math.sqrt(d)
    q, k, x, cs = split_chunks(q, k, v, a, chunk, softmax_norm)
    n, W = q.shape[2], x.shape[-1]
    causal = torch.ones(chunk, chunk, dtype=torch.bool).tril()
    ecs = torch.exp(cs)                                              # (B,H,n,Q)

    # 1. diagonal blocks: f(Q Kᵀ·scale) ⊙ exp(cs_i − cs_j) ⊙ M, times X
    s = q @ (k * scale).transpose(-1, -2)                            # (B,H,n,Q,Q)
    if order == 2:
        s = s * s
    if diag == "mask":
        seg = cs[..., :, None] - cs[..., None, :]
        y = (s * torch.exp(seg.masked_fill(~causal, -math.inf))) @ x
    else:
        xs = x / ecs[..., None]                                      # diag(e^{−cs}) X
        y = ecs[..., None] * (s.masked_fill_(~causal, 0) @ xs)

    # 2. chunk states: T_c = Σ_j exp(cs_last − cs_j) ψ(k_j·scale) x_jᵀ
    fk = k * scale if order == 1 else feature2(k * scale)            # (B,H,n,Q,D)
    fq = q if order == 1 else feature2(q)
    if diag == "mask":
        w = torch.exp(cs[..., -1:] - cs)                             # (B,H,n,Q)
        states = (fk * w[..., None]).transpose(-1, -2) @ x           # (B,H,n,D,W)
    else:
        states = ecs[..., -1, None, None] * (fk.transpose(-1, -2) @ xs)

    # 3. state passing between chunks
    if passing == "loop":
        entering = pass_states_loop(states, ecs[..., -1])
    else:
        entering = pass_states_matrix(states, cs[..., -1])

    # 4. outputs from the entering state: diag(exp(cs)) ψ(Q) S
    y = torch.baddbmm(y.reshape(-1, chunk, W), (fq * ecs[..., None]).reshape(-1, chunk, fq.shape[-1]),
                      entering.reshape(-1, entering.shape[-2], W))
    y = y.reshape(B, H, n * chunk, W)[:, :, :L]
    if softmax_norm:
        den = y[..., -1:]
        y = torch.where(den != 0, y[..., :-1] / den, torch.zeros_like(y[..., :-1]))
    return y


# Every formulation timed for each measurement; the fastest is the baseline.
VARIANTS = [(dg, ps) for dg in ("mask", "fold") for ps in ("loop", "matrix")]


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


WARM_UP = 0.25  # seconds of calls before timing, as bench/ssdbench's warmUp


def timeit(fns, reps):
    """Median seconds of each function in fns (a dict), timed in interleaved
    rounds (one call of each per round) after WARM_UP seconds of calls of
    each (at least one)."""
    ts = {name: [] for name in fns}
    for fn in fns.values():
        t0 = time.perf_counter()
        while True:
            fn()
            if time.perf_counter() - t0 >= WARM_UP:
                break
    for _ in range(reps):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            ts[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in ts.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--check", action="store_true", help="compare with the quadratic form and exit")
    args = ap.parse_args()
    torch.set_num_threads(2)
    if args.check:
        for order, sm in ((1, False), (1, True), (2, True)):
            q, k, v, a = (t.double() for t in inputs(200, d=16))
            want = quadratic(q, k, v, a, order, sm)
            for dg, ps in VARIANTS:
                e = (chunked(q, k, v, a, 64, order, sm, dg, ps) - want).abs().max().item()
                print(json.dumps({"check": f"order{order} softmax={sm} {dg}/{ps}", "max_abs_err": e}))
        return
    print(json.dumps({"impl": "torch", "name": "version", "L": 0, "seconds": 0, "version": torch.__version__,
                      "threads": torch.get_num_threads()}))
    with torch.no_grad():
        for name, order, sm, L in (("chunked_order1", 1, False, 2048), ("chunked_order1", 1, False, 8192),
                                   ("chunked_order2_softmax", 2, True, 2048), ("chunked_order2_softmax", 2, True, 8192)):
            q, k, v, a = inputs(L)
            # At order 2 the folded decay only adds work beside the 2080-feature
            # products (slower at both lengths on 2026-12-06): the mask forms only.
            vs = VARIANTS if order == 1 else [(dg, ps) for dg, ps in VARIANTS if dg == "mask"]
            fns = {f"{dg}/{ps}": (lambda dg=dg, ps=ps: chunked(q, k, v, a, 64, order, sm, dg, ps)) for dg, ps in vs}
            ts = timeit(fns, args.reps)
            best = min(ts, key=ts.get)
            print(json.dumps({"impl": "torch", "name": name, "L": L, "seconds": ts[best], "variant": best,
                              "variants": ts}), flush=True)
        n = 1024
        x, y = torch.randn(n, n), torch.randn(n, n)
        t = timeit({"mm": lambda: x @ y}, args.reps)["mm"]
        print(json.dumps({"impl": "torch", "name": "sgemm1024", "L": 0, "seconds": t, "gflops": 2 * n**3 / t / 1e9}))


if __name__ == "__main__":
    main()
