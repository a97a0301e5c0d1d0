// lm logits MODEL PROMPT -o OUT: logits at every prompt position, computed in one batch.
// OUT format: int32 n_tokens, int32 n_vocab, int32 tokens[n], float32 logits[n][n_vocab].
#include <cstdio>

#include "simd/matmul.h"
#include "src/cli/cli.h"
#include "src/models/model.h"
#include "tokenizer/tokenizer.h"
#include "weights/error.h"
#include "weights/files.h"

namespace lm {

const char* const kLogitsHelp =
    "usage: lm logits MODEL PROMPT -o OUT [options]\n"
    "Writes the logits at every prompt position, computed in one batch, to OUT: int32 n, int32\n"
    "vocab, int32 tokens[n], f32 logits[n][vocab].\n"
    "  -o, --output OUT       the file to write (required)\n"
    "  -t, --threads N        threads (this machine's physical cores)\n" LM_CACHE_TYPES_HELP
    "  --tokenizer PATH       a llama2.c checkpoint's tokenizer.bin (default: one beside it)\n"
    "example:\n"
    "  lm logits model.gguf \"Once upon a time\" -o out.logits\n";

int cmd_logits(Args& args) {
    const std::string out_path = args.text({"-o", "--output"}, "");
    const int threads = static_cast<int>(args.integer({"-t", "--threads"}, default_threads(), 1, 1024));
    const std::string tokenizer_path = args.text({"--tokenizer"}, "");
    DecoderOptions options;
    read_cache_types(args, options);
    const auto pos = args.positional(2, 2, "lm logits MODEL PROMPT -o OUT [-t THREADS] [--tokenizer PATH]");
    if (out_path.empty()) fail("logits: missing -o OUT");
    ModelFile file = open_model(pos[0], tokenizer_path);
    Tokenizer tok(file.meta);
    std::vector<int32_t> tokens = tok.encode(pos[1], true);
    if (tokens.empty()) fail("logits: the prompt has no tokens");
    const int n = static_cast<int>(tokens.size());
    options.max_batch = n;
    auto model = load_decoder(file, options);
    if (n > model->context()) fail("prompt is ", n, " tokens, longer than the context of ", model->context());
    const int vocab = model->vocab_size();
    std::vector<float> logits(static_cast<size_t>(n) * vocab);
    std::vector<int> ids(tokens.begin(), tokens.end());
    model->forward(ids.data(), n, 0, threads, logits.data());

    const std::string tmp = out_path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) fail(out_path, ": cannot write");
    const int32_t header[2] = {n, vocab};
    bool ok = std::fwrite(header, 4, 2, f) == 2 && std::fwrite(tokens.data(), 4, n, f) == static_cast<size_t>(n) &&
              std::fwrite(logits.data(), 4, logits.size(), f) == logits.size();
    ok = (std::fclose(f) == 0) && ok;
    if (!ok || !files::rename(tmp, out_path).empty()) {
        std::remove(tmp.c_str());
        fail(out_path, ": write failed");
    }
    return 0;
}

}  // namespace lm
