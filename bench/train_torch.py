#!/usr/bin/env python3
"""The PyTorch peer of `furious bench --train`: the same language model, the
same sizes, the same optimiser, timed the same way.

furious writes the models it trains as JSON (`furious bench --train --json
FILE`): one entry per preset with the model's sizes and every axis of its
attention block. This script builds each model in PyTorch from that entry (no
second preset table), trains it on random token batches of the same shape
(speed does not depend on the tokens) and prints tokens/s per preset, eager
and, with --compile, under torch.compile. float32 with TF32 off, AdamW
(lr 1e-3, weight decay 0.01 on matrices), median step time after a warm-up,
torch.cuda.synchronize around every step.

The model (nn.LM): embedding; per layer x += Attn(RMSNorm(x)) and
x += SwiGLU(RMSNorm(x)) (norm eps 1e-6); final RMSNorm; LM head. The block
(nn.AttnBlock, spec §d): qkv projection, causal depthwise conv (+ SiLU), dt,
the decay mask a (softplus, forget, original (Mamba-2) or none), V ⊙ D, V ⊙ dt, the
activation of q and k, RoPE, the attention core, + V ⊙ D, Z gate, output
RMSNorm, output projection. The core is written as a competent PyTorch user
would: order p with a decay as one masked matrix product (scores, power,
exp of the within-sequence segment sums, causal mask), exp attention through
F.scaled_dot_product_attention (causal, or with the decay as an additive
mask).

    python3 bench/train_torch.py --config out/train.json [--device cuda] [--compile]
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as tnn
import torch.nn.functional as F


def segsum(a):
    """a (B, H, L) log-decays → (B, H, L, L) with [i, j] = Σ_{u=j+1}^{i} a_u
    for j ≤ i and −inf above the diagonal (mamba's ssd_minimal segsum: the
    sums are taken over a masked copy, never as a difference of one long
    cumulative sum)."""
    L = a.shape[-1]
    x = a[..., None].expand(*a.shape, L)  # x[..., i, j] = a_i
    low = torch.tril(torch.ones(L, L, dtype=torch.bool, device=a.device), -1)
    x = x.masked_fill(~low, 0)
    s = torch.cumsum(x, dim=-2)
    keep = torch.tril(torch.ones(L, L, dtype=torch.bool, device=a.device))
    return s.masked_fill(~keep, float("-inf"))


def rms_norm(x, w, eps):
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return y * w if w is not None else y


def rope(x, theta=10000.0):
    """Interleaved pairs (x_2i, x_2i+1) rotated by t·θ^(−2i/d), x (B, H, L, d)."""
    L, d = x.shape[-2], x.shape[-1]
    inv = theta ** (-torch.arange(0, d, 2, device=x.device, dtype=x.dtype) / d)
    ang = torch.arange(L, device=x.device, dtype=x.dtype)[:, None] * inv[None, :]
    c, s = ang.cos(), ang.sin()
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * c - x2 * s, x1 * s + x2 * c), dim=-1).flatten(-2)


class Block(tnn.Module):
    def __init__(self, c, dm, heads):
        super().__init__()
        self.c, self.H, self.d = c, heads, dm // heads
        hd = heads * self.d
        self.qkv = tnn.Linear(dm, 3 * hd, bias=False)
        self.o = tnn.Linear(hd, dm, bias=False)
        if c["conv"] > 0:
            self.conv = tnn.Conv1d(3 * hd, 3 * hd, c["conv"], groups=3 * hd, padding=c["conv"] - 1, bias=c["conv_bias"])
        if c["mask"] in ("softplus", "forget"):
            self.wa = tnn.Linear(dm, heads, bias=False)
        if c["dt_v"] or c["mask"] == "original":
            self.wdt = tnn.Linear(dm, heads, bias=False)
        if c["dt_bias"]:
            self.dt_bias = tnn.Parameter(torch.zeros(heads))
        if c["mask"] == "original":
            self.a_log = tnn.Parameter(torch.log(torch.empty(heads).uniform_(1, 16)))
        if c["d_res"]:
            self.D = tnn.Parameter(torch.ones(heads, self.d))
        if c["z_gate"]:
            self.z = tnn.Linear(dm, hd, bias=c["z_bias"])
        if c["norm"] == "output":
            self.norm_w = tnn.Parameter(torch.ones(hd))

    def core(self, q, k, v, a):
        c = self.c
        scale = c["scale"] if c["scale"] else 1 / math.sqrt(self.d)
        L = q.shape[-2]
        if c["exp"]:
            if hasattr(F, "scaled_dot_product_attention"):  # torch ≥ 2.1 (its scale argument)
                if a is None:
                    return F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale)
                return F.scaled_dot_product_attention(q, k, v, attn_mask=segsum(a), scale=scale)
            logits = (q * scale) @ k.transpose(-1, -2)  # torch 1.13 (Debian's): the same maths by hand
            causal = torch.tril(torch.ones(L, L, dtype=torch.bool, device=q.device))
            logits = logits.masked_fill(~causal, float("-inf")) if a is None else logits + segsum(a)
            return torch.softmax(logits, -1) @ v
        s = (q * scale) @ k.transpose(-1, -2)
        if c["order"] != 1:
            s = s.pow(c["order"])
        if a is None:
            p = s.masked_fill(~torch.tril(torch.ones(L, L, dtype=torch.bool, device=q.device)), 0)
        else:
            p = s * torch.exp(segsum(a))
        y = p @ v
        if c["norm"] == "softmax":
            den = p.sum(-1, keepdim=True)
            y = torch.where(den == 0, torch.zeros_like(y), y / den)
        return y

    def forward(self, h):
        c, H, d = self.c, self.H, self.d
        B, L, _ = h.shape
        qkv = self.qkv(h)
        if c["conv"] > 0:
            qkv = self.conv(qkv.transpose(1, 2))[..., :L].transpose(1, 2)
            if c["conv_silu"]:
                qkv = F.silu(qkv)
        q, k, v = qkv.view(B, L, 3, H, d).permute(2, 0, 3, 1, 4)
        dt = a = None
        if hasattr(self, "wdt"):
            x = self.wdt(h).transpose(1, 2)
            if hasattr(self, "dt_bias"):
                x = x + self.dt_bias[:, None]
            dt = F.softplus(x)
        if c["mask"] == "softplus":
            a = -F.softplus(self.wa(h).transpose(1, 2))
        elif c["mask"] == "forget":
            a = F.logsigmoid(self.wa(h).transpose(1, 2))
        elif c["mask"] == "original":
            a = -torch.exp(self.a_log)[:, None] * dt
        dres = v * self.D[:, None, :] if c["d_res"] else None
        if c["dt_v"]:
            v = v * dt[..., None]
        act = {"silu": F.silu, "relu": F.relu}.get(c["qk_act"])
        if act is not None:
            q, k = act(q), act(k)
        if c["rope"]:
            q, k = rope(q), rope(k)
        y = self.core(q, k, v, a)
        if dres is not None:
            y = y + dres
        y = y.transpose(1, 2).reshape(B, L, H * d)
        if c["z_gate"]:
            y = y * F.silu(self.z(h))
        if c["norm"] == "output":
            y = rms_norm(y, self.norm_w, c["eps"])
        return self.o(y)


class SwiGLU(tnn.Module):
    def __init__(self, dm, hidden):
        super().__init__()
        self.gate = tnn.Linear(dm, hidden, bias=False)
        self.up = tnn.Linear(dm, hidden, bias=False)
        self.down = tnn.Linear(hidden, dm, bias=False)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Norm(tnn.Module):
    def __init__(self, dm):
        super().__init__()
        self.w = tnn.Parameter(torch.ones(dm))

    def forward(self, x):
        return rms_norm(x, self.w, 1e-6)


class LM(tnn.Module):
    def __init__(self, m):
        super().__init__()
        dm = m["d_model"]
        self.embed = tnn.Embedding(m["vocab"], dm)
        self.layers = tnn.ModuleList()
        for _ in range(m["layers"]):
            self.layers.append(tnn.ModuleList([Norm(dm), Block(m["block"], dm, m["heads"]), Norm(dm), SwiGLU(dm, m["hidden"])]))
        self.norm = Norm(dm)
        self.head = tnn.Linear(dm, m["vocab"], bias=False)

    def forward(self, ids):
        x = self.embed(ids)
        for n1, attn, n2, mlp in self.layers:
            x = x + attn(n1(x))
            x = x + mlp(n2(x))
        return self.head(self.norm(x))


def train_speed(m, device, steps, warm, compile_):
    torch.manual_seed(1)
    model = LM(m).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}], lr=1e-3)
    B, L, V = m["batch"], m["L"], m["vocab"]
    g = torch.Generator(device="cpu").manual_seed(2)

    def loss_of(ids, tg):
        return F.cross_entropy(model(ids).reshape(-1, V), tg.reshape(-1))

    fwd = torch.compile(loss_of) if compile_ else loss_of

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    times, loss = [], float("nan")
    for i in range(warm + steps):
        ids = torch.randint(0, V, (B, L + 1), generator=g).to(device)
        sync()
        t0 = time.perf_counter()
        l = fwd(ids[:, :-1], ids[:, 1:])
        opt.zero_grad(set_to_none=True)
        l.backward()
        opt.step()
        loss = l.item()  # the loss comes back every step, as furious's does
        sync()
        if i >= warm:
            times.append(time.perf_counter() - t0)
    ms = statistics.median(times) * 1e3
    return ms, B * L / (ms / 1e3), loss


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="JSON written by furious bench --train --json")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warm", type=int, default=5)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    cfg = json.load(open(args.config))
    dev = args.device
    name = torch.cuda.get_device_name(0) if dev.startswith("cuda") else f"cpu, {torch.get_num_threads()} threads"
    print(f"# PyTorch {torch.__version__} on {name}; float32, TF32 off, AdamW; median of {args.steps} steps after {args.warm}")
    print("preset\tmode\tms/step\ttokens/s\tloss")
    for m in cfg["models"]:
        modes = ["eager"] + (["compile"] if args.compile else [])
        for mode in modes:
            try:
                ms, tps, loss = train_speed(m, dev, args.steps, args.warm, mode == "compile")
                print(f"{m['preset']}\t{mode}\t{ms:.2f}\t{tps:.0f}\t{loss:.3f}", flush=True)
            except Exception as e:  # a mode that fails (torch.compile on an old torch) is reported, not fatal
                print(f"{m['preset']}\t{mode}\tfailed: {type(e).__name__}: {str(e).splitlines()[0][:120]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
