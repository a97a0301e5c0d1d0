// lm: one binary for running, inspecting and converting Transformer models.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "simd/kernels.h"
#include "src/cli/cli.h"
#include "weights/error.h"

namespace {

constexpr const char* kVersion = "0.1.0";

const char* kUsage =
    "usage: lm COMMAND [ARGS]   (lm COMMAND --help: its flags, their defaults, an example)\n"
    "  run [MODEL] [PROMPT]      generate text; without MODEL, the built-in story model\n"
    "                            (-f FILE, -n, -c, --ctx-shift, --temp, --top-k, --top-p,\n"
    "                            --min-p, --repeat-penalty, --seed, -t, --tokenizer)\n"
    "  chat MODEL                chat with an instruct model (-sys, -p, --chat-template, -n,\n"
    "                            -c, --temp, --seed, -t)\n"
    "  info MODEL                architecture, hyperparameters, tokenizer, tensors\n"
    "  tokenize MODEL TEXT       token ids of TEXT (-f FILE, --show-pieces, --count, --no-bos)\n"
    "  logits MODEL PROMPT -o F  logits at every prompt position, .logits format\n"
    "  convert IN OUT.gguf       llama2.c, GGUF or Hugging Face directory to GGUF\n"
    "                            (--type f32|f16|bf16|q8_0, --tokenizer)\n"
    "  quantize IN OUT.gguf TYPE as llama-quantize: Q4_K_M, Q2_K ... mixes or one type (-t)\n"
    "  qa MODEL --question Q --context C\n"
    "                            answer span from a BERT QA model (--max-answer, --stride)\n"
    "  classify MODEL TEXT...    label and probabilities per text (--file F)\n"
    "  embed MODEL TEXT...       normalized sentence embeddings (--file F, --pooling mean|cls)\n"
    "  init --shape S OUT.gguf   random-weight Llama of a real shape (--type, --seed)\n"
    "  bench MODEL...            pp/tg tokens/s table (-p, -n, -t 1,2, -r, --roofline, --isa)\n"
    "  eval MODEL TEXT.txt       perplexity and bits per byte (--ctx, --stride; --task for more)\n"
    "  train CORPUS.txt          train a model on a text file, -o OUT.gguf (--arch, --size,\n"
    "                            --tokenizer bpe|char, --vocab, --separator, --init, --iters,\n"
    "                            --lr, --batch, --ctx, --resume CKPT, --save-every)\n"
    "lm --version: the version and the kernel (ISA) levels this CPU reaches\n";

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

// lm --version: the version, then the kernel levels this CPU reaches, best last.
void print_version() {
    std::string levels;
    for (lm::simd::Isa isa : lm::simd::reachable_isas()) levels += std::string(" ") + lm::simd::isa_name(isa);
    std::printf("lm %s\nISA levels:%s (matmul uses %s)\n", kVersion, levels.c_str(),
                lm::simd::isa_name(lm::simd::default_isa()));
}

// LM_ISA=NAME runs the kernels of that ISA level (simd/dispatch.cpp); naming one this CPU
// lacks, or a typo, must not quietly run the best level instead.
void check_isa_variable() {
    const char* name = std::getenv("LM_ISA");
    if (!name) return;
    std::string levels;
    for (lm::simd::Isa isa : lm::simd::reachable_isas()) {
        if (!std::strcmp(name, lm::simd::isa_name(isa))) return;
        levels += std::string(levels.empty() ? "" : ", ") + lm::simd::isa_name(isa);
    }
    lm::fail("LM_ISA: '", name, "' is not an ISA level this CPU runs (", levels, ")");
}

struct Command {
    const char* name;
    int (*run)(lm::Args&);
    const char* help;
};
const Command kCommands[] = {
    {"run", lm::cmd_run, lm::kRunHelp},
    {"chat", lm::cmd_chat, lm::kChatHelp},
    {"info", lm::cmd_info, lm::kInfoHelp},
    {"tokenize", lm::cmd_tokenize, lm::kTokenizeHelp},
    {"logits", lm::cmd_logits, lm::kLogitsHelp},
    {"convert", lm::cmd_convert, lm::kConvertHelp},
    {"quantize", lm::cmd_quantize, lm::kQuantizeHelp},
    {"init", lm::cmd_init, lm::kInitHelp},
    {"bench", lm::cmd_bench, lm::kBenchHelp},
    {"qa", lm::cmd_qa, lm::kQaHelp},
    {"classify", lm::cmd_classify, lm::kClassifyHelp},
    {"embed", lm::cmd_embed, lm::kEmbedHelp},
    {"eval", lm::cmd_eval, lm::kEvalHelp},
    {"train", lm::cmd_train, lm::kTrainHelp},
};

// -h or --help anywhere among a command's arguments (before a "--") asks for its help.
bool asks_for_help(int argc, char** argv) {
    for (int i = 2; i < argc && std::strcmp(argv[i], "--"); ++i)
        if (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help")) return true;
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help")) {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    if (!std::strcmp(argv[1], "--version")) {
        print_version();
        return 0;
    }
    try {
        check_isa_variable();
        for (const Command& c : kCommands) {
            if (!std::strcmp(argv[1], c.name)) {
                if (asks_for_help(argc, argv)) {
                    std::fputs(c.help, stdout);
                    return 0;
                }
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
