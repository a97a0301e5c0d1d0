// lm run [MODEL] [PROMPT | -f FILE]: stream generated text to stdout, timings to stderr.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>

#include "simd/matmul.h"
#include "src/cli/cli.h"
#include "src/models/generate.h"
#include "src/models/model.h"
#include "src/models/sampler.h"
#include "tokenizer/tokenizer.h"
#include "weights/error.h"
#include "weights/files.h"

namespace lm {

namespace {
// A lone argument names a model when it exists or looks like a model file name.
bool looks_like_model(const std::string& arg) {
    if (files::exists(arg)) return true;
    for (const char* ext : {".gguf", ".bin", ".safetensors"})
        if (arg.size() > std::strlen(ext) && arg.compare(arg.size() - std::strlen(ext), std::string::npos, ext) == 0)
            return true;
    return false;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

constexpr const char* kUsage = "lm run [MODEL] [PROMPT] [options] (lm run --help)";
constexpr int64_t kDefaultPredict = 256;
}  // namespace

const char* const kRunHelp =
    "usage: lm run [MODEL] [PROMPT] [options]\n"
    "       lm run [MODEL] -f FILE [options]\n"
    "Generates text: the prompt is echoed and the continuation streamed to stdout; load time and\n"
    "prompt/decode tokens/s go to stderr. Without MODEL, the story model built into lm. Generation\n"
    "stops at the model's end-of-text token, after -n tokens, or when the context is full.\n"
    "  -f, --file FILE        the prompt is FILE's text (- = standard input) instead of PROMPT\n"
    "  -n, --n-predict N      tokens to generate (256; -1 = until the context is full); more than\n"
    "                         the context holds after the prompt is noted at the start\n"
    "  -c, --ctx-size N       context length in tokens (0 = the model's)\n"
    LM_CACHE_TYPES_HELP
    "  --ctx-shift            when the context is full, drop its oldest half (BOS stays) and\n"
    "                         re-process the rest, then go on (with -n -1: until end-of-text)\n"
    "  --temp T               temperature (0.8; 0 = greedy)\n"
    "  --top-k K              sample from the K most likely tokens (40; 0 = all)\n"
    "  --top-p P              ... from the most likely ones that add up to probability P (0.95;\n"
    "                         1 = all)\n"
    "  --min-p P              leave out tokens less likely than P x the most likely one (0.05;\n"
    "                         0 = none)\n"
    "  --repeat-penalty R     penalize tokens among the last --repeat-last-n (1.0 = off)\n"
    "  --repeat-last-n N      tokens the penalty looks back over (64)\n"
    "  -s, --seed S           sampler seed (-1 = random)\n"
    "  -t, --threads N        threads (this machine's physical cores)\n"
    "  --tokenizer PATH       a llama2.c checkpoint's tokenizer.bin (default: one beside it)\n"
    "examples:\n"
    "  lm run \"Once upon a time\"\n"
    "  lm run model.gguf -f prompt.txt -n 128 --temp 0.8 --top-k 40 --top-p 0.95 --seed 1\n";

int cmd_run(Args& args) {
    const auto t0 = std::chrono::steady_clock::now();
    // Not given (-2) is kDefaultPredict, but no note when the context cannot hold it.
    const int64_t n_flag = args.integer({"-n", "--n-predict"}, -2, -1, 1 << 30);
    const int64_t n_predict = n_flag == -2 ? kDefaultPredict : n_flag;
    const SamplerParams sp = read_sampler_params(args);
    const int threads = static_cast<int>(args.integer({"-t", "--threads"}, default_threads(), 1, 1024));
    const int64_t ctx = args.integer({"-c", "--ctx-size"}, 0, 0, 1 << 22);
    const bool ctx_shift = args.flag({"--ctx-shift"});
    const std::string tokenizer_path = args.text({"--tokenizer"}, "");
    const std::string prompt_file = args.text({"-f", "--file"}, "");
    DecoderOptions decoder_options{static_cast<int>(ctx), 512};
    read_cache_types(args, decoder_options);
    // `lm run [MODEL] [PROMPT]`: with one argument, an existing path is the model and
    // anything else is a prompt for the built-in story model; with -f, it is the model.
    auto pos = args.positional(0, prompt_file.empty() ? 2 : 1, kUsage);
    if (pos.size() < 2 && (pos.empty() || (prompt_file.empty() && !looks_like_model(pos[0]))))
        pos.insert(pos.begin(), "");
    const std::string prompt = !prompt_file.empty() ? read_text(prompt_file) : pos.size() > 1 ? pos[1] : "";

    ModelFile file = open_model(pos[0], tokenizer_path);
    Tokenizer tok(file.meta);
    const int model_ctx = static_cast<int>(file.meta.get_int(file.architecture() + ".context_length", 0));
    if (ctx > model_ctx && model_ctx > 0)
        fail("-c: ", ctx, " is larger than the model's context length of ", model_ctx);
    auto model = load_decoder(file, decoder_options);
    if (tok.n_vocab() > model->vocab_size())
        fail(pos[0], ": tokenizer has ", tok.n_vocab(), " tokens but the model only ", model->vocab_size());

    std::vector<int> tokens = prompt_tokens(tok, prompt);
    if (tokens.empty()) fail("the prompt is empty and the model has no BOS token to start from");
    const int context = model->context(), n_prompt = static_cast<int>(tokens.size());
    if (n_prompt > context) fail("prompt is ", n_prompt, " tokens, longer than the context of ", context, " (see -c)");
    if (n_flag > context - n_prompt && !ctx_shift)
        std::fprintf(stderr,
                     "lm: note: -n %lld is more than the %d tokens the context of %d holds after the %d-token "
                     "prompt: generation stops when it is full (--ctx-shift goes on)\n",
                     static_cast<long long>(n_flag), context - n_prompt, context, n_prompt);
    const double load_s = seconds_since(t0);

    Sampler sampler(sp, model->vocab_size());
    // The prompt is echoed as its tokens spell it, then the continuation follows (as
    // llama2.c and llama.cpp print it).
    Utf8Stream out;
    std::string echo;
    for (size_t i = 0; i < tokens.size(); ++i)
        if (i > 0 || tokens[0] != tok.bos()) echo += out.push(tok.decode_token(i ? tokens[i - 1] : -1, tokens[i]));
    echo += out.flush();
    std::fwrite(echo.data(), 1, echo.size(), stdout);
    std::fflush(stdout);
    GenerateOptions options;
    options.n_predict = n_predict;
    options.ctx_shift = ctx_shift;
    options.threads = threads;
    GenerateStats stats;
    const StopReason stop = generate(*model, sampler, tok, tokens, options, [](int, const std::string& text) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        return true;
    }, &stats);
    const std::string shifted = stats.shifts ? " | " + std::to_string(stats.shifts) + " context shifts" : "";
    const std::string reason = stop == StopReason::n_predict ? "-n " + std::to_string(n_predict) : stop_reason_name(stop);
    std::fprintf(stderr,
                 "\nlm: load %.1f ms | prompt %d tokens, %.1f tok/s | decode %d tokens, %.1f tok/s | %d threads | "
                 "stop: %s%s\n",
                 load_s * 1e3, n_prompt, n_prompt / stats.prompt_seconds, stats.generated,
                 stats.generated / stats.decode_seconds, threads, reason.c_str(), shifted.c_str());
    return 0;
}

}  // namespace lm
