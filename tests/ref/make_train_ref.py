#!/usr/bin/python3
"""Whole-model training reference for tests/test_train.cpp (run with Debian's python3-torch:
/usr/bin/python3 tests/ref/make_train_ref.py from the project root).

Builds a tiny Llama (RMSNorm, adjacent-pair RoPE, grouped-query attention, SwiGLU, untied
head), a one-layer Llama with multi-query attention and a tied head, a tiny GPT-2 (learned
positions, LayerNorm, GELU tanh, fused qkv with bias, tied head) and a tanh RNN (embedding ->
RNN -> linear head with bias, the Keras example) in float64 with fixed float32-representable
weights and one fixed batch, then records the loss, every parameter gradient and the parameters after 3 AdamW steps (decoupled weight decay on
matrices and embeddings only, none on norms and biases).

Parameters use lm's packed layouts (src/train/model.h), one tensor per name with a leading
layer dimension: qkvw [L, (NH+2NKV)*HS, C] = rows of wq|wk|wv, fcw [L, FC, C] = rows of w1|w3
for Llama (FC = 2H) or c_fc for GPT-2 (FC = H), fcprojw [L, C, H], attprojw [L, C, C].

File format (little-endian), tests/ref/train_<name>.bin:
  char[8]   magic "LMTRAIN1"
  int32[12] arch (0 llama, 1 gpt2, 2 rnn), vocab, dim, layers, heads, kv_heads, hidden, max_seq_len,
            tied_head, B, T, steps
  float32[7] norm_eps, rope_base, lr, beta1, beta2, adam_eps, weight_decay
  int32[B*T] inputs;  int32[B*T] targets (-100 = ignored)
  float32[steps] loss of the forward before each optimizer step
  int32     n_tensors, then per tensor in lm's order:
            int32 name_len, name bytes, int32 size,
            float32[size] initial values, float32[size] gradient at step 0,
            float32[size] values after `steps` AdamW steps
"""
import math
import os
import struct

import torch
import torch.nn.functional as F

IGNORE = -100


def param_shapes(cfg):
    V, C, L, H, NH, NKV = cfg["vocab"], cfg["dim"], cfg["layers"], cfg["hidden"], cfg["heads"], cfg["kv_heads"]
    if cfg["arch"] == 2:  # RNN
        return [("wte", (V, C), True), ("rnnwx", (H, C), True), ("rnnwh", (H, H), True), ("rnnb", (H,), False),
                ("head", (V, H), True), ("headb", (V,), False)]
    C3 = C // NH * (NH + 2 * NKV)
    gpt2 = cfg["arch"] == 1
    FC = H if gpt2 else 2 * H
    shapes = [("wte", (V, C), True)]
    if gpt2:
        shapes.append(("wpe", (cfg["max_seq_len"], C), True))
    shapes += [("ln1w", (L, C), False)] + ([("ln1b", (L, C), False)] if gpt2 else [])
    shapes += [("qkvw", (L, C3, C), True)] + ([("qkvb", (L, C3), False)] if gpt2 else [])
    shapes += [("attprojw", (L, C, C), True)] + ([("attprojb", (L, C), False)] if gpt2 else [])
    shapes += [("ln2w", (L, C), False)] + ([("ln2b", (L, C), False)] if gpt2 else [])
    shapes += [("fcw", (L, FC, C), True)] + ([("fcb", (L, FC), False)] if gpt2 else [])
    shapes += [("fcprojw", (L, C, H), True)] + ([("fcprojb", (L, C), False)] if gpt2 else [])
    shapes += [("lnfw", (C,), False)] + ([("lnfb", (C,), False)] if gpt2 else [])
    if not cfg["tied"]:
        shapes.append(("head", (V, C), True))
    return shapes


def init_params(cfg, gen):
    params = {}
    for name, shape, _ in param_shapes(cfg):
        if name.startswith("ln"):  # norm weights near 1, biases near 0
            base = 1.0 if name.endswith("w") else 0.0
            value = base + 0.1 * torch.randn(shape, generator=gen)
        elif name.endswith("b"):
            value = 0.1 * torch.randn(shape, generator=gen)
        else:
            fan_in = shape[-1]
            value = torch.randn(shape, generator=gen) / math.sqrt(fan_in)
            if name in ("wte", "wpe"):
                value = 0.5 * torch.randn(shape, generator=gen)
        params[name] = value.float().double().requires_grad_(True)
    return params


def rmsnorm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope(x, base):  # x [B, T, heads, HS]; rotate adjacent pairs (x[2i], x[2i+1])
    T, HS = x.shape[1], x.shape[3]
    i = torch.arange(HS // 2, dtype=torch.float64)
    theta = torch.arange(T, dtype=torch.float64)[:, None] * base ** (-2.0 * i / HS)  # [T, HS/2]
    cos, sin = theta.cos()[None, :, None, :], theta.sin()[None, :, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1).flatten(-2)


def rnn_forward(cfg, P, inputs, targets):
    B, T = inputs.shape
    x = P["wte"][inputs]
    h = torch.zeros(B, cfg["hidden"])
    states = []
    for t in range(T):  # h_t = tanh(x_t Wx^T + h_{t-1} Wh^T + b)
        h = torch.tanh(F.linear(x[:, t], P["rnnwx"], P["rnnb"]) + F.linear(h, P["rnnwh"]))
        states.append(h)
    logits = F.linear(torch.stack(states, dim=1), P["head"], P["headb"])
    return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1), ignore_index=IGNORE)


def forward(cfg, P, inputs, targets):
    if cfg["arch"] == 2:
        return rnn_forward(cfg, P, inputs, targets)
    B, T = inputs.shape
    C, NH, NKV, H = cfg["dim"], cfg["heads"], cfg["kv_heads"], cfg["hidden"]
    HS, eps, gpt2 = C // NH, cfg["norm_eps"], cfg["arch"] == 1

    def norm(x, w, b):
        return F.layer_norm(x, (C,), w, b, eps) if gpt2 else rmsnorm(x, w, eps)

    def bias(name, l):
        return P[name][l] if gpt2 else None

    x = P["wte"][inputs]
    if gpt2:
        x = x + P["wpe"][:T]
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for l in range(cfg["layers"]):
        h = norm(x, P["ln1w"][l], bias("ln1b", l))
        qkv = F.linear(h, P["qkvw"][l], bias("qkvb", l))
        q, k, v = qkv.split([NH * HS, NKV * HS, NKV * HS], dim=-1)
        q, k, v = q.view(B, T, NH, HS), k.view(B, T, NKV, HS), v.view(B, T, NKV, HS)
        if not gpt2:
            q, k = rope(q, cfg["rope_base"]), rope(k, cfg["rope_base"])
        k = k.repeat_interleave(NH // NKV, dim=2)  # query head h reads kv head h // (NH / NKV)
        v = v.repeat_interleave(NH // NKV, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(HS)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + F.linear(y, P["attprojw"][l], bias("attprojb", l))
        h = norm(x, P["ln2w"][l], bias("ln2b", l))
        f = F.linear(h, P["fcw"][l], bias("fcb", l))
        if gpt2:
            a = F.gelu(f, approximate="tanh")
        else:
            gate, up = f.split([H, H], dim=-1)
            a = F.silu(gate) * up
        x = x + F.linear(a, P["fcprojw"][l], bias("fcprojb", l))
    x = norm(x, P["lnfw"], P.get("lnfb"))
    logits = F.linear(x, P["wte"] if cfg["tied"] else P["head"])
    return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1), ignore_index=IGNORE)


def make(name, cfg, seed):
    gen = torch.Generator().manual_seed(seed)
    P = init_params(cfg, gen)
    shapes = param_shapes(cfg)
    init = {n: P[n].detach().clone() for n, _, _ in shapes}
    B, T, V = cfg["B"], cfg["T"], cfg["vocab"]
    inputs = torch.randint(0, V, (B, T), generator=gen)
    targets = torch.randint(0, V, (B, T), generator=gen)
    targets[0, 3] = IGNORE
    targets[B - 1, T - 1] = IGNORE
    decay = [P[n] for n, _, d in shapes if d]
    no_decay = [P[n] for n, _, d in shapes if not d]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["adam_eps"])
    losses, grads = [], None
    for step in range(cfg["steps"]):
        opt.zero_grad()
        loss = forward(cfg, P, inputs, targets)
        loss.backward()
        losses.append(loss.item())
        if step == 0:
            grads = {n: P[n].grad.detach().clone() for n, _, _ in shapes}
        opt.step()

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"train_{name}.bin")
    with open(path, "wb") as f:
        f.write(b"LMTRAIN1")
        keys = ["arch", "vocab", "dim", "layers", "heads", "kv_heads", "hidden", "max_seq_len", "tied", "B", "T", "steps"]
        f.write(struct.pack("<12i", *[int(cfg[k]) for k in keys]))
        fkeys = ["norm_eps", "rope_base", "lr", "beta1", "beta2", "adam_eps", "weight_decay"]
        f.write(struct.pack("<7f", *[cfg[k] for k in fkeys]))
        f.write(struct.pack(f"<{B * T}i", *inputs.flatten().tolist()))
        f.write(struct.pack(f"<{B * T}i", *targets.flatten().tolist()))
        f.write(struct.pack(f"<{len(losses)}f", *losses))
        f.write(struct.pack("<i", len(shapes)))
        for n, _, _ in shapes:
            f.write(struct.pack("<i", len(n)) + n.encode())
            f.write(struct.pack("<i", init[n].numel()))
            for t in (init[n], grads[n], P[n].detach()):
                f.write(t.flatten().float().numpy().tobytes())
    print(f"{path}: losses {[round(x, 6) for x in losses]}")


COMMON = dict(vocab=53, dim=24, layers=2, heads=4, B=2, T=9, steps=3, norm_eps=1e-5, rope_base=10000.0,
              lr=1e-2, beta1=0.9, beta2=0.95, adam_eps=1e-8, weight_decay=0.1)

if __name__ == "__main__":
    torch.set_default_dtype(torch.float64)
    make("llama", dict(COMMON, arch=0, kv_heads=2, hidden=40, max_seq_len=9, tied=0), seed=1)
    make("gpt2", dict(COMMON, arch=1, kv_heads=4, hidden=64, max_seq_len=12, tied=1), seed=2)
    # multi-query attention (one kv head), tied head, another RoPE base, one layer
    make("llama_mqa", dict(COMMON, arch=0, kv_heads=1, hidden=36, max_seq_len=9, tied=1, layers=1,
                           rope_base=500000.0), seed=3)
    # embedding (dim 24) -> tanh RNN (state 20) -> head with bias; no attention heads
    make("rnn", dict(COMMON, arch=2, layers=1, heads=0, kv_heads=0, hidden=20, max_seq_len=9, tied=0), seed=4)
