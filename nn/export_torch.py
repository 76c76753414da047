"""A furious language model as a PyTorch module, written by `furious export`
(nn.ExportTorch). It needs torch >= 1.13 and numpy, nothing else.

The architecture is furious's nn.LM with the attention block below, the
parameter names and shapes are furious's (a Linear weight is (in, out) and
multiplies from the right, y = x @ W), and the numerics follow furious's
conventions (furious's 2Mamba specification):

* score s_ij = (q_i . k_j) * scale, the scale applied before the power
  (scale 0 in CONFIG means 1/sqrt(d));
* the decay mask is exp of segment sums sum_{u=j+1}^{i} a_u accumulated over a
  masked copy of a (never a difference of one long cumulative sum);
* softmax norm: y_i = sum_j P_ij v_j / sum_j P_ij, and a row whose denominator
  is exactly 0 outputs 0 (gradient 0); exp with softmax norm is
  softmax(s + segsum(a)) with the row max subtracted;
* the decay masks use the exact softplus max(x, 0) + log1p(exp(-|x|)); dt
  uses PyTorch's softplus (threshold 20), as furious's tensor.Softplus does.

The core is the quadratic (attention) form, O(L^2) memory per head: furious's
chunked form computes the same function.

    model = FuriousLM(CONFIG)            # the architecture, initial values unset
    model.load(WEIGHTS)                  # weights from model.safetensors (or a checkpoint)
    logits = model(ids)                  # ids (B, L) int64 -> (B, L, vocab)
    save_safetensors(path, model.named_tensors())   # a checkpoint furious reads (nn.LoadTorch)
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as tnn
import torch.nn.functional as F
import torch.utils.checkpoint

# CONFIG is the exported model: sizes and every axis of the attention block.
CONFIG = json.loads(r'''{{CONFIG}}''')

# WEIGHTS is the file written beside this module.
WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.safetensors")


# ---- safetensors, read and written with numpy --------------------------------

_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def load_safetensors(path):
    """Returns ({name: numpy array}, metadata) of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    body = memoryview(raw)[8 + n:]
    out = {}
    for name, e in header.items():
        if e["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name!r} has dtype {e['dtype']}, want one of {sorted(_DTYPES)}")
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(body[b:end], dtype=np.dtype(_DTYPES[e["dtype"]]).newbyteorder("<")).reshape(e["shape"]).copy()
    return out, meta


def save_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor or array} (float32 or float64) to path, names in
    sorted order, data 8-byte aligned; written to path + '.tmp' then renamed."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        t = tensors[name]
        a = t.detach().cpu().numpy() if torch.is_tensor(t) else np.asarray(t)
        code = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64"}.get(a.dtype)
        if code is None:
            raise ValueError(f"tensor {name!r} has dtype {a.dtype}, want float32 or float64")
        b = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    js = json.dumps(header, separators=(",", ":")).encode("utf-8")
    js += b" " * (-len(js) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(js).to_bytes(8, "little"))
        f.write(js)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


# ---- the block's primitives ----------------------------------------------------

def softplus_exact(x):
    """log(1 + e^x) without a threshold: max(x, 0) + log1p(e^{-|x|}) (ssd's mask softplus)."""
    return torch.clamp(x, min=0) + torch.log1p(torch.exp(-x.abs()))


def segsum(a):
    """a (B, H, L) -> (B, H, L, L): [i, j] = sum_{u=j+1}^{i} a_u for j <= i (0 on
    the diagonal), -inf above it. Each entry is a cumulative sum over a masked
    copy of a (x[i, j] = a_i for i > j), never a difference of one long cumsum."""
    L = a.shape[-1]
    idx = torch.arange(L, device=a.device)
    x = a[..., :, None].expand(*a.shape, L)  # x[..., i, j] = a_i
    x = x.masked_fill(~(idx[:, None] > idx[None, :]), 0)
    s = torch.cumsum(x, dim=-2)  # s[i, j] = sum_{j < u <= i} a_u
    return s.masked_fill(~(idx[None, :] <= idx[:, None]), float("-inf"))


def rms_norm(x, w, eps):
    """x / sqrt(mean(x^2) + eps) * w over the last dim (w may be None)."""
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return y * w if w is not None else y


def rope(x, theta):
    """Rotary embedding of x (B, H, L, d), interleaved pairs (x_2i, x_2i+1)
    rotated by t * theta^(-2i/d); the tables are computed in float64."""
    L, d = x.shape[-2], x.shape[-1]
    inv = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    ang = torch.arange(L, dtype=torch.float64)[:, None] * inv[None, :]
    c, s = ang.cos().to(x), ang.sin().to(x)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * c - x2 * s, x1 * s + x2 * c), dim=-1).flatten(-2)


def causal_conv1d(x, w, b):
    """Depthwise causal conv of x (B, L, C) with w (C, W) and bias (C) or None:
    y[t, c] = b[c] + sum_k w[c, k] x[t-(W-1)+k, c], zero history."""
    W = w.shape[1]
    xt = F.pad(x.transpose(1, 2), (W - 1, 0))
    return F.conv1d(xt, w.unsqueeze(1), b, groups=x.shape[-1]).transpose(1, 2)


def attention(q, k, v, a, c):
    """The core, quadratic form: q, k (B, H, L, d), v (B, H, L, dv), a (B, H, L)
    log-decays or None -> y (B, H, L, dv) = norm(P V), P = f(s) * AM, causal."""
    L, d = q.shape[-2], q.shape[-1]
    scale = c["scale"] if c["scale"] else 1 / math.sqrt(d)
    s = (q @ k.transpose(-1, -2)) * scale  # (B, H, L, L), scaled before the power
    idx = torch.arange(L, device=q.device)
    causal = idx[None, :] <= idx[:, None]
    if a is not None:
        seg = segsum(a)
    else:
        seg = torch.zeros(L, L, dtype=q.dtype, device=q.device).masked_fill(~causal, float("-inf"))
    if c["exp"]:
        logits = s + seg
        if c["norm"] == "softmax":
            return torch.softmax(logits, -1) @ v
        p = torch.exp(logits.masked_fill(~causal, float("-inf")))
    else:
        p = s.pow(c["order"]) if c["order"] != 1 else s
        p = (p * torch.exp(seg)) if a is not None else p.masked_fill(~causal, 0)
    y = p @ v
    if c["norm"] == "softmax":
        den = p.sum(-1, keepdim=True)
        zero = den == 0
        y = torch.where(zero, torch.zeros_like(y), y / torch.where(zero, torch.ones_like(den), den))
    return y


# ---- modules: attribute paths give furious's parameter names ------------------

class Weights(tnn.Module):
    """Holds `weight` and optionally `bias` (furious's names .weight / .bias)."""

    def __init__(self, shape, bias=None, dtype=torch.float32):
        super().__init__()
        self.weight = tnn.Parameter(torch.zeros(*shape, dtype=dtype))
        if bias is not None:
            self.bias = tnn.Parameter(torch.zeros(bias, dtype=dtype))
        else:
            self.bias = None

    def forward(self, x):
        y = x @ self.weight  # (in, out): y = x W
        return y + self.bias if self.bias is not None else y


class Block(tnn.Module):
    """nn.AttnBlock: spec section d's order of operations (paper Alg. 3-5)."""

    def __init__(self, cfg, decay, dtype):
        super().__init__()
        c = cfg["block"]
        for axis, values in (("mask", ("none", "original", "softplus", "forget", "custom")),
                             ("norm", ("none", "output", "softmax")), ("qk_act", ("none", "relu", "silu"))):
            if c[axis] not in values:
                raise ValueError(f"block axis {axis} = {c[axis]!r} has no PyTorch form here (want one of {values})")
        self.c = c
        self.recompute = False  # FuriousLM(recompute=True): the core is recomputed in the backward pass
        self._decay = [decay]  # shared with every layer; a list, so not a submodule here
        Dm, H = cfg["d_model"], cfg["heads"]
        self.H, self.d = H, Dm // H
        hd = H * self.d
        self.qkv = Weights((Dm, 3 * hd), dtype=dtype)
        if c["conv"] > 0:
            self.conv = Weights((3 * hd, c["conv"]), bias=3 * hd if c["conv_bias"] else None, dtype=dtype)
        if c["mask"] in ("softplus", "forget"):
            self.a = Weights((Dm, H), dtype=dtype)
        if c["dt_values"] or c["mask"] == "original":
            self.dt = Weights((Dm, H), bias=H if c["dt_bias"] else None, dtype=dtype)
        if c["mask"] == "original":
            self.A_log = tnn.Parameter(torch.zeros(H, dtype=dtype))
        if c["d_res"]:
            self.D = tnn.Parameter(torch.zeros(H, self.d, dtype=dtype))
        if c["z_gate"]:
            self.z = Weights((Dm, hd), bias=hd if c["z_bias"] else None, dtype=dtype)
        if c["norm"] == "output":
            self.out_norm = Weights((hd,), dtype=dtype)
        self.o = Weights((hd, Dm), dtype=dtype)

    def forward(self, h):
        """h (B, L, DModel) -> (B, L, DModel)."""
        c, H, d = self.c, self.H, self.d
        B, L, _ = h.shape
        qkv = h @ self.qkv.weight  # (B, L, 3 H d)
        if c["conv"] > 0:
            qkv = causal_conv1d(qkv, self.conv.weight, self.conv.bias)
            if c["conv_silu"]:
                qkv = F.silu(qkv)
        q, k, v = qkv.reshape(B, L, 3, H, d).permute(2, 0, 3, 1, 4)  # each (B, H, L, d)
        dt = xdt = a = None
        if hasattr(self, "dt"):
            xdt = (h @ self.dt.weight).transpose(1, 2)  # (B, H, L)
            x = xdt + self.dt.bias[:, None] if self.dt.bias is not None else xdt
            dt = F.softplus(x)
        m = c["mask"]
        if m == "softplus":
            a = -softplus_exact((h @ self.a.weight).transpose(1, 2))
        elif m == "forget":
            a = -softplus_exact(-(h @ self.a.weight).transpose(1, 2))  # log sigma(x)
        elif m == "original":
            x = xdt + self.dt.bias[:, None] if self.dt.bias is not None else xdt
            a = -torch.exp(self.A_log)[:, None] * softplus_exact(x)
        elif m == "custom":
            a = self._decay[0](h)
            if tuple(a.shape) != (B, H, L):
                raise ValueError(f"the custom log-decay returned {tuple(a.shape)}, want (B, H, L) = {(B, H, L)}")
        dres = v * self.D[:, None, :] if c["d_res"] else None  # V * D, before V * dt
        if c["dt_values"]:
            v = v * dt[..., None]
        if c["qk_act"] == "silu":
            q, k = F.silu(q), F.silu(k)
        elif c["qk_act"] == "relu":
            q, k = F.relu(q), F.relu(k)
        if c["rope"]:
            q, k = rope(q, c["rope_theta"]), rope(k, c["rope_theta"])
        if self.recompute and torch.is_grad_enabled():
            # keep no (L, L) intermediates for the backward pass: recompute them there
            y = torch.utils.checkpoint.checkpoint(attention, q, k, v, a, c, use_reentrant=False)
        else:
            y = attention(q, k, v, a, c)
        if dres is not None:
            y = y + dres
        y = y.transpose(1, 2).reshape(B, L, H * d)  # merge heads
        if c["z_gate"]:
            y = y * F.silu(self.z(h))
        if c["norm"] == "output":
            y = rms_norm(y, self.out_norm.weight, c["eps"])
        return y @ self.o.weight


class Decoder(tnn.Module):
    """One layer: x += attn(norm1(x)); x += mlp(norm2(x))."""

    def __init__(self, cfg, decay, dtype):
        super().__init__()
        Dm, hid = cfg["d_model"], cfg["hidden"]
        self.eps = cfg["norm_eps"]
        self.norm1 = Weights((Dm,), dtype=dtype)
        self.attn = Block(cfg, decay, dtype)
        self.norm2 = Weights((Dm,), dtype=dtype)
        self.mlp = tnn.Module()
        self.mlp.gate = Weights((Dm, hid), dtype=dtype)
        self.mlp.up = Weights((Dm, hid), dtype=dtype)
        self.mlp.down = Weights((hid, Dm), dtype=dtype)

    def forward(self, x):
        x = x + self.attn(rms_norm(x, self.norm1.weight, self.eps))
        h = rms_norm(x, self.norm2.weight, self.eps)
        return x + self.mlp.down(F.silu(self.mlp.gate(h)) * self.mlp.up(h))


{{DECAY}}


class Decay(tnn.Module):
    """The block's custom log-decay (ssd.MaskCustom), shared by every layer:
    kind "fixed" (nn.FixedDecay) is the constant a (H, L) or (B, H, L) kept in
    model.safetensors as "decay.a"; kind "torch" (nn.TorchDecay) is
    custom_log_decay above with its parameters, named as in furious."""

    def __init__(self, cfg, dtype):
        super().__init__()
        self.spec = cfg["decay"]
        self.names = [p["name"] for p in self.spec.get("params", [])]
        for i, p in enumerate(self.spec.get("params", [])):
            setattr(self, f"p{i}", tnn.Parameter(torch.zeros(*p["shape"], dtype=dtype)))
        if self.spec["kind"] == "fixed":
            self.register_buffer("a", torch.zeros(*self.spec["shape"], dtype=dtype))

    def furious_name(self, name):
        """"decay.p<i>" -> the furious name of that parameter."""
        return self.names[int(name[len("decay.p"):])]

    def load(self, ts, path):
        if self.spec["kind"] == "fixed" and "decay.a" in ts:
            if tuple(ts["decay.a"].shape) != tuple(self.a.shape):
                raise ValueError(f"{path}: 'decay.a' has shape {tuple(ts['decay.a'].shape)}, the decay {tuple(self.a.shape)}")
            self.a.copy_(torch.from_numpy(ts["decay.a"]).to(self.a.dtype))

    def forward(self, h):
        """h (B, L, DModel) -> a (B, H, L)."""
        B, L = h.shape[0], h.shape[1]
        if self.spec["kind"] == "fixed":
            a = self.a if self.a.dim() == 3 else self.a[None].expand(B, *self.a.shape)
            if a.shape[0] != B or a.shape[-1] != L:
                raise ValueError(f"the fixed log-decay has shape {tuple(self.a.shape)}; the block input (B, L) = {(B, L)}")
            return a
        return custom_log_decay(h, [getattr(self, f"p{i}") for i in range(len(self.names))])


def lm_loss(logits, targets, ignore=-100):
    """nn.CrossEntropy: the mean of -log softmax(logits)[target] over the
    targets != ignore, 0 when there are none. logits (B, L, V), targets (B, L)."""
    t = targets.reshape(-1)
    if not bool((t != ignore).any()):
        return logits.sum() * 0
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t, ignore_index=ignore)


class FuriousLM(tnn.Module):
    """nn.LM: embedding, Layers x Decoder, final RMSNorm, LM head."""

    def __init__(self, cfg=CONFIG, recompute=False):
        """recompute: the attention core keeps no (L, L) intermediates for the
        backward pass and recomputes them there (activation checkpointing):
        less memory at long L for about one more core forward per step."""
        super().__init__()
        dtype = {"float32": torch.float32, "float64": torch.float64}[cfg["dtype"]]
        self.cfg = cfg
        V, Dm = cfg["vocab"], cfg["d_model"]
        self.decay = Decay(cfg, dtype) if cfg["block"]["mask"] == "custom" else None
        self.embed = Weights((V, Dm), dtype=dtype)
        self.layers = tnn.ModuleList([Decoder(cfg, self.decay, dtype) for _ in range(cfg["layers"])])
        for layer in self.layers:
            layer.attn.recompute = recompute
        self.norm = Weights((Dm,), dtype=dtype)
        self.head = Weights((Dm, V), dtype=dtype)

    def forward(self, ids):
        """ids (B, L) int64 -> logits (B, L, vocab)."""
        x = F.embedding(ids, self.embed.weight)
        for layer in self.layers:
            x = layer(x)
        return rms_norm(x, self.norm.weight, self.cfg["norm_eps"]) @ self.head.weight

    def loss(self, ids, targets, ignore=-100):
        """Mean next-token cross-entropy over targets != ignore (nn.LM.Loss)."""
        return lm_loss(self(ids), targets, ignore)

    def named_tensors(self):
        """{furious name: parameter}: what a checkpoint holds."""
        out = {}
        for name, p in self.named_parameters():
            if name.startswith("decay."):
                name = self.decay.furious_name(name)
            out[name] = p
        return out

    def load(self, path):
        """Copies every parameter from a safetensors file (model.safetensors or a
        checkpoint); names and shapes must match exactly. Returns the metadata."""
        ts, meta = load_safetensors(path)
        mine = self.named_tensors()
        extra = sorted(set(ts) - set(mine) - {"decay.a"})
        if extra:
            raise ValueError(f"{path}: tensor {extra[0]!r} names no parameter of the model")
        with torch.no_grad():
            for name, p in mine.items():
                if name not in ts:
                    raise ValueError(f"{path}: no tensor {name!r}")
                a = ts[name]
                if tuple(a.shape) != tuple(p.shape):
                    raise ValueError(f"{path}: {name!r} has shape {tuple(a.shape)}, the parameter {tuple(p.shape)}")
                p.copy_(torch.from_numpy(a).to(p.dtype))
            if self.decay is not None:
                self.decay.load(ts, path)
        return meta
