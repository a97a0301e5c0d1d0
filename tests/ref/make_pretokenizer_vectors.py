#!/usr/bin/env python3
"""Token ids llama.cpp gives for every rule set of tokenizer.ggml.pre, on texts that mix the
characters those rules tell apart, with the GPT-2 vocabulary and merges of
../shared/models/gguf-vocab/ggml-vocab-gpt-2.gguf under each name (the pieces decide the ids).

Writes tests/ref/pretokenizer/texts.inp (llama.cpp's .inp format) and NAME.out (ids of
each text, one line each). Needs a built llama.cpp checkout (libllama.so):
    python3 tests/ref/make_pretokenizer_vectors.py /path/to/llama.cpp
The oracle is a dozen lines of C++ written here, compiled against llama.h.
"""
import os
import random
import struct
import subprocess
import sys
import tempfile

NAMES = ["default", "gpt-2", "llama-bpe", "dbrx", "deepseek-llm", "deepseek-coder", "deepseek-v3", "falcon",
         "starcoder", "qwen2", "bloom", "viking", "tekken", "chameleon"]

PARTS = [" ", "  ", "   ", "\n", "\n\n", "\r\n", "\t", " \n ", "a", "Zz", "hello", "World", "HTTPServer",
         "camelCase", "ABC", "'s", "'LL", "'ve", "'t", "1", "23", "4567", "3.14", "!", "?.", "...", "$", "+=",
         "<|>", "^~", "`", "~", "/", "//", "(", ")", "|", ",", "@#", "_", "-", "\"", "'", "\u00e9", "\u00c4",
         "\u0416", "\u043d\u0435\u0449\u043e", "\u00df", "\u00b5", "\u01c5", "\u4e2d\u6587", "\uac00\ub098",
         "\u3072\u3089", "\u30ab\u30bf", "\u30fc", "\u3005", "\u0301", "e\u0301", "\u0903", "\uff01", "\uff5e",
         "\u3001", "\u3002", "\uff0c", "\u2026", "\u060c", "\u06d4", "\u0964", "\u00a0", "\u3000", "\u2003",
         "\u0085", "\u0663", "\u00bd", "\u216b", "\u00b2", "\U0001f999", "\U0001f600", "\u200d", "\u20ac",
         "\u00a9", "\u2192", "\u2018", "\u201c", "<sentinel:12>", "IMGIMGABZ", "IMGIMGABCDEZ", "\u2102",
         "\ufb00", "\uff21", "\uff41", "\u0e51", "\u0e01", "\u1100", "\uff9f"]

ORACLE = r'''
#include "llama.h"
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
int main(int, char** argv) {
    llama_backend_init();
    llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
    llama_model_params params = llama_model_default_params();
    params.vocab_only = true;
    llama_model* model = llama_model_load_from_file(argv[1], params);
    if (!model) return 1;
    const llama_vocab* vocab = llama_model_get_vocab(model);
    std::ifstream in(argv[2], std::ios::binary);
    std::stringstream all;
    all << in.rdbuf();
    const std::string text = all.str(), sep = "\n__ggml_vocab_test__\n";
    for (size_t pos = 0, hit; (hit = text.find(sep, pos)) != std::string::npos; pos = hit + sep.size()) {
        std::vector<llama_token> ids(4 * (hit - pos) + 16);
        int n = llama_tokenize(vocab, text.data() + pos, hit - pos, ids.data(), ids.size(), false, false);
        for (int i = 0; i < n; ++i) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    }
}
'''


def with_pre(gguf: bytes, name: str) -> bytes:
    """The vocabulary file with tokenizer.ggml.pre (a string) set to name; it has no tensors."""
    key = b"tokenizer.ggml.pre"
    at = gguf.find(struct.pack("<Q", len(key)) + key)
    assert at > 0
    value = at + 8 + len(key)
    assert struct.unpack_from("<I", gguf, value)[0] == 8
    old_len = struct.unpack_from("<Q", gguf, value + 4)[0]
    return gguf[:value + 4] + struct.pack("<Q", len(name)) + name.encode() + gguf[value + 12 + old_len:]


def main():
    llama = sys.argv[1]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out_dir = os.path.join(root, "tests", "ref", "pretokenizer")
    vocab = open(os.path.join(root, "..", "shared", "models", "gguf-vocab", "ggml-vocab-gpt-2.gguf"), "rb").read()
    rng = random.Random(18)
    texts = ["".join(rng.choice(PARTS) for _ in range(rng.randint(1, 16))) for _ in range(48)]
    inp = os.path.join(out_dir, "texts.inp")
    with open(inp, "w", encoding="utf-8", newline="") as f:
        f.write("".join(t + "\n__ggml_vocab_test__\n" for t in texts))
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "oracle.cpp"), os.path.join(tmp, "oracle")
        open(src, "w").write(ORACLE)
        lib = os.path.join(llama, "build", "bin")
        subprocess.check_call(["g++", "-std=c++17", "-O1", src, "-I" + os.path.join(llama, "include"),
                               "-I" + os.path.join(llama, "ggml", "include"), "-L" + lib, "-lllama",
                               "-Wl,-rpath," + lib, "-o", exe])
        for name in NAMES:
            gguf = os.path.join(tmp, name + ".gguf")
            open(gguf, "wb").write(with_pre(vocab, name))
            ids = subprocess.check_output([exe, gguf, inp])
            open(os.path.join(out_dir, name + ".out"), "wb").write(ids)
            print(name, len(ids.splitlines()), "lines")


if __name__ == "__main__":
    main()
