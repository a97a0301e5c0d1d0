#!/usr/bin/python3
"""Tiny random GPT-2 and BERT models as Hugging Face directories, with reference outputs.

The models are built from torch.nn blocks (nn.MultiheadAttention, nn.TransformerEncoderLayer,
nn.LayerNorm, nn.GELU) -- not from the engine -- so the engine is checked against an
independent implementation. Run with Debian's torch: /usr/bin/python3 tests/ref/make_gpt2_bert.py
Writes (all small, committed so tests never need Python):
  tests/ref/gpt2/      config.json, model.safetensors (HF GPT-2 names, Conv1D layout), vocab.json, merges.txt
  tests/ref/bert/      config.json, model.safetensors (BERT + pooler + classifier + QA head), vocab.txt
  tests/ref/bert-qa/   a BERT whose span head points at the words "eiffel" (start) and "tower" (end)
  tests/ref/llama/     a Llama in Hugging Face layout (rotate-half RoPE, GQA), GPT-2's vocabulary
  tests/ref/gpt2_bert_ref.safetensors   reference inputs and outputs (token ids stored as F32)
"""
import json
import math
import os
import re
import struct

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(1234)


def save_safetensors(path, tensors, dtype=torch.float32):
    """The safetensors format, written by hand: u64 header size, JSON header, raw data."""
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        t = t if t.dtype == torch.int64 else t.to(dtype)
        data = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # data starts 8-byte aligned, as the safetensors library does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def randomize(module, std):
    """Weights N(0, std), biases N(0, std/2), LayerNorm weights around 1."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() == 1 and ("norm" in name or name.startswith("ln")):
                p.copy_(1 + 0.1 * torch.randn_like(p) if name.endswith("weight") else 0.05 * torch.randn_like(p))
            elif p.dim() == 1:
                p.copy_(std / 2 * torch.randn_like(p))
            else:
                p.copy_(std * torch.randn_like(p))


# ---------------------------------------------------------------------------------------
# GPT-2: byte-level BPE vocabulary trained on a few sentences, and the model.

CORPUS = ("once upon a time there was a little girl named lily. she liked to play outside "
          "in the sun with her friends. one day she saw a big red ball in the park and she "
          "ran to get it. the ball was very shiny and lily was happy. ") * 3


def bytes_to_unicode():
    """GPT-2's printable stand-ins for the 256 byte values."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


BYTE_CHARS = bytes_to_unicode()


def pretokenize(text):
    """GPT-2's pre-tokenizer regex, restricted to ASCII letters/digits (all our texts)."""
    return re.findall(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+", text)


def train_merges(text, n_merges):
    words = [[BYTE_CHARS[b] for b in w.encode()] for w in pretokenize(text)]
    merges = []
    for _ in range(n_merges):
        counts = {}
        for w in words:
            for pair in zip(w, w[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = max(counts, key=lambda p: (counts[p], p))
        merges.append(best)
        for w in words:
            i = 0
            while i < len(w) - 1:
                if (w[i], w[i + 1]) == best:
                    w[i:i + 2] = [w[i] + w[i + 1]]
                i += 1
    return merges


def bpe_encode(text, vocab, ranks):
    ids = []
    for word in pretokenize(text):
        parts = [BYTE_CHARS[b] for b in word.encode()]
        while len(parts) > 1:
            pairs = [(ranks.get((a, b), math.inf), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            rank, i = min(pairs)
            if rank == math.inf:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        ids += [vocab[p] for p in parts]
    return ids


class Gpt2Block(nn.Module):
    def __init__(self, d, heads, ff, eps):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d, eps=eps)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(d, eps=eps)
        self.fc = nn.Linear(d, ff)
        self.proj = nn.Linear(ff, d)
        self.act = nn.GELU(approximate="tanh")

    def forward(self, x, causal):
        a = self.ln_1(x)
        x = x + self.attn(a, a, a, attn_mask=causal, need_weights=False)[0]
        return x + self.proj(self.act(self.fc(self.ln_2(x))))


class Gpt2(nn.Module):
    def __init__(self, vocab, d, heads, ff, layers, positions, eps):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(positions, d)
        self.blocks = nn.ModuleList([Gpt2Block(d, heads, ff, eps) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d, eps=eps)

    def forward(self, ids):
        n = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(n))
        causal = torch.triu(torch.ones(n, n, dtype=torch.bool), 1)  # True: may not attend
        for b in self.blocks:
            x = b(x, causal)
        return self.ln_f(x) @ self.wte.weight.T  # tied head

    def hf_tensors(self, positions):
        t = {"wte.weight": self.wte.weight, "wpe.weight": self.wpe.weight,
             "ln_f.weight": self.ln_f.weight, "ln_f.bias": self.ln_f.bias}
        for i, b in enumerate(self.blocks):
            p = f"h.{i}."
            t[p + "ln_1.weight"], t[p + "ln_1.bias"] = b.ln_1.weight, b.ln_1.bias
            # HF's Conv1D stores weights as [in, out]: the transpose of nn.Linear's.
            t[p + "attn.c_attn.weight"], t[p + "attn.c_attn.bias"] = b.attn.in_proj_weight.T, b.attn.in_proj_bias
            t[p + "attn.c_proj.weight"], t[p + "attn.c_proj.bias"] = b.attn.out_proj.weight.T, b.attn.out_proj.bias
            t[p + "ln_2.weight"], t[p + "ln_2.bias"] = b.ln_2.weight, b.ln_2.bias
            t[p + "mlp.c_fc.weight"], t[p + "mlp.c_fc.bias"] = b.fc.weight.T, b.fc.bias
            t[p + "mlp.c_proj.weight"], t[p + "mlp.c_proj.bias"] = b.proj.weight.T, b.proj.bias
            # The causal-mask buffer old GPT-2 checkpoints carry; loaders must skip it.
            t[p + "attn.bias"] = torch.tril(torch.ones(positions, positions)).view(1, 1, positions, positions)
        return {"transformer." + k: v for k, v in t.items()}


def make_gpt2(ref):
    out = os.path.join(HERE, "gpt2")
    os.makedirs(out, exist_ok=True)
    merges = train_merges(CORPUS, 60)
    tokens = [BYTE_CHARS[b] for b in range(256)] + [a + b for a, b in merges] + ["<|endoftext|>"]
    vocab = {t: i for i, t in enumerate(tokens)}
    ranks = {m: i for i, m in enumerate(merges)}
    d, heads, ff, layers, positions, eps = 32, 4, 128, 2, 64, 1e-5
    model = Gpt2(len(tokens), d, heads, ff, layers, positions, eps)
    randomize(model, 0.08)
    model.train()  # no dropout anywhere; keeps MultiheadAttention on its plain math path
    config = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": len(tokens),
              "n_embd": d, "n_head": heads, "n_layer": layers, "n_positions": positions, "n_ctx": positions,
              "n_inner": ff, "layer_norm_epsilon": eps, "activation_function": "gelu_new",
              "bos_token_id": vocab["<|endoftext|>"], "eos_token_id": vocab["<|endoftext|>"]}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    with open(os.path.join(out, "vocab.json"), "w") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(out, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    save_safetensors(os.path.join(out, "model.safetensors"), model.hf_tensors(positions))

    prompt = "once upon a time there was a little girl named lily. she saw a big red ball"
    ids = bpe_encode(prompt, vocab, ranks)
    with torch.no_grad():
        logits = model(torch.tensor([ids]))[0]
    ref["gpt2.prompt_tokens"] = torch.tensor(ids, dtype=torch.float32)
    ref["gpt2.logits"] = logits
    print(f"gpt2: vocab {len(tokens)}, prompt {len(ids)} tokens, |logits| max {logits.abs().max():.3f}")


# ---------------------------------------------------------------------------------------
# BERT: WordPiece vocabulary of whole words, encoder from nn.TransformerEncoderLayer.

WORDS = ("the a of and to in is was on at it he she they cat dog sat mat ran park ball red big little "
         "girl boy lily tom happy sad good bad movie film great terrible loved hated what where who "
         "capital france paris city tower eiffel built year river seine museum louvre famous visit "
         "when did how many people live there one two three four five is are by with for from this "
         "that").split()
SPECIAL = ["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def make_bert_vocab(out):
    vocab = SPECIAL + list(dict.fromkeys(WORDS)) + ["##s", "##ed", "##ing", ".", ",", "?"]
    with open(os.path.join(out, "vocab.txt"), "w") as f:
        f.write("".join(t + "\n" for t in vocab))
    return {t: i for i, t in enumerate(vocab)}


def words_to_ids(vocab, text):
    """WordPiece for texts whose words are all whole vocabulary entries."""
    return [vocab[w] for w in re.findall(r"[a-z]+|[.,?]", text.lower())]


class Bert(nn.Module):
    def __init__(self, vocab, d, heads, ff, layers, positions, types, labels, eps):
        super().__init__()
        self.word = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(positions, d)
        self.token_type = nn.Embedding(types, d)
        self.norm = nn.LayerNorm(d, eps=eps)
        self.layers = nn.ModuleList([nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, activation="gelu",
                                                                batch_first=True, layer_norm_eps=eps)
                                     for _ in range(layers)])
        self.pooler = nn.Linear(d, d)
        self.classifier = nn.Linear(d, labels)
        self.qa = nn.Linear(d, 2)

    def forward(self, ids, types, mask):
        """Hidden states [batch, n, d]; mask is True at real tokens, False at padding."""
        x = self.norm(self.word(ids) + self.pos(torch.arange(ids.shape[1])) + self.token_type(types))
        for layer in self.layers:  # post-LayerNorm: x = norm1(x + attn(x)); x = norm2(x + ffn(x))
            x = layer(x, src_key_padding_mask=~mask)
        return x

    def heads(self, hidden):
        start, end = self.qa(hidden).unbind(-1)
        pooled = torch.tanh(self.pooler(hidden[:, 0]))
        return start, end, torch.softmax(self.classifier(pooled), -1)

    def hf_tensors(self):
        t = {"embeddings.word_embeddings.weight": self.word.weight,
             "embeddings.position_embeddings.weight": self.pos.weight,
             "embeddings.token_type_embeddings.weight": self.token_type.weight,
             "embeddings.LayerNorm.weight": self.norm.weight, "embeddings.LayerNorm.bias": self.norm.bias,
             "pooler.dense.weight": self.pooler.weight, "pooler.dense.bias": self.pooler.bias,
             # An int64 buffer real checkpoints carry; loaders must skip it.
             "embeddings.position_ids": torch.arange(self.pos.weight.shape[0]).view(1, -1)}
        d = self.word.weight.shape[1]
        for i, layer in enumerate(self.layers):
            p = f"encoder.layer.{i}."
            w, b = layer.self_attn.in_proj_weight, layer.self_attn.in_proj_bias
            for j, name in enumerate(["query", "key", "value"]):
                t[p + f"attention.self.{name}.weight"] = w[j * d:(j + 1) * d]
                t[p + f"attention.self.{name}.bias"] = b[j * d:(j + 1) * d]
            t[p + "attention.output.dense.weight"] = layer.self_attn.out_proj.weight
            t[p + "attention.output.dense.bias"] = layer.self_attn.out_proj.bias
            t[p + "attention.output.LayerNorm.weight"], t[p + "attention.output.LayerNorm.bias"] = \
                layer.norm1.weight, layer.norm1.bias
            t[p + "intermediate.dense.weight"], t[p + "intermediate.dense.bias"] = layer.linear1.weight, layer.linear1.bias
            t[p + "output.dense.weight"], t[p + "output.dense.bias"] = layer.linear2.weight, layer.linear2.bias
            t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"] = layer.norm2.weight, layer.norm2.bias
        t = {"bert." + k: v for k, v in t.items()}
        t["classifier.weight"], t["classifier.bias"] = self.classifier.weight, self.classifier.bias
        t["qa_outputs.weight"], t["qa_outputs.bias"] = self.qa.weight, self.qa.bias
        return t


def bert_config(vocab, d, heads, ff, layers, positions, types, eps, labels):
    return {"model_type": "bert", "architectures": ["BertForSequenceClassification"], "vocab_size": vocab,
            "hidden_size": d, "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": ff,
            "max_position_embeddings": positions, "type_vocab_size": types, "layer_norm_eps": eps,
            "hidden_act": "gelu", "pad_token_id": 0,
            "id2label": {str(i): l for i, l in enumerate(labels)}}


def make_bert(ref):
    out = os.path.join(HERE, "bert")
    os.makedirs(out, exist_ok=True)
    vocab = make_bert_vocab(out)
    labels = ["negative", "neutral", "positive"]
    d, heads, ff, layers, positions, types, eps = 32, 4, 64, 2, 48, 2, 1e-12
    model = Bert(len(vocab), d, heads, ff, layers, positions, types, len(labels), eps)
    randomize(model, 0.1)
    model.train()  # dropout is 0; train mode keeps TransformerEncoderLayer off its fused fast path
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(bert_config(len(vocab), d, heads, ff, layers, positions, types, eps, labels), f, indent=1)
    save_safetensors(os.path.join(out, "model.safetensors"), model.hf_tensors())

    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    # A sentence pair: [CLS] A [SEP] B [SEP] with token types 0 then 1.
    a, b = words_to_ids(vocab, "where is the eiffel tower ?"), words_to_ids(vocab, "the tower is in paris , france .")
    ids = [cls] + a + [sep] + b + [sep]
    types = [0] * (len(a) + 2) + [1] * (len(b) + 1)
    # The same pair padded to a longer batch row must give the same hidden states.
    pad = 5
    batch_ids = torch.tensor([ids + [0] * pad])
    with torch.no_grad():
        hidden = model(torch.tensor([ids]), torch.tensor([types]), torch.ones(1, len(ids), dtype=torch.bool))
        padded = model(batch_ids, torch.tensor([types + [0] * pad]),
                       torch.tensor([[True] * len(ids) + [False] * pad]))
        assert (padded[0, :len(ids)] - hidden[0]).abs().max() < 1e-5
        start, end, probs = model.heads(hidden)
    ref["bert.pair_tokens"] = torch.tensor(ids, dtype=torch.float32)
    ref["bert.pair_types"] = torch.tensor(types, dtype=torch.float32)
    ref["bert.hidden"] = hidden[0]
    ref["bert.qa_start"], ref["bert.qa_end"] = start[0], end[0]
    ref["bert.pair_probs"] = probs[0]

    # Single texts as `lm classify` / `lm embed` see them: [CLS] text [SEP].
    texts = ["the movie was great", "the cat sat on the mat .", "she hated this film"]
    for i, text in enumerate(texts):
        ids = [cls] + words_to_ids(vocab, text) + [sep]
        with torch.no_grad():
            h = model(torch.tensor([ids]), torch.zeros(1, len(ids), dtype=torch.long),
                      torch.ones(1, len(ids), dtype=torch.bool))
            probs = model.heads(h)[2][0]
        mean = h[0].mean(0)
        ref[f"bert.text{i}.tokens"] = torch.tensor(ids, dtype=torch.float32)
        ref[f"bert.text{i}.probs"] = probs
        ref[f"bert.text{i}.embed_mean"] = mean / mean.norm()
        ref[f"bert.text{i}.embed_cls"] = h[0, 0] / h[0, 0].norm()
    with open(os.path.join(HERE, "bert_texts.txt"), "w") as f:
        f.write("".join(t + "\n" for t in texts))
    print(f"bert: vocab {len(vocab)}, pair {len(ref['bert.pair_tokens'])} tokens, probs {ref['bert.pair_probs']}")


def make_bert_qa():
    """A BERT whose span head is hand-made: attention and feed-forward weights are zero, so
    each hidden state is the normalized word embedding; "eiffel" alone has a large feature 0
    (start logit) and "tower" alone a large feature 1 (end logit)."""
    out = os.path.join(HERE, "bert-qa")
    os.makedirs(out, exist_ok=True)
    vocab = make_bert_vocab(out)
    d, heads, ff, layers, positions, types, eps = 16, 2, 32, 1, 24, 2, 1e-12
    model = Bert(len(vocab), d, heads, ff, layers, positions, types, 2, eps)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.word.weight.copy_(0.1 * torch.randn(len(vocab), d))
        model.word.weight[:, 0:2] = -2.0
        model.word.weight[vocab["eiffel"], 0] = 6.0
        model.word.weight[vocab["tower"], 1] = 6.0
        for m in [model.norm] + [l.norm1 for l in model.layers] + [l.norm2 for l in model.layers]:
            m.weight.fill_(1.0)
        model.qa.weight[0, 0] = 1.0  # start logit = feature 0
        model.qa.weight[1, 1] = 1.0  # end logit = feature 1
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(bert_config(len(vocab), d, heads, ff, layers, positions, types, eps, ["no", "yes"]), f, indent=1)
    save_safetensors(os.path.join(out, "model.safetensors"), model.hf_tensors())


# ---------------------------------------------------------------------------------------
# Llama as Hugging Face stores it: rotate-half RoPE (the loader must permute q/k rows for
# lm's adjacent-pair RoPE), grouped-query attention, SwiGLU, separate lm_head. Its vocabulary
# is the GPT-2 one above (byte-level BPE, as Llama 3 uses).

def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    a, b = x.chunk(2, -1)
    return torch.cat([-b, a], -1)


class LlamaBlock(nn.Module):
    def __init__(self, d, heads, kv_heads, ff):
        super().__init__()
        hd = d // heads
        self.heads, self.kv_heads, self.hd = heads, kv_heads, hd
        self.q, self.k = nn.Linear(d, d, bias=False), nn.Linear(d, kv_heads * hd, bias=False)
        self.v, self.o = nn.Linear(d, kv_heads * hd, bias=False), nn.Linear(d, d, bias=False)
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


def make_llama(ref):
    out = os.path.join(HERE, "llama")
    os.makedirs(out, exist_ok=True)
    for f in ["vocab.json", "merges.txt"]:
        with open(os.path.join(HERE, "gpt2", f)) as src, open(os.path.join(out, f), "w") as dst:
            dst.write(src.read())
    vocab = len(json.load(open(os.path.join(out, "vocab.json"))))
    d, heads, kv_heads, ff, layers, positions, eps, theta = 32, 4, 2, 64, 2, 64, 1e-5, 10000.0
    embed = nn.Embedding(vocab, d)
    blocks = nn.ModuleList([LlamaBlock(d, heads, kv_heads, ff) for _ in range(layers)])
    norm, head = nn.Parameter(torch.ones(d)), nn.Linear(d, vocab, bias=False)
    with torch.no_grad():
        for m in [embed, blocks, head]:
            for name, p in m.named_parameters():
                p.copy_(1 + 0.1 * torch.randn_like(p) if "norm" in name else 0.1 * torch.randn_like(p))
        norm.copy_(1 + 0.1 * torch.randn(d))
    hd = d // heads
    inv_freq = 1.0 / theta ** (torch.arange(0, hd, 2).float() / hd)
    ids = [(7 * i + 3) % vocab for i in range(20)]
    angles = torch.outer(torch.arange(len(ids)).float(), inv_freq)
    cos, sin = torch.cat([angles.cos()] * 2, -1), torch.cat([angles.sin()] * 2, -1)
    with torch.no_grad():
        x = embed(torch.tensor(ids))
        for b in blocks:
            x = b(x, cos, sin, eps)
        logits = head(rms_norm(x, norm, eps))
    ref["llama.tokens"] = torch.tensor(ids, dtype=torch.float32)
    ref["llama.logits"] = logits
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
              "rope_theta": theta, "hidden_act": "silu", "tie_word_embeddings": False}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    print(f"llama: |logits| max {logits.abs().max():.3f}")


def main():
    ref = {}
    make_gpt2(ref)
    make_bert(ref)
    make_bert_qa()
    make_llama(ref)
    save_safetensors(os.path.join(HERE, "gpt2_bert_ref.safetensors"), ref)
    total = sum(os.path.getsize(os.path.join(r, f)) for sub in ["gpt2", "bert", "bert-qa", "llama"]
                for r, _, fs in os.walk(os.path.join(HERE, sub)) for f in fs)
    print(f"model directories: {total} bytes")


if __name__ == "__main__":
    main()
