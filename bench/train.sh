#!/usr/bin/env bash
# make bench-train: lm train against the PyTorch peer (../shared/bench/torch_gpt_train.py) on
# Tiny Shakespeare with nanoGPT's CPU configuration (GPT-2 architecture, 4 layers, 4 heads,
# dim 128, ctx 64, batch 12, char-level, AdamW lr 1e-3 -> 1e-4 cosine, warmup 100, beta2
# 0.99, weight decay 0.1, clip 1.0), one after the other on the same threads; then one
# training step of the GPT-2 124M shape. Prints ms/iter, the ratio and both validation
# losses, and writes bench/TRAIN.md. ITERS (2000) and THREADS (2) override.
set -euo pipefail
cd "$(dirname "$0")/.."
ITERS=${ITERS:-2000}
THREADS=${THREADS:-2}
LM=./lm
corpus=../shared/corpora/tinyshakespeare.txt
peer=../shared/bench/torch_gpt_train.py
dir=build/bench-train
mkdir -p "$dir"
load=$(cut -d' ' -f1-3 /proc/loadavg)
rev=$(git describe --always --dirty 2>/dev/null || echo unknown)  # before TRAIN.md is rewritten
for f in "$corpus" "$peer"; do
    [ -f "$f" ] || { echo "bench-train: missing $f" >&2; exit 1; }
done

echo "== PyTorch: $peer, $ITERS iters, $THREADS threads"
THREADS=$THREADS /usr/bin/python3 "$peer" "$corpus" "$ITERS" | tee "$dir/torch.log"
torch_ms=$(awk '/train ms\/iter/ {print $3}' "$dir/torch.log")
torch_val=$(awk '/^iter / {v = $6} END {print v}' "$dir/torch.log")
torch_version=$(/usr/bin/python3 -c 'import torch; print(torch.__version__)')

# The whole validation split (145 batches of 12 x 64) at the end, evaluations every 500 steps
# as the peer does; the peer averages 20 random validation batches.
echo "== lm train: same configuration"
$LM train "$corpus" -o "$dir/nanogpt.gguf" --arch gpt2 --tokenizer char --layers 4 --heads 4 --dim 128 \
    --ctx 64 --batch 12 --lr 1e-3 --min-lr 1e-4 --warmup 100 --beta1 0.9 --beta2 0.99 --weight-decay 0.1 \
    --clip 1.0 --iters "$ITERS" --eval-every 500 --eval-batches 1000 --save-every 0 --seed 1337 \
    -t "$THREADS" -q | tee "$dir/lm.log"
# ms/iter from the last log row: tokens/s counts training steps only (not evaluation), as the peer's.
lm_ms=$(tail -n 1 "$dir/nanogpt.csv" | awk -F, '{printf "%.2f", 12 * 64 * 1000 / $5}')
lm_val=$(awk '/^val loss/ {print $3}' "$dir/lm.log")
ratio=$(awk -v a="$torch_ms" -v b="$lm_ms" 'BEGIN {printf "%.2f", a / b}')

# GPT-2 124M: vocab 50257 (GPT-2's own tokenizer), 12 layers, 12 heads, dim 768, batch 4,
# ctx 64. Step 1 touches the optimizer state for the first time; steps 2..4 are timed.
echo "== lm train: GPT-2 124M shape, 4 steps"
gpt2_vocab=../shared/models/gpt2-vocab
$LM train "$corpus" -o "$dir/gpt2-124M.gguf" --arch gpt2 --tokenizer "$gpt2_vocab" --layers 12 --heads 12 \
    --dim 768 --ctx 64 --batch 4 --iters 4 --eval-every 0 --eval-batches 1 --save-every 0 -t "$THREADS" -q \
    | tee "$dir/gpt2-124M.log"
big_ms=$(awk -F, 'NR > 2 {ms = 1000 * ($6 - prev); if (!best || ms < best) best = ms} NR > 1 {prev = $6}
    END {printf "%.0f", best}' "$dir/gpt2-124M.csv")
big_params=$(awk '/^model / {print $3}' "$dir/gpt2-124M.log")
rm -f "$dir/gpt2-124M.gguf"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|avx512f|avx512_vnni|avx512_bf16|amx_int8)$' | tr '\n' ' ')
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
out=bench/TRAIN.md
{
    echo "# lm train vs PyTorch"
    echo
    echo "Machine: $cpu, $(nproc) cores, $mem, ISA: $flags"
    echo "lm: $rev, $(date -u +%Y-%m-%d); PyTorch $torch_version; load average before the run: $load"
    echo "Command: \`make bench-train\` (ITERS=$ITERS, THREADS=$THREADS; OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset})"
    echo
    echo "nanoGPT CPU configuration on tinyshakespeare.txt (GPT-2 architecture, 4 layers, 4 heads, dim 128,"
    echo "ctx 64, batch 12, char-level, AdamW lr 1e-3 -> 1e-4, beta2 0.99, wd 0.1, warmup 100, clip 1.0):"
    echo
    echo "| trainer | ms/iter | val loss after $ITERS iters |"
    echo "|---|---:|---:|"
    echo "| PyTorch (torch_gpt_train.py) | $torch_ms | $torch_val |"
    echo "| lm train | $lm_ms | $lm_val |"
    echo
    echo "lm is **${ratio}x** the PyTorch speed. Validation: PyTorch averages 20 random batches"
    echo "(15,360 tokens); lm scores the whole validation split (111,539 tokens)."
    echo
    echo "GPT-2 124M shape (12 layers, 12 heads, dim 768, vocab 50257, batch 4, ctx 64; ${big_params}"
    echo "parameters with 64 positions): one lm training step (forward, backward, AdamW) takes **${big_ms} ms**."
} >"$out"
echo
cat "$out"
