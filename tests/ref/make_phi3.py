#!/usr/bin/python3
"""A tiny random Phi-3 as a Hugging Face directory, with PyTorch reference logits.

Written from the public Phi-3 model definition (transformers' modeling_phi3): one qkv_proj
whose output rows are q, then k, then v; one gate_up_proj whose output splits into gate and
up halves (silu(gate) * up); rotate-half RoPE; RMSNorm; no biases; separate lm_head.
Run: /usr/bin/python3 tests/ref/make_phi3.py
Writes tests/ref/phi3/ (config.json, model.safetensors, GPT-2's vocab.json/merges.txt) and
tests/ref/phi3_ref.safetensors (phi3.tokens as F32, phi3.logits).
"""
import json
import math
import os

import torch
import torch.nn as nn

from make_gpt2_bert import HERE, rms_norm, rotate_half, save_safetensors

torch.manual_seed(33)


class Phi3Block(nn.Module):
    def __init__(self, d, heads, kv_heads, ff):
        super().__init__()
        hd = d // heads
        self.heads, self.kv_heads, self.hd, self.ff = heads, kv_heads, hd, ff
        self.qkv = nn.Linear(d, d + 2 * kv_heads * hd, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.gate_up, self.down = nn.Linear(d, 2 * ff, bias=False), nn.Linear(ff, d, bias=False)
        self.attn_norm, self.ffn_norm = nn.Parameter(torch.ones(d)), nn.Parameter(torch.ones(d))

    def forward(self, x, cos, sin, eps):
        n, d, kv = x.shape[0], x.shape[1], self.kv_heads * self.hd
        qkv = self.qkv(rms_norm(x, self.attn_norm, eps))
        q = qkv[:, :d].view(n, self.heads, self.hd).transpose(0, 1)
        k = qkv[:, d:d + kv].view(n, self.kv_heads, self.hd).transpose(0, 1)
        v = qkv[:, d + kv:].view(n, self.kv_heads, self.hd).transpose(0, 1)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        group = self.heads // self.kv_heads
        k, v = k.repeat_interleave(group, 0), v.repeat_interleave(group, 0)
        scores = q @ k.transpose(1, 2) / math.sqrt(self.hd)
        scores = scores.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), -math.inf)
        att = (torch.softmax(scores, -1) @ v).transpose(0, 1).reshape(n, -1)
        x = x + self.o(att)
        gate, up = self.gate_up(rms_norm(x, self.ffn_norm, eps)).chunk(2, -1)
        return x + self.down(nn.functional.silu(gate) * up)


def main():
    out = os.path.join(HERE, "phi3")
    os.makedirs(out, exist_ok=True)
    for f in ["vocab.json", "merges.txt"]:
        with open(os.path.join(HERE, "gpt2", f)) as src, open(os.path.join(out, f), "w") as dst:
            dst.write(src.read())
    vocab = len(json.load(open(os.path.join(out, "vocab.json"))))
    d, heads, kv_heads, ff, layers, positions, eps, theta = 32, 4, 2, 64, 2, 64, 1e-5, 10000.0
    embed = nn.Embedding(vocab, d)
    blocks = nn.ModuleList([Phi3Block(d, heads, kv_heads, ff) for _ in range(layers)])
    norm, head = nn.Parameter(torch.ones(d)), nn.Linear(d, vocab, bias=False)
    with torch.no_grad():
        for m in [embed, blocks, head]:
            for name, p in m.named_parameters():
                p.copy_(1 + 0.1 * torch.randn_like(p) if "norm" in name else 0.1 * torch.randn_like(p))
        norm.copy_(1 + 0.1 * torch.randn(d))
    hd = d // heads
    inv_freq = 1.0 / theta ** (torch.arange(0, hd, 2).float() / hd)
    ids = [(17 * i + 2) % vocab for i in range(20)]
    angles = torch.outer(torch.arange(len(ids)).float(), inv_freq)
    cos, sin = torch.cat([angles.cos()] * 2, -1), torch.cat([angles.sin()] * 2, -1)
    with torch.no_grad():
        x = embed(torch.tensor(ids))
        for b in blocks:
            x = b(x, cos, sin, eps)
        logits = head(rms_norm(x, norm, eps))
    t = {"model.embed_tokens.weight": embed.weight, "model.norm.weight": norm, "lm_head.weight": head.weight}
    for i, b in enumerate(blocks):
        p = f"model.layers.{i}."
        t[p + "self_attn.qkv_proj.weight"], t[p + "self_attn.o_proj.weight"] = b.qkv.weight, b.o.weight
        t[p + "mlp.gate_up_proj.weight"], t[p + "mlp.down_proj.weight"] = b.gate_up.weight, b.down.weight
        t[p + "input_layernorm.weight"], t[p + "post_attention_layernorm.weight"] = b.attn_norm, b.ffn_norm
    save_safetensors(os.path.join(out, "model.safetensors"), t)
    config = {"model_type": "phi3", "architectures": ["Phi3ForCausalLM"], "vocab_size": vocab, "hidden_size": d,
              "intermediate_size": ff, "num_hidden_layers": layers, "num_attention_heads": heads,
              "num_key_value_heads": kv_heads, "max_position_embeddings": positions, "rms_norm_eps": eps,
              "rope_theta": theta, "rope_scaling": None, "sliding_window": 48, "hidden_act": "silu", "tie_word_embeddings": False}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    save_safetensors(os.path.join(HERE, "phi3_ref.safetensors"),
                     {"phi3.tokens": torch.tensor(ids, dtype=torch.float32), "phi3.logits": logits})
    print(f"phi3: |logits| max {logits.abs().max():.3f}")


if __name__ == "__main__":
    main()
