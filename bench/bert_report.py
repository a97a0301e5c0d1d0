#!/usr/bin/python3
"""bench/BERT.md from the logs bench/bert.sh leaves in build/bench-bert/ (standard library only).
usage: bert_report.py LOG_DIR OUT.md"""
import os
import re
import subprocess
import sys

log_dir, out_path = sys.argv[1], sys.argv[2]


def read(name):
    path = os.path.join(log_dir, name)
    return open(path, encoding="utf-8").read() if os.path.exists(path) else None


def seconds(name):
    text = read(name + ".seconds")
    return int(text) if text else None


def last(pattern, text, group=1):
    found = re.findall(pattern, text or "")
    return found[-1] if found else None


def minutes(s):
    return f"{s / 60:.1f} min" if s is not None else "-"


cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
isa = " ".join(f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_int8") if f in flags)
rev = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip()
lines = ["# BERT trained by lm: pretraining, SST-2, bAbI, SQuAD", "",
         f"Machine: {cpu}, {os.cpu_count()} cores, ISA: {isa}; lm {rev}; `make bench-bert` "
         f"(2 threads, OMP_WAIT_POLICY=passive).", "",
         os.environ.get("BENCH_NOTE", "").strip(), ""]

speed = read("speed.txt")
if speed:
    rows = [l.split() for l in speed.splitlines() if l.strip()]
    lines += ["## Training speed beside PyTorch", "",
              "One step (batch, forward, backward, AdamW) of `torch_bert_train.py`'s default shape: dim 256, "
              "4 layers, 4 heads, ctx 128, batch 32, vocab 8192 (masked-LM at 15 % of the tokens, decoder at "
              "the masked positions only; classification of 128-token rows). Runs alternate, two rounds.", "",
              "| step | round | PyTorch ms | lm ms | lm speed-up |", "|---|---:|---:|---:|---:|"]
    for task, rnd, _, torch_ms, _, lm_ms in rows:
        lines.append(f"| {task} | {rnd} | {float(torch_ms):.0f} | {float(lm_ms):.0f} | "
                     f"**{float(torch_ms) / float(lm_ms):.2f}x** |")
    lines.append("")

pre = read("pretrain.log")
if pre:
    lines += ["## The recipe", "",
              "| stage | model | data | result | time |", "|---|---|---|---|---|"]
    model = last(r"model bert \(masked-LM\): ([^\n]*)", pre)
    ctxs = re.findall(r"model bert \(masked-LM\):.* ctx (\d+)", pre)
    steps = re.findall(r"x \d+ accum, (\d+) iters", pre)
    if len(ctxs) > 1:
        model = re.sub(r", ctx \d+$", "", model) + ", " + " then ".join(f"{s} steps at ctx {c}" for s, c in zip(steps, ctxs))
    vocab = last(r"vocab (\d+) \(", pre)
    val = last(r"val loss ([0-9.]+)", pre)
    lines.append(f"| masked-LM pretraining | {model} | corpora + SST-2 sentences + 40 SQuAD articles + bAbI "
                 f"stories, {vocab} WordPiece tokens | val loss {val} | {minutes(seconds('pretrain'))} |")
sst = read("sst2.log")
if sst:
    best = max((float(a) for a in re.findall(r"dev accuracy ([0-9.]+)", sst)), default=0)
    lines.append(f"| SST-2 fine-tuning (--init, --keep-best) | pretrained + pooler + classifier | train 67,349 | "
                 f"**dev accuracy {best:.4f}** | {minutes(seconds('sst2'))} |")
squad = read("squad-eval.log")
if squad:
    em, f1 = last(r"exact_match ([0-9.]+) f1 ([0-9.]+)", squad) or ("?", "?")
    lines.append(f"| SQuAD v1.1 (40 dev articles train, 8 test) | pretrained + span head | 40 articles | "
                 f"**EM {em} F1 {f1}** on the 8 held-out articles | {minutes(seconds('squad'))} |")
if pre and sst:
    total = (seconds("pretrain") or 0) + (seconds("sst2") or 0)
    lines += ["", f"Pretraining plus SST-2 fine-tuning: {minutes(total)} on 2 threads.", ""]
eval_sst = read("sst2-eval.log")
if eval_sst:
    lines += ["`lm eval bench/out/sst2.gguf dev.tsv --task classify`:", "", "```", eval_sst.strip(), "```", ""]

babi = [(t, read(f"babi-qa{t}.log")) for t in (1, 2, 3, 4, 5, 11, 12, 13, 14, 16)]
babi = [(t, log) for t, log in babi if log]
if babi:
    lines += ["## bAbI (v1.2, en-10k; qa3 en-1k), one model per task: qa1 from scratch, the others from qa1", "",
              "qa1: dim 128, 2 layers, 4 heads, weights from N(0, 0.1), WordPiece vocabulary of its training file; "
              "every other task fine-tuned from the qa1 model (--init, its vocabulary). Windows of 96 tokens (qa14: "
              "128; qa2, 3, 5: 256 with a stride of 128), batch 32, lr 1e-3, no dropout, weight decay 0.1, "
              "seed " + os.environ.get("BABI_SEED", "2") + "; valid EM/F1 of the best evaluation "
              "(--keep-best, every 250 steps and at the end). Target: EM >= 95 on qa1, 2, 5, 11, 12, 13.", "",
              "| task | steps | valid EM | valid F1 | time |", "|---|---:|---:|---:|---:|"]
    for t, log in babi:
        scores = [(float(e), float(f)) for e, f in re.findall(r"dev exact_match ([0-9.]+) f1 ([0-9.]+)", log)]
        em, f1 = max(scores) if scores else (0, 0)
        steps = last(r"(\d+) iters", log)
        lines.append(f"| qa{t} | {steps} | {em:.1f} | {f1:.1f} | {minutes(seconds(f'babi-qa{t}'))} |")
    lines.append("")

open(out_path, "w").write("\n".join(lines) + "\n")
