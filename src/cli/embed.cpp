// lm embed MODEL TEXT... [--file F] [--pooling mean|cls]: L2-normalized sentence embeddings
// from a BERT encoder, one line of floats per text.
#include <cstdio>

#include "simd/matmul.h"
#include "src/cli/cli.h"
#include "src/models/bert.h"
#include "src/models/bert_tasks.h"
#include "tokenizer/tokenizer.h"
#include "weights/error.h"

namespace lm {

const char* const kEmbedHelp =
    "usage: lm embed MODEL TEXT... [options]\n"
    "L2-normalized sentence embeddings from a BERT encoder, one line of floats per text.\n"
    "  -f, --file F           also each line of F\n"
    "  --pooling mean|cls     how tokens make one vector (the model's bert.pooling_type)\n"
    "  -t, --threads N        threads (this machine's physical cores)\n"
    "example:\n"
    "  lm embed tests/ref/bert \"the cat sat\" --pooling mean\n";

int cmd_embed(Args& args) {
    const std::string file_path = args.text({"--file", "-f"}, "");
    const std::string pooling_name = args.text({"--pooling"}, "");
    const int threads = static_cast<int>(args.integer({"-t", "--threads"}, default_threads(), 1, 1024));
    const auto pos = args.positional(1, 1 << 20, "lm embed MODEL TEXT... [--file F] [--pooling mean|cls] [-t THREADS]");
    if (!pooling_name.empty() && pooling_name != "mean" && pooling_name != "cls")
        fail("--pooling: '", pooling_name, "' is not mean or cls");
    const std::vector<std::string> texts = texts_of(pos, file_path);
    ModelFile file = open_model(pos[0], "");
    Tokenizer tok(file.meta);
    Bert bert(file, kEncoderBatchRows);
    // The model's own pooling (bert.pooling_type) unless the flag overrides it.
    const Pooling pooling = pooling_name.empty() ? bert.pooling() : pooling_name == "cls" ? Pooling::cls : Pooling::mean;
    encode_batches(bert, tok, texts, threads, [&](size_t, int seq) {
        std::string line;
        for (float v : bert.embed(pooling, seq)) {
            char s[32];
            std::snprintf(s, sizeof s, "%.7g", v);
            if (!line.empty()) line += ' ';
            line += s;
        }
        std::printf("%s\n", line.c_str());
    });
    return 0;
}

}  // namespace lm
