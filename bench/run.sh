#!/usr/bin/env bash
# make bench: the standard decode/prompt table with the machine's roofline, written to
# bench/RESULTS.md. Models are random-weight GGUFs of real shapes made by `lm init`
# (cached in build/bench/), so nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
LM=./lm
dir=build/bench
mkdir -p "$dir"
models=()
add() {  # shape type
    local f="$dir/$1-$2.gguf"
    [ -f "$f" ] || $LM init --shape "$1" --type "$2" "$f"
    models+=("$f")
}
for t in f16 q8_0 q4_0 q4_K_M; do add tinyllama-1.1b $t; done
for t in f32 q8_0 q4_0 q4_K_M; do add stories110M $t; done
for t in f32 q8_0; do add stories15M $t; done
if [ -f ../shared/models/stories260K/stories260K-F32.gguf ]; then
    models+=(../shared/models/stories260K/stories260K-F32.gguf)
else
    add stories260K f32
fi

out=bench/RESULTS.md
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|avx512f|avx512_vnni|avx512_bf16|amx_bf16|amx_int8)$' | tr '\n' ' ')
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
l3=$(lscpu 2>/dev/null | awk -F: '/L3 cache/ {gsub(/^ +/, "", $2); print $2}')
{
    echo "# lm bench"
    echo
    echo "Machine: $cpu, $(nproc) cores, $mem, L3 ${l3:-unknown}, ISA: $flags"
    echo "lm: $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u +%Y-%m-%d)"
    echo "Command: \`make bench\` (\`lm bench --roofline -p 128 -n 128 -t 1,2 -r 3\` over random-weight models from \`lm init\`)"
    echo
    $LM bench --roofline -p 128 -n 128 -t 1,2 -r 3 "${models[@]}"
    # On an AVX-512 machine, decode again with the AVX2 kernels: what CPUs without AVX-512 run.
    if grep -qw avx512f /proc/cpuinfo 2>/dev/null && grep -qw avx2 /proc/cpuinfo; then
        echo
        echo "Decode with the AVX2 matmul kernels on the same machine (\`lm bench --isa avx2\`):"
        echo
        $LM bench --roofline --isa avx2 -p 0 -n 128 -t 1,2 -r 3 "${models[@]:0:4}"
    fi
    # On an AMX machine, the prompts the amx level runs on the tile unit (f16 and f32 weights,
    # packed q8_0 and q4_0) again with the AVX-512 kernels: the comparison behind the AMX rows
    # of the table above.
    if grep -qw amx_bf16 /proc/cpuinfo 2>/dev/null; then
        echo
        echo "The same prompts with the AVX-512 kernels instead of AMX (\`lm bench --isa avx512\`):"
        echo
        $LM bench --roofline --isa avx512 -p 128 -n 0 -t 1,2 -r 3 "${models[0]}" "${models[4]}" "${models[5]}" "${models[6]}"
    fi
} | tee "$out"
