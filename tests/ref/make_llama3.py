#!/usr/bin/python3
"""A tiny random Llama 3 (RoPE base 500000, rope_scaling type "llama3") as a Hugging Face
directory, with PyTorch reference logits.

The block is make_gpt2_bert.py's Llama (rotate-half RoPE, GQA, SwiGLU); what is new is the
frequency scaling of the public Llama 3.1 definition: with wavelength 2 pi / f of each
inverse frequency f, long wavelengths (> original context / low_freq_factor) are divided by
`factor`, short ones (< original context / high_freq_factor) kept, and the ones between
blended. The shape puts one pair in each regime. Run: /usr/bin/python3 tests/ref/make_llama3.py
Writes tests/ref/llama3/ (config.json, model.safetensors, GPT-2's vocab.json/merges.txt) and
tests/ref/llama3_ref.safetensors (llama3.tokens as F32, llama3.logits).
"""
import json
import math
import os

import torch
import torch.nn as nn

from make_gpt2_bert import HERE, LlamaBlock, rms_norm, save_safetensors

torch.manual_seed(3)


def llama3_inv_freq(hd, theta, factor, low, high, old_context):
    inv_freq = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    wavelength = 2 * math.pi / inv_freq
    scaled = torch.where(wavelength > old_context / low, inv_freq / factor, inv_freq)
    smooth = (old_context / wavelength - low) / (high - low)
    blended = (1 - smooth) * scaled / factor + smooth * scaled
    medium = (wavelength >= old_context / high) & (wavelength <= old_context / low)
    return torch.where(medium, blended, scaled).float()


def main():
    out = os.path.join(HERE, "llama3")
    os.makedirs(out, exist_ok=True)
    for f in ["vocab.json", "merges.txt"]:
        with open(os.path.join(HERE, "gpt2", f)) as src, open(os.path.join(out, f), "w") as dst:
            dst.write(src.read())
    vocab = len(json.load(open(os.path.join(out, "vocab.json"))))
    d, heads, kv_heads, ff, layers, positions, eps, theta = 32, 4, 2, 64, 2, 64, 1e-5, 500000.0
    scaling = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 512}
    embed = nn.Embedding(vocab, d)
    blocks = nn.ModuleList([LlamaBlock(d, heads, kv_heads, ff) for _ in range(layers)])
    norm, head = nn.Parameter(torch.ones(d)), nn.Linear(d, vocab, bias=False)
    with torch.no_grad():
        for m in [embed, blocks, head]:
            for name, p in m.named_parameters():
                p.copy_(1 + 0.1 * torch.randn_like(p) if "norm" in name else 0.3 * torch.randn_like(p))
        norm.copy_(1 + 0.1 * torch.randn(d))
    hd = d // heads
    inv_freq = llama3_inv_freq(hd, theta, scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"],
                               scaling["original_max_position_embeddings"])
    ids = [(13 * i + 7) % vocab for i in range(40)]
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
        for name, lin in [("self_attn.q_proj", b.q), ("self_attn.k_proj", b.k), ("self_attn.v_proj", b.v),
                          ("self_attn.o_proj", b.o), ("mlp.gate_proj", b.gate), ("mlp.up_proj", b.up),
                          ("mlp.down_proj", b.down)]:
            t[p + name + ".weight"] = lin.weight
        t[p + "input_layernorm.weight"], t[p + "post_attention_layernorm.weight"] = b.attn_norm, b.ffn_norm
    save_safetensors(os.path.join(out, "model.safetensors"), t)
    config = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": vocab, "hidden_size": d,
              "intermediate_size": ff, "num_hidden_layers": layers, "num_attention_heads": heads,
              "num_key_value_heads": kv_heads, "max_position_embeddings": positions, "rms_norm_eps": eps,
              "rope_theta": theta, "rope_scaling": scaling, "hidden_act": "silu", "tie_word_embeddings": False}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    save_safetensors(os.path.join(HERE, "llama3_ref.safetensors"),
                     {"llama3.tokens": torch.tensor(ids, dtype=torch.float32), "llama3.logits": logits,
                      "llama3.inv_freq": inv_freq})
    print(f"llama3: inv_freq {inv_freq.tolist()}, |logits| max {logits.abs().max():.3f}")


if __name__ == "__main__":
    main()
