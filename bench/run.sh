#!/usr/bin/env bash
# make bench: the standard decode/prompt table with the machine's roofline, written to
# bench/RESULTS.md. Models are random-weight GGUFs of real shapes made by `lm init`
# (cached in build/bench/), so nothing is downloaded.
# With llama.cpp built on this machine (LLAMA_CPP=its build/bin, by default ../llama.cpp/build/bin),
# llama-bench runs on the same files in the same run, alternating with lm model by model, and
# a table gives lm / llama.cpp per row. The lower ISA levels lm also runs here (--isa avx2 on an
# AVX-512 machine, --isa avx512 on an AMX one) are compared with llama.cpp built for that level,
# given as LLAMA_CPP_AVX2 / LLAMA_CPP_AVX512 (cmake -DGGML_NATIVE=OFF -DGGML_AVX2=ON ...).
set -euo pipefail
cd "$(dirname "$0")/.."
LM=./lm
LLAMA_CPP=${LLAMA_CPP:-../llama.cpp/build/bin}
ROUNDS=${ROUNDS:-2}
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

# rates PROGRAM ROUND MODEL: a llama-bench style markdown table on stdin -> "program round model
# threads test t/s" per row (the columns found by their headers).
rates() {
    awk -F'|' -v p="$1" -v r="$2" -v m="$3" '
        !h && /\| *test *\|/ {for (i = 1; i <= NF; ++i) {c = $i; gsub(/ /, "", c); col[c] = i}; h = 1; next}
        h && /^\|/ && $col["test"] ~ /[0-9]/ {
            t = $col["threads"]; x = $col["test"]; v = $col["t/s"]; gsub(/ /, "", t); gsub(/ /, "", x)
            split(v, a, "±"); printf "%s %s %s %s %s %s\n", p, r, m, t, x, a[1] + 0}'
}
# side_by_side LLAMA_BIN [--isa LEVEL] MODEL...: ROUNDS rounds of lm then llama-bench, file by
# file, then the table: means over the rounds and each round's ratio.
side_by_side() {
    local llama=$1 isa=() log=$dir/side-by-side.txt
    shift
    if [ "$1" = --isa ]; then isa=(--isa "$2"); shift 2; fi
    : >"$log"
    for ((r = 1; r <= ROUNDS; ++r)); do
        for f in "$@"; do
            $LM bench "${isa[@]}" -p 128 -n 128 -t 1,2 -r 3 "$f" | rates lm $r "$(basename "$f")" >>"$log"
            "$llama/llama-bench" -m "$f" -p 128 -n 128 -t 1,2 -r 3 -o md 2>/dev/null |
                rates llama.cpp $r "$(basename "$f")" >>"$log"
        done
    done
    echo "| model | threads | test | lm t/s | llama.cpp t/s | lm / llama.cpp | per round |"
    echo "|---|---|---|---|---|---|---|"
    awk -v rounds="$ROUNDS" '
        {k = $3 " " $4 " " $5; if (!(k in seen)) {seen[k] = 1; keys[++n] = k}
         sum[$1, k] += $6; v[$1, $2, k] = $6}
        END {for (i = 1; i <= n; ++i) {
                k = keys[i]; split(k, f, " "); lm = sum["lm", k] / rounds; ll = sum["llama.cpp", k] / rounds
                per = ""; for (r = 1; r <= rounds; ++r)
                    per = per (r > 1 ? ", " : "") (v["llama.cpp", r, k] ? sprintf("%.2f", v["lm", r, k] / v["llama.cpp", r, k]) : "-")
                printf "| %s | %s | %s | %.2f | %.2f | **%.2fx** | %s |\n", f[1], f[2], f[3], lm, ll, ll ? lm / ll : 0, per}}' "$log"
}

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
    if [ -x "$LLAMA_CPP/llama-bench" ]; then
        echo
        echo "## Beside llama.cpp"
        echo
        echo "llama.cpp $(git -C "$LLAMA_CPP/../.." rev-parse --short HEAD 2>/dev/null || echo "at $LLAMA_CPP") built on this machine," \
            "\`llama-bench -p 128 -n 128 -t 1,2 -r 3\` on the same files; $ROUNDS rounds," \
            "lm and llama.cpp alternating file by file. lm at its default level ($($LM --version | sed -n 's/.*matmul uses \([a-z0-9-]*\).*/\1/p')):"
        echo
        side_by_side "$LLAMA_CPP" "${models[@]}"
        for level in avx512 avx2; do
            var=LLAMA_CPP_${level^^}
            if [ -n "${!var:-}" ] && [ -x "${!var}/llama-bench" ]; then
                echo
                echo "lm --isa $level beside llama.cpp built for $level (${!var}):"
                echo
                side_by_side "${!var}" --isa $level "${models[@]}"
            fi
        done
    fi
} | tee "$out"
