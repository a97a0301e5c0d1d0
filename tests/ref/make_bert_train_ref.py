#!/usr/bin/python3
"""BERT training reference for tests/test_train.cpp (run with Debian's python3-torch:
/usr/bin/python3 tests/ref/make_bert_train_ref.py from the project root).

A tiny BERT written here from the paper's definition (Devlin et al. 2019): word + learned
position + token-type embeddings, LayerNorm, post-LN blocks (bidirectional attention whose
keys exclude each sequence's padding, GELU (erf) MLP), biases everywhere; then one of three
heads: masked-LM (dense + GELU + LayerNorm + decoder tied to the word embeddings with its own
bias, at the masked positions only), sequence classification (pooler dense + tanh on [CLS],
linear) or extractive QA (linear to start/end logits; each sequence's start and end
distributions are softmaxes over its real tokens; loss = mean of the two cross-entropies).
Float64, fixed float32-representable weights, one fixed batch of sequences of different
lengths padded to T with random ids (which must not matter), 3 AdamW steps (decay on matrices
and embeddings only).

Parameters use lm's names and packed layouts (src/train/model.h): qkvw [L, 3C, C] = rows of
wq|wk|wv, fcw [L, H, C], fcprojw [L, C, H], attprojw [L, C, C]; ln1 is the norm after
attention, ln2 the one after the MLP, lne the embedding norm.

File format (little-endian), tests/ref/train_bert_<head>.bin:
  char[8]   magic "LMBERT01"
  int32[13] head (0 mlm, 1 classify, 2 qa), vocab, dim, layers, heads, hidden, max_seq_len,
            n_types, n_labels, B, T, steps, n_masked
  float32[6] norm_eps, lr, beta1, beta2, adam_eps, weight_decay
  int32[B*T] tokens; int32[B*T] types; int32[B] lengths
  int32[n_masked] masked positions (b*T + t); int32[n_masked] their targets
  int32[B] labels; int32[B] starts; int32[B] ends   (zeros where the head has none)
  float32[steps] loss of the forward before each optimizer step
  int32     n_tensors, then per tensor in lm's order: int32 name_len, name bytes, int32 size,
            float32[size] initial values, gradient at step 0, values after `steps` steps
"""
import math
import os
import struct

import torch
import torch.nn.functional as F

HEADS = ["mlm", "classify", "qa"]


def param_shapes(cfg):
    V, C, L, H, T, NT, K = (cfg[k] for k in ("vocab", "dim", "layers", "hidden", "max_seq_len", "n_types", "n_labels"))
    shapes = [("wte", (V, C), True), ("wpe", (T, C), True), ("wtt", (NT, C), True),
              ("lnew", (C,), False), ("lneb", (C,), False),
              ("qkvw", (L, 3 * C, C), True), ("qkvb", (L, 3 * C), False),
              ("attprojw", (L, C, C), True), ("attprojb", (L, C), False),
              ("ln1w", (L, C), False), ("ln1b", (L, C), False),
              ("fcw", (L, H, C), True), ("fcb", (L, H), False),
              ("fcprojw", (L, C, H), True), ("fcprojb", (L, C), False),
              ("ln2w", (L, C), False), ("ln2b", (L, C), False)]
    head = HEADS[cfg["head"]]
    if head == "mlm":
        shapes += [("mlmw", (C, C), True), ("mlmb", (C,), False), ("mlmlnw", (C,), False), ("mlmlnb", (C,), False),
                   ("headb", (V,), False)]
    elif head == "classify":
        shapes += [("poolw", (C, C), True), ("poolb", (C,), False), ("clsw", (K, C), True), ("clsb", (K,), False)]
    else:
        shapes += [("qaw", (2, C), True), ("qab", (2,), False)]
    return shapes


def init_params(cfg, gen):
    params = {}
    for name, shape, _ in param_shapes(cfg):
        if "ln" in name:  # norm weights near 1, biases near 0
            value = (1.0 if name.endswith("w") else 0.0) + 0.1 * torch.randn(shape, generator=gen)
        elif name.endswith("b"):
            value = 0.1 * torch.randn(shape, generator=gen)
        elif name in ("wte", "wpe", "wtt"):
            value = 0.5 * torch.randn(shape, generator=gen)
        else:
            value = torch.randn(shape, generator=gen) / math.sqrt(shape[-1])
        params[name] = value.float().double().requires_grad_(True)
    return params


def forward(cfg, P, batch):
    tokens, types, lengths = batch["tokens"], batch["types"], batch["lengths"]
    B, T = tokens.shape
    C, NH, eps = cfg["dim"], cfg["heads"], cfg["norm_eps"]
    HS = C // NH

    def norm(x, w, b):
        return F.layer_norm(x, (C,), w, b, eps)

    real = torch.arange(T)[None, :] < lengths[:, None]  # [B, T]
    x = norm(P["wte"][tokens] + P["wpe"][:T] + P["wtt"][types], P["lnew"], P["lneb"])
    for l in range(cfg["layers"]):
        q, k, v = F.linear(x, P["qkvw"][l], P["qkvb"][l]).split(C, dim=-1)
        q, k, v = (z.view(B, T, NH, HS).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(HS)
        att = att.masked_fill(~real[:, None, None, :], float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = norm(x + F.linear(y, P["attprojw"][l], P["attprojb"][l]), P["ln1w"][l], P["ln1b"][l])
        f = F.gelu(F.linear(x, P["fcw"][l], P["fcb"][l]))  # erf form
        x = norm(x + F.linear(f, P["fcprojw"][l], P["fcprojb"][l]), P["ln2w"][l], P["ln2b"][l])

    head = HEADS[cfg["head"]]
    if head == "mlm":
        h = x.reshape(B * T, C)[batch["positions"]]
        h = F.layer_norm(F.gelu(F.linear(h, P["mlmw"], P["mlmb"])), (C,), P["mlmlnw"], P["mlmlnb"], eps)
        return F.cross_entropy(h @ P["wte"].t() + P["headb"], batch["mlm_targets"])
    if head == "classify":
        pooled = torch.tanh(F.linear(x[:, 0], P["poolw"], P["poolb"]))
        return F.cross_entropy(F.linear(pooled, P["clsw"], P["clsb"]), batch["labels"])
    logits = F.linear(x, P["qaw"], P["qab"])  # [B, T, 2]
    start = logits[..., 0].masked_fill(~real, float("-inf"))
    end = logits[..., 1].masked_fill(~real, float("-inf"))
    return (F.cross_entropy(start, batch["starts"]) + F.cross_entropy(end, batch["ends"])) / 2


def make(cfg, seed):
    gen = torch.Generator().manual_seed(seed)
    P = init_params(cfg, gen)
    shapes = param_shapes(cfg)
    init = {n: P[n].detach().clone() for n, _, _ in shapes}
    B, T, V = cfg["B"], cfg["T"], cfg["vocab"]
    lengths = torch.tensor(cfg["lengths"])
    batch = {"tokens": torch.randint(0, V, (B, T), generator=gen),
             "types": torch.randint(0, cfg["n_types"], (B, T), generator=gen), "lengths": lengths}
    # masked positions: n_masked distinct real tokens
    real = [b * T + t for b in range(B) for t in range(int(lengths[b]))]
    pick = torch.randperm(len(real), generator=gen)[:cfg["n_masked"]]
    batch["positions"] = torch.tensor([real[i] for i in pick.tolist()])
    batch["mlm_targets"] = torch.randint(0, V, (cfg["n_masked"],), generator=gen)
    batch["labels"] = torch.randint(0, max(1, cfg["n_labels"]), (B,), generator=gen)
    batch["starts"] = torch.tensor([int(torch.randint(0, int(n), (1,), generator=gen)) for n in lengths])
    batch["ends"] = torch.tensor([int(torch.randint(int(s), int(n), (1,), generator=gen))
                                  for s, n in zip(batch["starts"], lengths)])
    decay = [P[n] for n, _, d in shapes if d]
    no_decay = [P[n] for n, _, d in shapes if not d]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["adam_eps"])
    losses, grads = [], None
    for step in range(cfg["steps"]):
        opt.zero_grad()
        loss = forward(cfg, P, batch)
        loss.backward()
        losses.append(loss.item())
        if step == 0:
            grads = {n: P[n].grad.detach().clone() for n, _, _ in shapes}
        opt.step()

    head = HEADS[cfg["head"]]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"train_bert_{head}.bin")
    ints = lambda t: struct.pack(f"<{t.numel()}i", *t.flatten().tolist())
    with open(path, "wb") as f:
        f.write(b"LMBERT01")
        keys = ["head", "vocab", "dim", "layers", "heads", "hidden", "max_seq_len", "n_types", "n_labels", "B", "T",
                "steps", "n_masked"]
        f.write(struct.pack("<13i", *[int(cfg[k]) for k in keys]))
        f.write(struct.pack("<6f", *[cfg[k] for k in ["norm_eps", "lr", "beta1", "beta2", "adam_eps", "weight_decay"]]))
        for key in ["tokens", "types", "lengths", "positions", "mlm_targets", "labels", "starts", "ends"]:
            f.write(ints(batch[key]))
        f.write(struct.pack(f"<{len(losses)}f", *losses))
        f.write(struct.pack("<i", len(shapes)))
        for n, _, _ in shapes:
            f.write(struct.pack("<i", len(n)) + n.encode())
            f.write(struct.pack("<i", init[n].numel()))
            for t in (init[n], grads[n], P[n].detach()):
                f.write(t.flatten().float().numpy().tobytes())
    print(f"{path}: losses {[round(x, 6) for x in losses]}")


COMMON = dict(vocab=37, dim=24, layers=2, heads=4, hidden=48, max_seq_len=12, n_types=2, n_labels=0, B=3, T=10,
              lengths=[10, 7, 4], steps=3, n_masked=5, norm_eps=1e-12, lr=1e-2, beta1=0.9, beta2=0.999,
              adam_eps=1e-6, weight_decay=0.01)

if __name__ == "__main__":
    torch.set_default_dtype(torch.float64)
    make(dict(COMMON, head=0), seed=11)
    make(dict(COMMON, head=1, n_labels=3), seed=12)
    make(dict(COMMON, head=2), seed=13)
