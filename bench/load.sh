#!/usr/bin/env bash
# make bench-load: time to the first token and peak memory of lm beside llama.cpp on the same
# TinyLlama-shape files (random weights from `lm init`, cached in build/bench/), written to
# bench/LOAD.md. Each round runs both programs cold (the file dropped from the page cache
# first) and then warm, alternating, so both meet the same machine; the table holds the
# medians of ROUNDS rounds and their ratio. A run is the whole process, as a user meets it:
# start, load, the prompt "Once upon a time" (26 tokens in these files' vocabulary), one
# token out (`lm run -n 1`, `llama-cli -n 1`), timed with GNU time, which also gives the
# peak resident memory.
# LLAMA_CPP is llama.cpp's build/bin (with llama-cli); without it only lm runs.
set -euo pipefail
cd "$(dirname "$0")/.."
LM=./lm
LLAMA_CPP=${LLAMA_CPP:-../llama.cpp/build/bin}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-5}
TYPES=${TYPES:-"q4_0 q8_0"}
dir=build/bench
mkdir -p "$dir"
[ -x /usr/bin/time ] || { echo "bench/load.sh: needs GNU time (apt-get install time)" >&2; exit 1; }
llama=$LLAMA_CPP/llama-cli
[ -x "$llama" ] || { echo "bench/load.sh: no $llama; lm alone" >&2; llama=; }
prompt="Once upon a time"

drop() { dd if="$1" iflag=nocache count=0 status=none; }
# run LOG COMMAND...: appends "seconds peak-KiB" of one run to LOG
run() {
    local log=$1
    shift
    /usr/bin/time -f "%e %M" -o "$log.one" "$@" </dev/null >/dev/null 2>"$log.err" ||
        { cat "$log.err" >&2; exit 1; }
    cat "$log.one" >>"$log"
}
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

out=bench/LOAD.md
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
{
    echo "# Time to first token and peak memory, lm beside llama.cpp"
    echo
    echo "Machine: $cpu, $(nproc) cores; lm $(git rev-parse --short HEAD 2>/dev/null || echo unknown)," \
        "llama.cpp $( [ -n "$llama" ] && (git -C "$LLAMA_CPP/../.." rev-parse --short HEAD 2>/dev/null || echo "at $LLAMA_CPP") || echo absent), $(date -u +%Y-%m-%d)"
    echo "Command: \`make bench-load\` ($ROUNDS rounds, $THREADS threads; medians; a run = start, load, a 26-token prompt, 1 token)"
    echo
    echo "| model | size (MiB) | start | lm (s) | llama.cpp (s) | llama.cpp / lm | lm peak RSS (MiB) | llama.cpp peak RSS (MiB) |"
    echo "|---|---|---|---|---|---|---|---|"
    for t in $TYPES; do
        f=$dir/tinyllama-1.1b-$t.gguf
        [ -f "$f" ] || $LM init --shape tinyllama-1.1b --type "$t" "$f" >&2
        logs=$dir/load-$t
        rm -f "$logs".*
        for ((r = 0; r < ROUNDS; ++r)); do
            for state in cold warm; do
                [ $state = cold ] && drop "$f"
                run "$logs.lm.$state" $LM run "$f" "$prompt" -n 1 --temp 0 -c 512 -t "$THREADS"
                if [ -n "$llama" ]; then
                    [ $state = cold ] && drop "$f"
                    run "$logs.llama.$state" "$llama" -m "$f" -p "$prompt" -n 1 --temp 0 -c 512 -t "$THREADS" \
                        -no-cnv --no-warmup
                fi
            done
        done
        mib=$(du -m "$f" | cut -f1)
        for state in cold warm; do
            ls=$(cut -d' ' -f1 "$logs.lm.$state" | median)
            lr=$(cut -d' ' -f2 "$logs.lm.$state" | median)
            if [ -n "$llama" ]; then
                cs=$(cut -d' ' -f1 "$logs.llama.$state" | median)
                cr=$(cut -d' ' -f2 "$logs.llama.$state" | median)
                awk -v m="tinyllama-1.1b-$t" -v mib="$mib" -v s=$state -v ls="$ls" -v cs="$cs" -v lr="$lr" -v cr="$cr" \
                    'BEGIN {printf "| %s | %d | %s | %.2f | %.2f | %.2f | %.0f | %.0f |\n", m, mib, s, ls, cs, cs / ls, lr / 1024, cr / 1024}'
            else
                awk -v m="tinyllama-1.1b-$t" -v mib="$mib" -v s=$state -v ls="$ls" -v lr="$lr" \
                    'BEGIN {printf "| %s | %d | %s | %.2f | - | - | %.0f | - |\n", m, mib, s, ls, lr / 1024}'
            fi
        done
    done
    echo
    echo "lm's own view (\`lm bench --load\`: from opening the file to the first token's logits, inside one process):"
    echo
    $LM bench --load -p 0 -n 1 -r 1 -t "$THREADS" $(for t in $TYPES; do echo "$dir/tinyllama-1.1b-$t.gguf"; done) |
        sed -n '1,/^$/p'
} | tee "$out"
