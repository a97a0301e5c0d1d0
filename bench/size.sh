#!/usr/bin/env bash
# make size: where lm's code goes. Reads the link map the Makefile writes beside a binary
# (BINARY.map) and prints, per source folder and per runtime library, the bytes of machine
# code (.text) that stayed in the binary after the link dropped unreachable sections, and of
# unwind tables (.eh_frame, .gcc_except_table); then the stripped binary's sections.
# usage: bench/size.sh [BINARY]   (default build-nomodel/lm-static, made by make size)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build-nomodel/lm-static}
map=$bin.map
[ -f "$map" ] || { echo "size.sh: no link map $map (build with the Makefile)"; exit 1; }
kb() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1024 }'; }

rows=$(awk '/^Linker script and memory map/ { f = 1; next } f' "$map" | awk -f bench/size_map.awk)
groups=(weights tokenizer simd src/api src/cli src/models src/train src/eval libstdc++ libgomp "libc, libm" libgcc other)
echo "| code from | .text KiB | unwind KiB |"
echo "|---|---:|---:|"
own=0 own_eh=0 rt=0 rt_eh=0
for g in "${groups[@]}"; do
    line=$(printf '%s\n' "$rows" | awk -F '\t' -v g="$g" '$1 == g { print $2, $3 }')
    [ -n "$line" ] || continue
    read -r code eh <<<"$line"
    case $g in
        lib*|other) rt=$((rt + code)); rt_eh=$((rt_eh + eh)); label="runtime: $g" ;;
        *) own=$((own + code)); own_eh=$((own_eh + eh)); label="$g/" ;;
    esac
    echo "| $label | $(kb "$code") | $(kb "$eh") |"
done
text=$(size -A "$bin" | awk '$1 == ".text" { print $2 }')
echo "| alignment padding | $(kb $((text - own - rt))) | |"
echo "| **lm's own code** | **$(kb $own)** | **$(kb $own_eh)** |"
echo "| **runtime libraries** | **$(kb $rt)** | **$(kb $rt_eh)** |"
echo "| **.text** | **$(kb "$text")** | |"

stripped=$(mktemp)
strip -o "$stripped" "$bin"
echo
size -A "$stripped" | awk -v file="$(stat -c %s "$stripped")" '
    $1 == ".text" { t = $2 } $1 == ".rodata" { r = $2 }
    $1 == ".eh_frame" || $1 == ".gcc_except_table" || $1 == ".eh_frame_hdr" { e += $2 }
    END { printf "stripped %s: .text %.0f KiB, .rodata %.0f KiB, unwind %.0f KiB, file %.0f KiB\n", "'"$bin"'", t / 1024, r / 1024, e / 1024, file / 1024 }'
rm -f "$stripped"
