// lm eval MODEL TEXT.txt [--ctx N] [--stride S] [--separator TEXT]: perplexity and bits per byte
// of a text. (--chunks, --save-logits, --kl-divergence: llama-perplexity's way, src/eval/chunks.cpp.)
// Windows of `ctx` tokens slide by `stride`; each token is scored once, in the first window
// where it is not among the first ctx - stride positions (except in the first window), so
// most tokens see at least ctx - stride tokens of context (the Hugging Face recipe).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "simd/matmul.h"
#include "src/cli/cli.h"
#include "src/eval/chunks.h"
#include "tokenizer/tokenizer.h"
#include "weights/error.h"

namespace lm {

namespace {

// -log softmax(logits)[target], in double.
double nll(const float* logits, int vocab, int target) {
    double max = logits[0];
    for (int v = 1; v < vocab; ++v) max = std::max(max, static_cast<double>(logits[v]));
    double sum = 0;
    for (int v = 0; v < vocab; ++v) sum += std::exp(logits[v] - max);
    return std::log(sum) + max - logits[target];
}

}  // namespace

int cmd_eval(Args& args) {
    const std::string task = args.text({"--task"}, "");  // the task metrics: src/cli/eval_task.cpp
    if (!task.empty()) return cmd_eval_task(args, task);
    const int64_t ctx_flag = args.integer({"-c", "--ctx"}, 0, 0, 1 << 22);
    const int64_t stride_flag = args.integer({"--stride"}, 0, 0, 1 << 22);
    const int threads = static_cast<int>(args.integer({"-t", "--threads"}, default_threads(), 1, 1024));
    const std::string tokenizer_path = args.text({"--tokenizer"}, "");
    const std::string separator = unescape(args.text({"--separator"}, ""));
    DecoderOptions options;  // context and batch below
    read_cache_types(args, options);
    const bool chunks = args.flag({"--chunks"});
    const std::string save_logits = args.text({"--save-logits"}, "");
    const std::string kl_base = args.text({"--kl-divergence"}, "");
    const auto pos = args.positional(2, 2, "lm eval MODEL TEXT.txt [options] (lm eval --help)");
    const std::string text = read_text(pos[1]);
    if (text.empty()) fail(pos[1], ": the text is empty");

    ModelFile file = open_model(pos[0], tokenizer_path);
    Tokenizer tok(file.meta);
    // --kl-divergence: the chunks of the base file (a context more would only cost time)
    const int64_t ctx_want = !kl_base.empty() && !ctx_flag ? std::max(1, saved_logits_context(kl_base)) : ctx_flag;
    options.context = static_cast<int>(ctx_want);
    options.max_batch = static_cast<int>(ctx_want ? ctx_want : 512);
    auto model = load_decoder(file, options);
    const int ctx = model->context();
    if (ctx_flag > ctx) fail("--ctx: ", ctx_flag, " is larger than the model's context of ", ctx);
    if (chunks || !save_logits.empty() || !kl_base.empty()) {
        if (!separator.empty() || stride_flag) fail("--chunks: scores whole chunks; --separator and --stride do not apply");
        eval_chunks(*model, tok, text,
                    {.ctx = ctx, .ctx_given = ctx_flag > 0, .threads = threads, .text_path = pos[1],
                     .save_path = save_logits, .kl_base = kl_base});
        return 0;
    }
    const int stride = stride_flag ? static_cast<int>(stride_flag) : ctx / 2;
    if (stride > ctx) fail("--stride: ", stride, " is larger than the context of ", ctx);

    // With --separator, as lm train --separator saw its corpus: documents ending in EOS.
    const std::vector<int32_t> encoded =
        separator.empty() ? tok.encode(text, true) : encode_documents(tok, text, separator);
    std::vector<int> ids(encoded.begin(), encoded.end());
    if (ids.size() < 2) fail(pos[1], ": the text has fewer than 2 tokens");
    const int n = static_cast<int>(ids.size()), vocab = model->vocab_size();
    std::vector<float> logits(static_cast<size_t>(ctx) * vocab);
    double total = 0;
    int64_t scored = 0;
    int done = 1;  // tokens [0, done) are scored (the first one has no context)
    for (int begin = 0; done < n; begin += stride) {
        const int end = std::min(begin + ctx, n);
        model->forward(&ids[begin], end - begin, 0, threads, logits.data());
        for (int t = std::max(done, begin + 1); t < end; ++t) {
            total += nll(&logits[static_cast<size_t>(t - begin - 1) * vocab], vocab, ids[t]);
            ++scored;
        }
        done = end;
        if (end == n) break;
    }
    const double mean = total / scored;
    std::printf("tokens %lld, bytes %zu, ctx %d, stride %d\n", static_cast<long long>(scored), text.size(), ctx, stride);
    std::printf("nll per token %.4f, perplexity %.4f, bits per byte %.4f\n", mean, std::exp(mean),
                total / std::log(2.0) / static_cast<double>(text.size()));
    return 0;
}

}  // namespace lm
