#!/usr/bin/python3
"""A tiny random Gemma 2 as a Hugging Face directory, with PyTorch reference logits.

Written from the public Gemma 2 model definition (transformers' modeling_gemma2): embeddings
times sqrt(hidden_size); RMSNorm scaling by (1 + w); heads of head_dim that do not split the
embedding (here 4 x 16 = 64 against hidden 32); rotate-half RoPE; scores q.k scaled by
query_pre_attn_scalar^-1/2 and soft-capped as c * tanh(s / c); a norm after attention and after
the MLP besides the ones before; MLP down(gelu_tanh(gate(x)) * up(x)); the classifier tied to
the embedding; final logits soft-capped. The caps are small so that they bite. Even layers
attend to a sliding window, wider here than the sequence.
Run: /usr/bin/python3 tests/ref/make_gemma2.py
Writes tests/ref/gemma2/ (config.json, model.safetensors, GPT-2's vocab.json/merges.txt) and
tests/ref/gemma2_ref.safetensors (gemma2.tokens as F32, gemma2.logits).
"""
import json
import math
import os

import torch
import torch.nn as nn

from make_gpt2_bert import HERE, rotate_half, save_safetensors

torch.manual_seed(22)


def gemma_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * (1 + w)


class Gemma2Block(nn.Module):
    def __init__(self, d, heads, kv_heads, hd, ff):
        super().__init__()
        self.heads, self.kv_heads, self.hd = heads, kv_heads, hd
        self.q, self.k = nn.Linear(d, heads * hd, bias=False), nn.Linear(d, kv_heads * hd, bias=False)
        self.v, self.o = nn.Linear(d, kv_heads * hd, bias=False), nn.Linear(heads * hd, d, bias=False)
        self.gate, self.up, self.down = nn.Linear(d, ff, bias=False), nn.Linear(d, ff, bias=False), nn.Linear(ff, d, bias=False)
        self.norms = nn.ParameterList([nn.Parameter(torch.zeros(d)) for _ in range(4)])  # in, post-attn, pre-ff, post-ff

    def forward(self, x, cos, sin, eps, scaling, cap):
        n = x.shape[0]
        h = gemma_norm(x, self.norms[0], eps)
        q = self.q(h).view(n, self.heads, self.hd).transpose(0, 1)
        k = self.k(h).view(n, self.kv_heads, self.hd).transpose(0, 1)
        v = self.v(h).view(n, self.kv_heads, self.hd).transpose(0, 1)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        group = self.heads // self.kv_heads
        k, v = k.repeat_interleave(group, 0), v.repeat_interleave(group, 0)
        scores = q @ k.transpose(1, 2) * scaling
        scores = torch.tanh(scores / cap) * cap
        scores = scores.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), -math.inf)
        att = (torch.softmax(scores, -1) @ v).transpose(0, 1).reshape(n, -1)
        x = x + gemma_norm(self.o(att), self.norms[1], eps)
        h = gemma_norm(x, self.norms[2], eps)
        m = self.down(nn.functional.gelu(self.gate(h), approximate="tanh") * self.up(h))
        return x + gemma_norm(m, self.norms[3], eps)


def main():
    out = os.path.join(HERE, "gemma2")
    os.makedirs(out, exist_ok=True)
    for f in ["vocab.json", "merges.txt"]:
        with open(os.path.join(HERE, "gpt2", f)) as src, open(os.path.join(out, f), "w") as dst:
            dst.write(src.read())
    vocab = len(json.load(open(os.path.join(out, "vocab.json"))))
    d, heads, kv_heads, hd, ff, layers, positions, eps, theta = 32, 4, 2, 16, 64, 2, 64, 1e-6, 10000.0
    attn_cap, final_cap, window = 2.0, 5.0, 48
    embed = nn.Embedding(vocab, d)
    blocks = nn.ModuleList([Gemma2Block(d, heads, kv_heads, hd, ff) for _ in range(layers)])
    norm = nn.Parameter(torch.zeros(d))
    with torch.no_grad():
        for m in [embed, blocks]:
            for name, p in m.named_parameters():
                p.copy_(0.2 * torch.randn_like(p) if "norms" in name else 0.3 * torch.randn_like(p))
        norm.copy_(0.2 * torch.randn(d))
    inv_freq = 1.0 / theta ** (torch.arange(0, hd, 2).float() / hd)
    ids = [(19 * i + 4) % vocab for i in range(20)]
    angles = torch.outer(torch.arange(len(ids)).float(), inv_freq)
    cos, sin = torch.cat([angles.cos()] * 2, -1), torch.cat([angles.sin()] * 2, -1)
    with torch.no_grad():
        x = embed(torch.tensor(ids)) * torch.tensor(d ** 0.5)
        for b in blocks:
            x = b(x, cos, sin, eps, hd ** -0.5, attn_cap)
        logits = gemma_norm(x, norm, eps) @ embed.weight.T
        logits = torch.tanh(logits / final_cap) * final_cap
    t = {"model.embed_tokens.weight": embed.weight, "model.norm.weight": norm}
    for i, b in enumerate(blocks):
        p = f"model.layers.{i}."
        for name, lin in [("self_attn.q_proj", b.q), ("self_attn.k_proj", b.k), ("self_attn.v_proj", b.v),
                          ("self_attn.o_proj", b.o), ("mlp.gate_proj", b.gate), ("mlp.up_proj", b.up),
                          ("mlp.down_proj", b.down)]:
            t[p + name + ".weight"] = lin.weight
        for name, w in zip(["input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                            "post_feedforward_layernorm"], b.norms):
            t[p + name + ".weight"] = w
    save_safetensors(os.path.join(out, "model.safetensors"), t)
    config = {"model_type": "gemma2", "architectures": ["Gemma2ForCausalLM"], "vocab_size": vocab, "hidden_size": d,
              "intermediate_size": ff, "num_hidden_layers": layers, "num_attention_heads": heads,
              "num_key_value_heads": kv_heads, "head_dim": hd, "max_position_embeddings": positions,
              "rms_norm_eps": eps, "rope_theta": theta, "hidden_activation": "gelu_pytorch_tanh",
              "query_pre_attn_scalar": hd, "attn_logit_softcapping": attn_cap, "final_logit_softcapping": final_cap,
              "sliding_window": window, "tie_word_embeddings": True}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    save_safetensors(os.path.join(HERE, "gemma2_ref.safetensors"),
                     {"gemma2.tokens": torch.tensor(ids, dtype=torch.float32), "gemma2.logits": logits})
    print(f"gemma2: |logits| max {logits.abs().max():.3f}, std {logits.std():.3f}")


if __name__ == "__main__":
    main()
