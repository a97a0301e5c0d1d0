// lm eval --chunks / --save-logits / --kl-divergence against llama.cpp's llama-perplexity
// (issue 16, item 4). The reference figures were measured with llama-perplexity (llama.cpp
// 2025, CPU) on the same models and the first bytes of the shared stories corpus:
//   llama-perplexity -m stories260K-F32.gguf -f 6000-bytes -c 128  -> Final estimate: PPL = 3.2695
//   llama-perplexity -m rq-F32.gguf -f 3000-bytes -c 64 --kl-divergence-base base.bin, then
//   llama-perplexity -m rq-Q4_K_M.gguf ... --kl-divergence      -> Mean KLD 0.001740,
//       99.0% KLD 0.002884, Same top p 92.669 %, Mean PPL(base) 539.808779
// (Small on purpose: these run under qemu too. On 20,000 bytes: 3.2037 in both programs.)
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/lm_process.h"

using namespace lm;

namespace {

// The number after `label` in lm's output, NaN when absent.
double value_after(const std::string& out, const std::string& label) {
    const size_t at = out.find(label);
    return at == std::string::npos ? NAN : std::strtod(out.c_str() + at + label.size(), nullptr);
}

std::string stories_text(size_t bytes) {
    const std::string src = testing::shared_file("corpora/stories-260K-samples.txt");
    if (src.empty()) return "";
    const std::string path = testing::temp_path("stories-" + std::to_string(bytes) + ".txt");
    std::ofstream(path, std::ios::binary) << testing::read_file_bytes(src).substr(0, bytes);
    return path;
}

}  // namespace

TEST_SUITE("eval cli") {

TEST_CASE("eval --chunks: llama-perplexity's perplexity, within 0.1 %") {
    const std::string model = testing::shared_file("models/stories260K/stories260K-F32.gguf");
    const std::string text = stories_text(6000);
    if (model.empty() || text.empty()) return;
    const testing::LmResult r = testing::run_lm("eval " + model + " " + text + " --chunks -c 128 -t 2");
    INFO(r.out, r.err);
    REQUIRE(r.status == 0);
    CHECK(value_after(r.out, "chunks ") == 21);
    CHECK(r.out.find("1323 tokens") != std::string::npos);  // 21 x (128 - 1 - 64)
    const double ppl = value_after(r.out, "perplexity ");
    MESSAGE("stories260K -c 128: lm ", ppl, ", llama-perplexity 3.2695");
    CHECK(std::fabs(ppl / 3.2695 - 1) < 1e-3);
}

TEST_CASE("eval --save-logits then --kl-divergence: llama-perplexity's KL divergence of Q4_K_M from F32") {
    const std::string f32 = testing::shared_file("models/tiny-random/rq-F32.gguf");
    const std::string q4 = testing::shared_file("models/tiny-random/rq-Q4_K_M.gguf");
    const std::string text = stories_text(3000);
    if (f32.empty() || q4.empty() || text.empty()) return;
    const std::string base = testing::temp_path("rq-f32.kld");
    std::filesystem::remove(base);
    const testing::LmResult saved = testing::run_lm("eval " + f32 + " " + text + " -c 64 -t 2 --save-logits " + base);
    INFO(saved.out, saved.err);
    REQUIRE(saved.status == 0);
    // llama-perplexity's format: magic, ctx, vocab, chunks, tokens, then per scored position
    // two floats and one uint16 per vocabulary entry.
    CHECK(std::filesystem::file_size(base) == 8 + 12 + 4ull * 64 * 22 + 2ull * 22 * 31 * (512 + 4));
    CHECK(std::fabs(value_after(saved.out, "perplexity ") / 539.8088 - 1) < 1e-3);

    const testing::LmResult self = testing::run_lm("eval " + f32 + " " + text + " -t 2 --kl-divergence " + base);
    REQUIRE(self.status == 0);
    CHECK(value_after(self.out, "KL divergence: mean ") < 1e-6);
    CHECK(value_after(self.out, "same top token: ") == 100);

    const testing::LmResult r = testing::run_lm("eval " + q4 + " " + text + " -t 2 --kl-divergence " + base);
    INFO(r.out, r.err);
    REQUIRE(r.status == 0);
    const double kl = value_after(r.out, "KL divergence: mean "), p99 = value_after(r.out, "99th percentile ");
    const double top = value_after(r.out, "same top token: ");
    MESSAGE("rq Q4_K_M vs F32: mean KLD ", kl, " (llama.cpp 0.001740), 99% ", p99, " (0.002884), same top ", top,
            " % (92.669)");
    CHECK(std::fabs(kl / 0.001740 - 1) < 0.02);
    CHECK(std::fabs(p99 / 0.002884 - 1) < 0.02);
    CHECK(std::fabs(top - 92.669) < 0.5);
    CHECK(std::fabs(value_after(r.out, "base perplexity ") / 539.8088 - 1) < 1e-3);
}

}  // TEST_SUITE("eval cli")
