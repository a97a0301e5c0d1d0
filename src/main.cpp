// lm: one binary for running, inspecting and converting Transformer models.
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include "src/cli.h"
#include "weights/error.h"

namespace {

const char* kUsage =
    "usage: lm COMMAND [ARGS]\n"
    "  run [MODEL] [PROMPT]      generate text; without MODEL, the built-in story model\n"
    "                            (-n, --temp, --top-k, --top-p, --min-p,\n"
    "                            --repeat-penalty, --seed, -t, -c, --tokenizer)\n"
    "  info MODEL                architecture, hyperparameters, tokenizer, tensors\n"
    "  tokenize MODEL TEXT       token ids of TEXT (--no-bos)\n"
    "  logits MODEL PROMPT -o F  logits at every prompt position, .logits format\n"
    "  convert IN OUT.gguf       llama2.c, GGUF or Hugging Face directory to GGUF\n"
    "                            (--type f32|f16|bf16|q8_0, --tokenizer)\n"
    "  qa MODEL --question Q --context C\n"
    "                            answer span from a BERT QA model (--max-answer, --stride)\n"
    "  classify MODEL TEXT...    label and probabilities per text (--file F)\n"
    "  embed MODEL TEXT...       normalized sentence embeddings (--file F, --pooling mean|cls)\n"
    "  init --shape S OUT.gguf   random-weight Llama of a real shape (--type, --seed)\n"
    "  bench MODEL...            pp/tg tokens/s table (-p, -n, -t 1,2, -r, --roofline)\n"
    "  eval MODEL TEXT.txt       perplexity and bits per byte (--ctx, --stride)\n"
    "  train CORPUS.txt          train a model on a text file, -o OUT.gguf (--arch, --size,\n"
    "                            --tokenizer bpe|char, --vocab, --init, --iters, --lr, --batch,\n"
    "                            --ctx, --resume CKPT, --save-every; lm train --help for all)\n";

// Messages can quote bytes from hostile files: keep them on one printable line.
void print_error(const char* message) {
    std::string line;
    for (const char* p = message; *p; ++p) {
        unsigned char c = static_cast<unsigned char>(*p);
        if (c < 0x20 || c == 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            line += hex;
        } else {
            line += static_cast<char>(c);
        }
    }
    std::fflush(stdout);
    std::fprintf(stderr, "lm: error: %s\n", line.c_str());
}

struct Command {
    const char* name;
    int (*run)(lm::Args&);
};
constexpr Command kCommands[] = {
    {"run", lm::cmd_run},         {"info", lm::cmd_info},       {"tokenize", lm::cmd_tokenize},
    {"logits", lm::cmd_logits},   {"convert", lm::cmd_convert}, {"init", lm::cmd_init},
    {"bench", lm::cmd_bench},     {"qa", lm::cmd_qa},           {"classify", lm::cmd_classify},
    {"embed", lm::cmd_embed},     {"eval", lm::cmd_eval},       {"train", lm::cmd_train},
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help")) {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    try {
        for (const Command& c : kCommands) {
            if (!std::strcmp(argv[1], c.name)) {
                lm::Args args(argc - 1, argv + 1);
                return c.run(args);
            }
        }
        lm::fail("unknown command '", argv[1], "' (try lm --help)");
    } catch (const lm::Error& e) {
        print_error(e.what());
    } catch (const std::bad_alloc&) {
        print_error("out of memory");
    }
    return 1;
}
