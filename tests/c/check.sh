#!/bin/sh
# Builds tests/c/generate.c and embed.c against the lm installed in PREFIX, with pkg-config
# as an application would, and checks they print what ./lm prints for the same input.
# usage: tests/c/check.sh PREFIX BUILD_DIR
set -eu
prefix=$1 out=$2
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
flags=$(pkg-config --cflags --libs lm)
# The README's example, as it stands there.
sed -n '/^<!-- c-example -->$/,/^```$/p' README.md | sed '1,2d;$d' >"$out/c_example.c"
for prog in generate embed example; do
    src="tests/c/$prog.c"; [ "$prog" = example ] && src="$out/c_example.c"
    ${CC:-cc} -std=c99 -Wall -Wextra -Werror -o "$out/c_$prog" "$src" $flags -Wl,-rpath,"$prefix/lib"
done
fail=0
check() {  # name, expected file, actual file
    if cmp -s "$2" "$3"; then echo "test-c: $1: same as lm"; else echo "test-c: $1 differs from lm:"; diff "$2" "$3" | head -5; fail=1; fi
}
# The story model: built in ("" names it) unless lm was made with LM_BUILTIN_MODEL=0.
story=""; [ "${LM_BUILTIN_MODEL:-1}" = 0 ] && story=weights/default-model.gguf
"$prefix/bin/lm" run "$story" "Once upon a time" --temp 0 -n 40 2>/dev/null >"$out/c_generate.expected"
"$out/c_generate" "$story" "Once upon a time" 40 >"$out/c_generate.out"
check "generate (story model, greedy, 40 tokens)" "$out/c_generate.expected" "$out/c_generate.out"
# (one text per run: lm embed pads a batch of texts to the longest, which moves the last digit)
{ "$prefix/bin/lm" embed tests/ref/bert "the cat sat" && "$prefix/bin/lm" embed tests/ref/bert "a dog ran home"; } >"$out/c_embed.expected"
"$out/c_embed" tests/ref/bert "the cat sat" "a dog ran home" >"$out/c_embed.out"
check "embed (tests/ref/bert, 2 texts)" "$out/c_embed.expected" "$out/c_embed.out"
if [ -z "$story" ]; then  # (the example opens the built-in model)
    "$prefix/bin/lm" run "" "Once upon a time" -n 64 --seed 0 2>/dev/null | tail -c +17 >"$out/c_example.expected"
    "$out/c_example" >"$out/c_example.out"
    check "README example (seed 0, 64 tokens)" "$out/c_example.expected" "$out/c_example.out"
else
    echo "test-c: README example skipped: this lm has no built-in model"
fi
# The shared library exports the API alone.
others=$(nm -D --defined-only "$prefix/lib/liblm.so" | awk '{print $3}' | grep -v '^lm_' | grep -v '^LM_1$' || true)
if [ -n "$others" ]; then echo "test-c: liblm.so exports more than lm_*: $others" | head -3; fail=1; fi
exit $fail
