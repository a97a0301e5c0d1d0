// lm eval --chunks / --save-logits / --kl-divergence: perplexity as llama.cpp's
// llama-perplexity computes it, and the KL divergence of a model's next-token distributions
// from a base model's, with llama-perplexity's --kl-divergence-base file format, so that
// either program reads the other's file.
//
// The method: the text's tokens (BOS first when the vocabulary adds one) are cut into
// non-overlapping chunks of ctx tokens (a rest shorter than ctx is dropped); each chunk runs
// from position 0 with its first token replaced by BOS, and only the predictions of its
// second half are scored: positions ctx/2 .. ctx-2, each predicting the next token.
#include "src/eval/chunks.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "weights/error.h"
#include "weights/files.h"
#include "weights/quant.h"

namespace lm {

namespace {

constexpr char kMagic[8] = {'_', 'l', 'o', 'g', 'i', 't', 's', '_'};

// uint16 words per scored position in the file: two floats (scale, min log-prob) in four
// words, then one word per vocabulary entry, padded to an even count.
size_t words_per_position(int vocab) { return 2 * ((static_cast<size_t>(vocab) + 1) / 2) + 4; }

struct Softmax {
    float max;         // largest logit
    int argmax;        // its index (the first on ties)
    double log_sum;    // log sum exp(logit - max)
};

Softmax softmax_of(const float* logits, int vocab) {
    Softmax s{logits[0], 0, 0};
    for (int v = 1; v < vocab; ++v)
        if (logits[v] > s.max) s.max = logits[v], s.argmax = v;
    double sum = 0;
    for (int v = 0; v < vocab; ++v) sum += std::exp(logits[v] - s.max);
    s.log_sum = std::log(sum);
    return s;
}

// llama-perplexity's compression of log-probabilities: logits more than 16 below the top
// one are clamped there, the rest mapped linearly onto 0..65535.
void compress(const float* logits, int vocab, const Softmax& s, uint16_t* out) {
    float min = logits[0];
    for (int v = 1; v < vocab; ++v) min = std::min(min, logits[v]);
    min = std::max(min, s.max - 16);
    const float min_log_prob = min - s.max - static_cast<float>(s.log_sum);
    const float scale = (s.max - min) / 65535.f;
    std::memcpy(out, &scale, 4);
    std::memcpy(out + 2, &min_log_prob, 4);
    out += 4;
    std::fill(out, out + (words_per_position(vocab) - 4), 0);
    if (scale == 0) return;
    const float inv = 1 / scale;
    for (int v = 0; v < vocab; ++v)
        out[v] = logits[v] > min ? static_cast<uint16_t>(nearest_int(inv * (logits[v] - min))) : 0;
}

// What the base model's file holds, read fully up front (checked against its size first).
struct BaseLogits {
    int ctx = 0, vocab = 0, chunks = 0;
    std::vector<int32_t> tokens;
    std::FILE* f = nullptr;
    ~BaseLogits() {
        if (f) std::fclose(f);
    }
};

void read_exact(std::FILE* f, void* p, size_t n, const std::string& path) {
    if (std::fread(p, 1, n, f) != n) fail(path, ": truncated logits file");
}

// Opens a logits file and reads its magic and the header {ctx, vocab, chunks}.
std::FILE* open_logits(const std::string& path, int32_t* header) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) fail(path, ": cannot open: ", std::strerror(errno));
    char magic[8];
    if (std::fread(magic, 1, 8, f) != 8 || std::memcmp(magic, kMagic, 8) != 0 || std::fread(header, 4, 3, f) != 3) {
        std::fclose(f);
        fail(path, ": not a logits file (lm eval --save-logits or llama-perplexity --kl-divergence-base)");
    }
    return f;
}

void open_base(const std::string& path, int model_context, int vocab, BaseLogits& b) {
    int32_t header[3];
    b.f = open_logits(path, header);
    b.ctx = header[0], b.vocab = header[1], b.chunks = header[2];
    if (b.vocab != vocab)
        fail(path, ": logits of a model with a vocabulary of ", b.vocab, " tokens; this model has ", vocab);
    if (b.ctx < 4 || b.ctx > model_context || b.chunks < 1)
        fail(path, ": context ", b.ctx, " and ", b.chunks, " chunks do not fit this model's context of ", model_context);
    const uint64_t scored = static_cast<uint64_t>(b.ctx - 1 - b.ctx / 2);
    const uint64_t want = 8 + 12 + 4ull * b.ctx * b.chunks + 2ull * b.chunks * scored * words_per_position(vocab);
    const int64_t size = files::size(path);
    if (size < 0 || static_cast<uint64_t>(size) != want)
        fail(path, ": ", size < 0 ? 0 : size, " bytes, not the ", want, " its header describes");
    b.tokens.resize(static_cast<size_t>(b.ctx) * b.chunks);
    read_exact(b.f, b.tokens.data(), b.tokens.size() * 4, path);
}

// The output file, written as a temporary renamed into place at the end.
struct LogitsOut {
    std::string path, tmp;
    std::FILE* f = nullptr;
    void write(const void* p, size_t n) {
        if (std::fwrite(p, 1, n, f) != n) fail(path, ": write failed: ", std::strerror(errno));
    }
    void finish() {
        const bool ok = std::fflush(f) == 0;
        const int error = errno;
        std::fclose(f);
        f = nullptr;
        if (!ok) fail(path, ": write failed: ", std::strerror(error));
        if (const std::string error = files::rename(tmp, path); !error.empty())
            fail(path, ": cannot rename temporary file: ", error);
    }
    ~LogitsOut() {
        if (f) {
            std::fclose(f);
            std::remove(tmp.c_str());
        }
    }
};

// Mean and its standard error, as llama-perplexity reports them.
std::pair<double, double> mean_and_error(double sum, double sum2, size_t count) {
    const double mean = sum / count;
    const double var = sum2 / count - mean * mean;
    return {mean, var > 0 && count > 1 ? std::sqrt(var / (count - 1)) : 0.0};
}

// llama-perplexity's percentile: linear between the neighbouring sorted values.
double percentile(const std::vector<float>& sorted, double fraction) {
    const double p = fraction * (sorted.size() - 1);
    const size_t i = static_cast<size_t>(p);
    const double t = p - i;
    return (1 - t) * sorted[i] + t * sorted[std::min(i + 1, sorted.size() - 1)];
}

}  // namespace

int saved_logits_context(const std::string& path) {
    int32_t header[3];
    std::fclose(open_logits(path, header));
    return header[0];
}

void eval_chunks(Decoder& model, const Tokenizer& tok, const std::string& text, const ChunkOptions& o) {
    const std::vector<int32_t> encoded = tok.encode(text, true);
    const int vocab = model.vocab_size();
    BaseLogits base;
    int ctx = o.ctx;
    if (!o.kl_base.empty()) {
        open_base(o.kl_base, model.context(), vocab, base);
        if (o.ctx_given && o.ctx != base.ctx)
            fail("--ctx: ", o.ctx, " differs from the context of ", base.ctx, " that ", o.kl_base, " was computed with");
        ctx = base.ctx;
    }
    if (static_cast<int64_t>(encoded.size()) < 2 * static_cast<int64_t>(ctx))
        fail(o.text_path, ": ", encoded.size(), " tokens; --chunks needs at least 2 x ctx = ", 2 * ctx);
    const int chunks = base.f ? base.chunks : static_cast<int>(encoded.size() / ctx);
    if (base.f) {
        if (static_cast<size_t>(chunks) * ctx > encoded.size() ||
            !std::equal(base.tokens.begin(), base.tokens.end(), encoded.begin()))
            fail(o.kl_base, ": its tokens are not this text's (another text, or another model's tokenizer)");
    }
    const int first = ctx / 2, scored = ctx - 1 - first;
    const size_t words = words_per_position(vocab);

    LogitsOut out;
    if (!o.save_path.empty()) {
        out.path = o.save_path, out.tmp = o.save_path + ".tmp";
        out.f = std::fopen(out.tmp.c_str(), "wb");
        if (!out.f) fail(o.save_path, ": cannot write: ", std::strerror(errno));
        const int32_t header[3] = {ctx, vocab, chunks};
        out.write(kMagic, 8);
        out.write(header, sizeof header);
        out.write(encoded.data(), static_cast<size_t>(chunks) * ctx * 4);
    }

    std::vector<float> logits(static_cast<size_t>(ctx) * vocab);
    std::vector<uint16_t> packed(static_cast<size_t>(scored) * words);  // the base's, per chunk
    std::vector<uint16_t> saved(out.f ? packed.size() : 0);             // this model's
    std::vector<int> ids(ctx);
    std::vector<float> kl_values;
    double nll = 0, nll2 = 0, nll_base = 0, kl = 0, kl2 = 0;
    size_t count = 0, same_top = 0;
    for (int c = 0; c < chunks; ++c) {
        std::copy(encoded.begin() + static_cast<size_t>(c) * ctx, encoded.begin() + static_cast<size_t>(c + 1) * ctx,
                  ids.begin());
        if (tok.add_bos() && tok.bos() >= 0) ids[0] = tok.bos();
        model.forward(ids.data(), ctx, 0, o.threads, logits.data());
        if (base.f) read_exact(base.f, packed.data(), packed.size() * 2, o.kl_base);
        for (int j = first; j < ctx - 1; ++j) {
            const float* l = &logits[static_cast<size_t>(j) * vocab];
            const int target = encoded[static_cast<size_t>(c) * ctx + j + 1];
            const Softmax s = softmax_of(l, vocab);
            const double v = s.max + s.log_sum - l[target];
            nll += v, nll2 += v * v;
            if (out.f) compress(l, vocab, s, &saved[static_cast<size_t>(j - first) * words]);
            if (base.f) {
                const uint16_t* q = &packed[static_cast<size_t>(j - first) * words];
                // KL(base || model) = sum_v p_base (log p_base - log p_model), over the base
                // probabilities above e^-16 (the rest were clamped in the file).
                float scale, min_log_prob;
                std::memcpy(&scale, q, 4);
                std::memcpy(&min_log_prob, q + 2, 4);
                const uint16_t* lp = q + 4;
                nll_base += -(scale * lp[target] + min_log_prob);
                double sum = 0;
                int base_top = 0;
                float base_top_lp = 0;
                for (int u = 0; u < vocab; ++u) {
                    const float lpb = scale * lp[u] + min_log_prob;
                    if (u == 0 || lpb > base_top_lp) base_top_lp = lpb, base_top = u;
                    if (lpb > -16.f) sum += std::exp(lpb) * (lpb - (l[u] - s.max - s.log_sum));
                }
                kl += sum, kl2 += sum * sum;
                kl_values.push_back(static_cast<float>(sum));
                same_top += base_top == s.argmax;
            }
            ++count;
        }
        if (out.f) out.write(saved.data(), saved.size() * 2);
        if (o.progress) std::fprintf(stderr, "[%d]%.4f%s", c + 1, std::exp(nll / count), c + 1 == chunks ? "\n" : ",");
    }
    if (out.f) out.finish();

    const auto [mean, err] = mean_and_error(nll, nll2, count);
    std::printf("chunks %d x %d tokens, the second half of each scored: %zu tokens (llama-perplexity's method)\n",
                chunks, ctx, count);
    std::printf("perplexity %.4f +/- %.5f\n", std::exp(mean), std::exp(mean) * err);
    if (!o.save_path.empty()) std::printf("saved log-probabilities to %s\n", o.save_path.c_str());
    if (base.f) {
        std::sort(kl_values.begin(), kl_values.end());
        const auto [kl_mean, kl_err] = mean_and_error(kl, kl2, count);
        const double top = static_cast<double>(same_top) / count;
        std::printf("base perplexity %.4f (%s)\n", std::exp(nll_base / count), o.kl_base.c_str());
        std::printf("KL divergence: mean %.6f +/- %.6f, median %.6f, 99th percentile %.6f, max %.6f\n", kl_mean, kl_err,
                    percentile(kl_values, 0.5), percentile(kl_values, 0.99), kl_values.back());
        std::printf("same top token: %.3f +/- %.3f %% (%zu of %zu)\n", 100 * top,
                    count > 1 ? 100 * std::sqrt(top * (1 - top) / (count - 1)) : 0.0, same_top, count);
    }
}

}  // namespace lm
