"""Trains the furious model exported beside this script (model.py,
model.safetensors) with PyTorch, on one process or with torchrun (DDP: gloo on
CPUs, nccl on GPUs), and writes safetensors checkpoints under furious's
parameter names, which nn.LoadTorch reads back into the furious model.

    torchrun --standalone --nproc_per_node=2 train.py --mqar 64,8,8,64 --steps 1000 --batch 32 --out ckpt
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv_backend=c10d --rdzv_endpoint=HOST:29500 train.py --tokens ids.npy --seq 512 ...
    python3 train.py --steps 10 ...      # one process, no torchrun

Data, the formats furious uses (nn/data), drawn with furious's own generator
(xoshiro256** seeded by SplitMix64, tensor.NewRNG), so that a seed gives the
same batch here as in furious:
  --mqar VOCAB,PAIRS,QUERIES,L   data.MQAR{Vocab, NumKV, NumQueries, SeqLen, IgnoreIndex -100}:
                                 rank r at step i trains on MQAR.Batch(seed + i*world + r, batch/world)
  --tokens FILE.npy --seq L      a 1-D array of token ids (any integer or float dtype):
                                 data.NewBatcher(tokens, batch/world, L, seed + r) windows

Optimiser as furious's Trainer: AdamW (beta1 0.9, eps 1e-8, weight decay on
matrices and embeddings, not on norms, biases, A_log, dt bias or D), the
nn.Schedule learning rate (linear warm-up, then linear decay to --final-lr),
global gradient-norm clipping. Checkpoints hold the parameters (and the
step, loss and held loss as metadata), not the AdamW moments: --resume
continues the schedule with fresh moments. At the end, with --held-seed, rank 0 prints the
loss on the held batch MQAR.Batch(held_seed, held_batch) (or the first
held_batch consecutive windows of the token file, data.Windows, with
--held-batch) as "held_loss <value>", the number nn.LoadTorch's model
computes on the same batch.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as fm  # noqa: E402  (model.py beside this script)

M64 = (1 << 64) - 1


def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class RNG:
    """furious's tensor.RNG: xoshiro256** seeded by SplitMix64."""

    def __init__(self, seed):
        x, self.s = seed & M64, []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    def uint64(self):
        s = self.s
        out = (_rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return out

    def intn(self, n):
        return self.uint64() % n


def _perm(r, n):
    p = list(range(n))
    for i in range(n - 1, 0, -1):
        j = r.intn(i + 1)
        p[i], p[j] = p[j], p[i]
    return p


def mqar_batch(vocab, num_kv, num_q, L, seed, n, ignore=-100):
    """data.MQAR.Batch(seed, n): ids and targets (n, L) int64."""
    keys = (vocab - 1) // 2
    if num_kv < 1 or num_q < 1 or num_q > num_kv or keys < num_kv or vocab - 1 - keys < 1 or 2 * num_kv + 2 * num_q > L + 1:
        raise ValueError(f"MQAR(vocab {vocab}, {num_kv} pairs, {num_q} queries, L {L}) is impossible (see data.MQAR.Check)")
    r = RNG(seed)
    ids, targets = np.zeros((n, L), np.int64), np.full((n, L), ignore, np.int64)
    for b in range(n):
        seq = [0] * (L + 1)
        k = _perm(r, keys)[:num_kv]
        vals = [0] * num_kv
        for i in range(num_kv):
            vals[i] = 1 + keys + r.intn(vocab - 1 - keys)
            seq[2 * i], seq[2 * i + 1] = 1 + k[i], vals[i]
        start, room = 2 * num_kv, L + 1 - 2 * num_kv
        free = room - 2 * num_q
        gaps = [0] * (num_q + 1)
        for _ in range(free):
            gaps[r.intn(len(gaps))] += 1
        which = _perm(r, num_kv)[:num_q]
        pos, qpos = start, []
        for i, w in enumerate(which):
            pos += gaps[i]
            seq[pos], seq[pos + 1] = 1 + k[w], vals[w]
            qpos.append(pos)
            pos += 2
        ids[b] = seq[:L]
        for p in qpos:
            targets[b, p] = seq[p + 1]
    return ids, targets


class Batcher:
    """data.Batcher: random windows tokens[s:s+L] (targets shifted by one)."""

    def __init__(self, tokens, batch, L, seed):
        if len(tokens) < L + 1:
            raise ValueError(f"{batch} windows of length {L} need >= {L + 1} tokens, have {len(tokens)}")
        self.tokens, self.batch, self.L, self.rng = tokens, batch, L, RNG(seed)

    def next(self):
        L, ids, tg = self.L, np.zeros((self.batch, self.L), np.int64), np.zeros((self.batch, self.L), np.int64)
        for i in range(self.batch):
            s = self.rng.intn(len(self.tokens) - L)
            ids[i], tg[i] = self.tokens[s:s + L], self.tokens[s + 1:s + L + 1]
        return ids, tg


def lr_at(t, peak, final, warmup, total):
    """nn.Schedule.LR(t)."""
    if t < warmup:
        return peak * (t + 1) / warmup
    if t >= total or total <= warmup:
        return final
    return peak + (final - peak) * (t - warmup) / (total - warmup)


def main():
    ap = argparse.ArgumentParser(description="Train the exported furious model (torchrun for DDP).")
    ap.add_argument("--mqar", help="VOCAB,PAIRS,QUERIES,L: MQAR batches as furious's data.MQAR draws them")
    ap.add_argument("--tokens", help="a .npy of token ids (1-D): random windows as data.Batcher draws them")
    ap.add_argument("--seq", type=int, default=0, help="window length with --tokens")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=8, help="sequences per step over all processes")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--final-lr", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=0)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--beta2", type=float, default=0.999)
    ap.add_argument("--clip", type=float, default=1.0, help="gradient-norm clip (0: none)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--held-seed", type=int, default=None, help="MQAR: print the loss on the batch of this seed at the end")
    ap.add_argument("--held-batch", type=int, default=0, help="sequences of the held batch (0: --batch); with --tokens, "
                    "a positive value prints the loss on the file's first windows")
    ap.add_argument("--out", default="checkpoints", help="directory of checkpoint.safetensors")
    ap.add_argument("--save-every", type=int, default=0, help="also checkpoint every N steps")
    ap.add_argument("--resume", help="start from this checkpoint instead of model.safetensors")
    ap.add_argument("--recompute", action="store_true", help="recompute the attention core in the backward pass "
                    "(activation checkpointing: no (L, L) matrices kept, for long sequences)")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads per process (0: torch's default)")
    args = ap.parse_args()
    if bool(args.mqar) == bool(args.tokens):
        ap.error("give exactly one of --mqar and --tokens")

    distributed = "RANK" in os.environ
    cuda = torch.cuda.is_available() if args.device == "auto" else args.device == "cuda"
    if distributed:
        dist.init_process_group("nccl" if cuda else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = 0, 1
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = False
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.batch % world:
        ap.error(f"--batch {args.batch} is not a multiple of the {world} processes")
    per = args.batch // world

    model = fm.FuriousLM(fm.CONFIG, recompute=args.recompute)
    model.load(fm.WEIGHTS)
    start = 0
    if args.resume:
        meta = model.load(args.resume)
        start = int(meta.get("step", "0"))
    model.to(device)
    net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[local] if cuda else None) if distributed else model

    named = model.named_tensors()
    decay = [p for n, p in named.items() if p.dim() >= 2 and not n.endswith(".D")]
    rest = [p for n, p in named.items() if not (p.dim() >= 2 and not n.endswith(".D"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay}, {"params": rest, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, args.beta2), eps=1e-8)

    if args.mqar:
        vocab, pairs, queries, L = (int(x) for x in args.mqar.split(","))
        if vocab > model.cfg["vocab"]:
            ap.error(f"MQAR vocabulary {vocab} exceeds the model's {model.cfg['vocab']}")

        def batch(i):
            return mqar_batch(vocab, pairs, queries, L, args.seed + i * world + rank, per)

        def held(n):
            return mqar_batch(vocab, pairs, queries, L, args.held_seed, n)
    else:
        raw = np.load(args.tokens).reshape(-1)
        if raw.dtype.kind == "f" and not np.array_equal(raw, np.round(raw)):
            ap.error(f"{args.tokens} holds non-integer values: want token ids")
        tokens = raw.astype(np.int64)
        if args.seq < 1:
            ap.error("--tokens needs --seq")
        if tokens.min() < 0 or tokens.max() >= model.cfg["vocab"]:
            ap.error(f"token ids span [{tokens.min()}, {tokens.max()}], the model's vocabulary {model.cfg['vocab']}")
        batcher = Batcher(tokens, per, args.seq, args.seed + rank)

        def batch(i):
            return batcher.next()

        def held(n):
            L = args.seq
            k = min(n, (len(tokens) - 1) // L)
            ids = np.stack([tokens[i * L:(i + 1) * L] for i in range(k)])
            tg = np.stack([tokens[i * L + 1:(i + 1) * L + 1] for i in range(k)])
            return ids, tg

    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, "checkpoint.safetensors")
    if rank == 0:
        print(f"# {world} process(es), {device}, {'DDP ' + dist.get_backend() if distributed else 'no DDP'}; "
              f"{sum(p.numel() for p in named.values())} parameters, {model.cfg['dtype']}; block {model.cfg['block']['name'] or 'custom'}",
              flush=True)
    loss_v, t0 = float("nan"), time.time()
    for i in range(start, args.steps):
        lr = lr_at(i, args.lr, args.final_lr, args.warmup, args.steps)
        for g in opt.param_groups:
            g["lr"] = lr
        ids, tg = batch(i)
        ids, tg = torch.from_numpy(ids).to(device), torch.from_numpy(tg).to(device)
        loss = fm.lm_loss(net(ids), tg)  # through the DDP wrapper, so that backward all-reduces the gradients
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(list(named.values()), args.clip) if args.clip > 0 else float("nan")
        opt.step()
        lt = loss.detach().clone()
        if distributed:
            dist.all_reduce(lt)
            lt /= world
        loss_v = float(lt)
        if rank == 0:
            print(f"step {i + 1}/{args.steps} loss {loss_v:.6f} lr {lr:.2e} grad_norm {float(gn):.4f} {time.time() - t0:.1f}s", flush=True)
        if rank == 0 and args.save_every and (i + 1) % args.save_every == 0 and i + 1 < args.steps:
            fm.save_safetensors(ckpt, named, {"step": i + 1, "loss": repr(loss_v), "world_size": world})
    meta = {"step": args.steps, "loss": repr(loss_v), "world_size": world}
    if rank == 0 and (args.held_seed is not None or (args.tokens and args.held_batch > 0)):
        with torch.no_grad():
            hi, ht = held(args.held_batch or args.batch)
            hl = float(model.loss(torch.from_numpy(hi).to(device), torch.from_numpy(ht).to(device)))
        meta["held_loss"] = repr(hl)
        print(f"held_loss {hl!r}", flush=True)
    if rank == 0:
        fm.save_safetensors(ckpt, named, meta)
        print(f"checkpoint {ckpt}", flush=True)
    if distributed:
        dist.barrier()
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
