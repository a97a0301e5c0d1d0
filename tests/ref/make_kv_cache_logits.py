#!/usr/bin/env python3
"""llama.cpp's logits for lm's built-in story model (weights/default-model.gguf) decoded one
token at a time, so every position reads the KV cache, with the cache in f16, q8_0 and q4_0
as keys-values f16-f16, q8_0-q8_0 and q4_0-q8_0. Flash attention is on for the quantized
caches (llama.cpp needs it for a quantized V cache) and off for f16, llama.cpp's default, which
lm's f16 path follows. (A q4_0 V cache is left out: at position 0, where attention returns
the one value row as it is, llama.cpp's logits differ from lm's by 0.23 while lm's equal a
double computation over the dequantized row; unexplained.)

Writes tests/ref/kv_cache/{f16-f16,q8_0-q8_0,q4_0-q8_0}.logits in the .logits format (int32 n, int32 vocab,
int32 tokens[n], f32 logits[n][vocab]). Needs a built llama.cpp checkout (libllama.so):
    python3 tests/ref/make_kv_cache_logits.py /path/to/llama.cpp
The oracle is a few lines of C++ written here, compiled against llama.h.
"""
import os
import subprocess
import sys
import tempfile

# The prompt whose positions are scored (its ids from lm tokenize, so both read the same ids).
TOKENS_TEXT = "Once upon a time, there was a little girl named Lily. She loved to play outside"

ORACLE = r'''
#include "llama.h"
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
int main(int argc, char** argv) {
    // usage: oracle MODEL OUT.logits K-TYPE V-TYPE ID... (types f16, q8_0, q4_0)
    llama_backend_init();
    llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
    llama_model* model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) return 1;
    auto type_named = [](const char* s) {
        return !strcmp(s, "q8_0") ? GGML_TYPE_Q8_0 : !strcmp(s, "q4_0") ? GGML_TYPE_Q4_0 : GGML_TYPE_F16;
    };
    const ggml_type type = type_named(argv[3]), vtype = type_named(argv[4]);
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 64, cp.n_batch = 64, cp.n_threads = 1, cp.type_k = type, cp.type_v = vtype;
    cp.flash_attn = type != GGML_TYPE_F16 || vtype != GGML_TYPE_F16;
    llama_context* ctx = llama_init_from_model(model, cp);
    if (!ctx) return 2;
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    std::vector<int> ids;
    for (int i = 5; i < argc; ++i) ids.push_back(atoi(argv[i]));
    FILE* out = fopen(argv[2], "wb");
    const int n = ids.size();
    fwrite(&n, 4, 1, out), fwrite(&n_vocab, 4, 1, out), fwrite(ids.data(), 4, n, out);
    for (int i = 0; i < n; ++i) {
        llama_token t = ids[i];
        if (llama_decode(ctx, llama_batch_get_one(&t, 1))) return 3;
        fwrite(llama_get_logits_ith(ctx, -1), 4, n_vocab, out);
    }
    fclose(out);
}
'''


def main():
    llama = os.path.abspath(sys.argv[1])
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    model = os.path.join(root, "weights", "default-model.gguf")
    ids = subprocess.run([os.path.join(root, "lm"), "tokenize", model, TOKENS_TEXT], check=True,
                         capture_output=True, text=True).stdout.split()
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "oracle.cpp"), os.path.join(tmp, "oracle")
        open(src, "w").write(ORACLE)
        subprocess.run(["g++", "-O2", "-std=c++17", src, "-o", exe, "-I", os.path.join(llama, "include"),
                        "-I", os.path.join(llama, "ggml", "include"), "-L", os.path.join(llama, "build", "bin"),
                        "-lllama", "-lggml", "-lggml-base", "-Wl,-rpath," + os.path.join(llama, "build", "bin")],
                       check=True)
        os.makedirs(os.path.join(here, "kv_cache"), exist_ok=True)
        for k, v in [("f16", "f16"), ("q8_0", "q8_0"), ("q4_0", "q8_0")]:
            path = os.path.join(here, "kv_cache", k + "-" + v + ".logits")
            subprocess.run([exe, model, path, k, v] + ids, check=True)
            print(path, len(ids), "tokens")


if __name__ == "__main__":
    main()
