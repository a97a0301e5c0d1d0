#!/usr/bin/python3
"""A tiny random Qwen2 as a Hugging Face directory, with PyTorch reference logits.

Written from the public Qwen2 model definition (transformers' modeling_qwen2): the Llama
block with biases on the q, k and v projections (none on o), rotate-half RoPE with
rope_theta, RMSNorm, SwiGLU, and here the classifier tied to the embedding as in the small
Qwen2/2.5 models. Run with Debian's torch: /usr/bin/python3 tests/ref/make_qwen2.py
Writes (small, committed):
  tests/ref/qwen2/              config.json, model.safetensors (HF names), GPT-2's vocab.json/merges.txt
  tests/ref/qwen2_ref.safetensors   qwen2.tokens (ids as F32) and qwen2.logits [tokens][vocab]
"""
import json
import math
import os

import torch
import torch.nn as nn

from make_gpt2_bert import HERE, rms_norm, rotate_half, save_safetensors

torch.manual_seed(18)


class Qwen2Block(nn.Module):
    def __init__(self, d, heads, kv_heads, ff):
        super().__init__()
        hd = d // heads
        self.heads, self.kv_heads, self.hd = heads, kv_heads, hd
        self.q, self.k = nn.Linear(d, d, bias=True), nn.Linear(d, kv_heads * hd, bias=True)
        self.v, self.o = nn.Linear(d, kv_heads * hd, bias=True), nn.Linear(d, d, bias=False)
        self.gate, self.up, self.down = nn.Linear(d, ff, bias=False), nn.Linear(d, ff, bias=False), nn.Linear(ff, d, bias=False)
        self.attn_norm, self.ffn_norm = nn.Parameter(torch.ones(d)), nn.Parameter(torch.ones(d))

    def forward(self, x, cos, sin, eps):
        n = x.shape[0]
        h = rms_norm(x, self.attn_norm, eps)
        q = self.q(h).view(n, self.heads, self.hd).transpose(0, 1)
        k = self.k(h).view(n, self.kv_heads, self.hd).transpose(0, 1)
        v = self.v(h).view(n, self.kv_heads, self.hd).transpose(0, 1)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        group = self.heads // self.kv_heads
        k, v = k.repeat_interleave(group, 0), v.repeat_interleave(group, 0)
        scores = q @ k.transpose(1, 2) / math.sqrt(self.hd)
        scores = scores.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), -math.inf)
        att = (torch.softmax(scores, -1) @ v).transpose(0, 1).reshape(n, -1)
        x = x + self.o(att)
        h = rms_norm(x, self.ffn_norm, eps)
        return x + self.down(nn.functional.silu(self.gate(h)) * self.up(h))


def main():
    out = os.path.join(HERE, "qwen2")
    os.makedirs(out, exist_ok=True)
    for f in ["vocab.json", "merges.txt"]:
        with open(os.path.join(HERE, "gpt2", f)) as src, open(os.path.join(out, f), "w") as dst:
            dst.write(src.read())
    vocab = len(json.load(open(os.path.join(out, "vocab.json"))))
    d, heads, kv_heads, ff, layers, positions, eps, theta = 32, 4, 2, 64, 2, 64, 1e-6, 1000000.0
    embed = nn.Embedding(vocab, d)
    blocks = nn.ModuleList([Qwen2Block(d, heads, kv_heads, ff) for _ in range(layers)])
    norm = nn.Parameter(torch.ones(d))
    with torch.no_grad():
        for m in [embed, blocks]:
            for name, p in m.named_parameters():
                if "norm" in name:
                    p.copy_(1 + 0.1 * torch.randn_like(p))
                elif name.endswith("bias"):
                    p.copy_(0.5 * torch.randn_like(p))  # large enough that a missing bias shows
                else:
                    p.copy_(0.1 * torch.randn_like(p))
        norm.copy_(1 + 0.1 * torch.randn(d))
    hd = d // heads
    inv_freq = 1.0 / theta ** (torch.arange(0, hd, 2).float() / hd)
    ids = [(11 * i + 5) % vocab for i in range(20)]
    angles = torch.outer(torch.arange(len(ids)).float(), inv_freq)
    cos, sin = torch.cat([angles.cos()] * 2, -1), torch.cat([angles.sin()] * 2, -1)
    with torch.no_grad():
        x = embed(torch.tensor(ids))
        for b in blocks:
            x = b(x, cos, sin, eps)
        logits = rms_norm(x, norm, eps) @ embed.weight.T  # tied classifier
    t = {"model.embed_tokens.weight": embed.weight, "model.norm.weight": norm}
    for i, b in enumerate(blocks):
        p = f"model.layers.{i}."
        for name, lin in [("self_attn.q_proj", b.q), ("self_attn.k_proj", b.k), ("self_attn.v_proj", b.v),
                          ("self_attn.o_proj", b.o), ("mlp.gate_proj", b.gate), ("mlp.up_proj", b.up),
                          ("mlp.down_proj", b.down)]:
            t[p + name + ".weight"] = lin.weight
            if lin.bias is not None:
                t[p + name + ".bias"] = lin.bias
        t[p + "input_layernorm.weight"], t[p + "post_attention_layernorm.weight"] = b.attn_norm, b.ffn_norm
    save_safetensors(os.path.join(out, "model.safetensors"), t)
    config = {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "vocab_size": vocab, "hidden_size": d,
              "intermediate_size": ff, "num_hidden_layers": layers, "num_attention_heads": heads,
              "num_key_value_heads": kv_heads, "max_position_embeddings": positions, "rms_norm_eps": eps,
              "rope_theta": theta, "hidden_act": "silu", "tie_word_embeddings": True, "use_sliding_window": False}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    save_safetensors(os.path.join(HERE, "qwen2_ref.safetensors"),
                     {"qwen2.tokens": torch.tensor(ids, dtype=torch.float32), "qwen2.logits": logits})
    print(f"qwen2: |logits| max {logits.abs().max():.3f}")


if __name__ == "__main__":
    main()
