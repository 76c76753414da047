"""Runs exported furious models in PyTorch for nn's export tests.

    python3 export_check.py DIR...

Each DIR holds an export (model.py, model.safetensors) and batch.safetensors
(ids, targets: (B, L) as floats). For each, the model's logits on ids, the
loss (mean cross-entropy, ignore -100) and, after one backward, the gradient
of every parameter are written to DIR/torch.safetensors as "logits", "loss"
and "grad/<furious name>", and again under "recompute/" with the attention
core recomputed in the backward pass (FuriousLM(recompute=True))."""
import importlib.util
import sys

import torch


def run(d, i):
    spec = importlib.util.spec_from_file_location(f"exported_{i}", f"{d}/model.py")
    fm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fm)
    b, _ = fm.load_safetensors(f"{d}/batch.safetensors")
    ids = torch.from_numpy(b["ids"]).long()
    tg = torch.from_numpy(b["targets"]).long()
    out = {}
    for prefix, recompute in (("", False), ("recompute/", True)):
        model = fm.FuriousLM(fm.CONFIG, recompute=recompute)
        model.load(fm.WEIGHTS)
        logits = model(ids)
        loss = fm.lm_loss(logits, tg)
        loss.backward()
        out[prefix + "logits"], out[prefix + "loss"] = logits.detach(), loss.detach().reshape(1)
        for name, p in model.named_tensors().items():
            out[prefix + "grad/" + name] = p.grad if p.grad is not None else torch.zeros_like(p)
    fm.save_safetensors(f"{d}/torch.safetensors", out)


if __name__ == "__main__":
    torch.set_num_threads(1)
    for i, d in enumerate(sys.argv[1:]):
        run(d, i)
