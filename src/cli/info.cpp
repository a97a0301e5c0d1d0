// lm info MODEL: what a model file holds. With --check: whether every tensor is finite.
#include <cstdio>

#include "src/cli/cli.h"
#include "src/models/config.h"
#include "tokenizer/tokenizer.h"
#include "weights/error.h"
#include "weights/quant.h"

namespace lm {

namespace {

// lm info --check: every tensor's values and block scales, stopping at the first NaN or Inf.
int check_tensors(const ModelFile& file) {
    for (const Tensor& t : file.tensors)
        if (const int64_t row = first_non_finite_row(t); row >= 0)
            fail(file.path, ": tensor ", t.name, " row ", row, " holds NaN or Inf (in its values or block scales)");
    std::printf("%s: ok, the values and block scales of all %zu tensors are finite\n", file.path.c_str(),
                file.tensors.size());
    return 0;
}

}  // namespace

const char* const kInfoHelp =
    "usage: lm info MODEL [options]\n"
    "Prints the architecture, hyperparameters, tokenizer, metadata and every tensor's type and\n"
    "shape of a GGUF, llama2.c or safetensors model (or a Hugging Face directory).\n"
    "  --check                also read every tensor and name the first one (and row) holding a\n"
    "                         NaN or an infinity, or print ok\n"
    "  --tokenizer PATH       a llama2.c checkpoint's tokenizer.bin (default: one beside it)\n"
    "example:\n"
    "  lm info model.gguf --check\n";

int cmd_info(Args& args) {
    const std::string tokenizer_path = args.text({"--tokenizer"}, "");
    const bool check = args.flag({"--check"});
    const auto pos = args.positional(1, 1, "lm info MODEL [--check] [--tokenizer PATH]");
    ModelFile file = open_model(pos[0], tokenizer_path);
    if (check) return check_tensors(file);
    std::printf("file: %s (%s, %zu bytes)\n", file.path.c_str(), file.format.c_str(), file.mapping->size());
    const std::string arch = file.meta.get_string("general.architecture", "");
    std::printf("architecture: %s\n", arch.empty() ? "(none)" : arch.c_str());
    if (!arch.empty() && !file.tensors.empty()) {
        const Config c = read_config(file);
        std::printf("hyperparameters: dim %d, hidden %d, layers %d, heads %d, kv_heads %d, head_dim %d, vocab %d, "
                    "context %d, norm_eps %g, rope_freq_base %g\n",
                    c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.vocab_size,
                    c.context_length, c.norm_eps, c.rope_freq_base);
    }
    if (file.meta.has("tokenizer.ggml.model")) {
        Tokenizer tok(file.meta);
        std::printf("tokenizer: %s, %d tokens, bos %d, eos %d\n", tok.model().c_str(), tok.n_vocab(), tok.bos(), tok.eos());
    }
    std::printf("metadata (%zu keys):\n", file.meta.entries.size());
    for (const auto& [key, value] : file.meta.entries)
        std::printf("  %-40s %s\n", key.c_str(), format_value(value).c_str());
    size_t total = 0;
    std::printf("tensors (%zu):\n", file.tensors.size());
    for (const Tensor& t : file.tensors) {
        std::printf("  %-32s %-5s %-16s %zu bytes\n", t.name.c_str(), dtype_name(t.type), shape_string(t).c_str(), t.nbytes);
        total += t.nbytes;
    }
    std::printf("total tensor bytes: %zu\n", total);
    return 0;
}

}  // namespace lm
