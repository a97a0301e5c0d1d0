// lm bench MODEL... [-p 128] [-n 128] [-t 1,2] [-r 3] [--roofline] [--isa NAME]: prompt
// processing (pp) and decode (tg) tokens/s as a markdown table, like llama-bench. With
// --roofline, also this machine's read bandwidth and fp32 FMA peak, and each result as a
// share of its roofline; --isa runs the matmul kernels of a lower ISA level (avx2 on an
// AVX-512 machine, say) to compare levels on one CPU.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

#include <fcntl.h>
#include <unistd.h>

#include "src/cli/cli.h"
#include "src/models/config.h"
#include "src/models/model.h"
#include "simd/kernels.h"
#include "simd/matmul.h"
#include "simd/peak.h"
#include "weights/error.h"
#include "weights/files.h"

namespace lm {

namespace {

std::vector<int> parse_threads(const std::string& list) {
    std::vector<int> out;
    for (const std::string& item : files::split(list, ',')) {
        char* end = nullptr;
        long t = std::strtol(item.c_str(), &end, 10);
        if (item.empty() || *end || t < 1 || t > 1024) fail("-t: '", list, "' is not a list of thread counts 1..1024");
        out.push_back(static_cast<int>(t));
    }
    if (out.empty()) fail("-t: empty list");
    return out;
}

struct Stats {
    double mean = 0, sd = 0;
};
Stats stats(const std::vector<double>& xs) {
    Stats s;
    for (double x : xs) s.mean += x / xs.size();
    for (double x : xs) s.sd += (x - s.mean) * (x - s.mean);
    s.sd = xs.size() > 1 ? std::sqrt(s.sd / (xs.size() - 1)) : 0;
    return s;
}

double seconds(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// What the model costs per token: bytes of weights read in decode (the embedding contributes
// one row) and FLOPs of the matmuls (2 per weight) in prompt processing, where the classifier
// runs once per prompt (for the last position's logits) and the other matmuls once per token.
struct Cost {
    double weight_bytes = 0, params = 0, body_flops = 0, head_flops = 0, file_bytes = 0;
    std::string types;
};
Cost model_cost(const ModelFile& f) {
    Cost cost;
    std::map<std::string, double> by_type;
    for (const Tensor& t : f.tensors) {
        cost.params += t.count();
        cost.file_bytes += t.nbytes;
        if (t.n_dims == 2) by_type[dtype_name(t.type)] += t.nbytes;
        if (t.name == "token_embd.weight") {
            cost.weight_bytes += static_cast<double>(t.nbytes) / t.rows();
            continue;
        }
        cost.weight_bytes += t.nbytes;
        if (t.n_dims == 2) (t.name == "output.weight" ? cost.head_flops : cost.body_flops) += 2.0 * t.count();
    }
    if (!f.find("output.weight")) {  // tied classifier reads the embedding in full
        const Tensor& e = f.get("token_embd.weight");
        cost.weight_bytes += e.nbytes;
        cost.head_flops += 2.0 * e.count();
    }
    for (const auto& [name, bytes] : by_type)
        if (bytes > 0.05 * cost.file_bytes) cost.types += (cost.types.empty() ? "" : "+") + name;
    return cost;
}

// The file's pages leave the page cache (those no process maps), so the next load reads it
// from the disk: a cold start without root or drop_caches. A file that cannot be opened is
// left to the load that follows, which names the reason.
void drop_from_page_cache(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
}

// This process's peak resident memory in bytes (VmHWM), and a new start for it (Linux
// clear_refs 5; where that is refused the peak stays the process's own since it began).
size_t peak_rss() {
    std::string status;
    if (!files::read("/proc/self/status", status)) return 0;
    const size_t at = status.find("VmHWM:");
    return at == std::string::npos ? 0 : std::strtoull(status.c_str() + at + 6, nullptr, 10) * 1024;
}
void reset_peak_rss() { files::write("/proc/self/clear_refs", "5"); }

// Time from opening the file to the first token's logits (one token at position 0).
double time_to_first_token(const std::string& path, const DecoderOptions& options, int threads) {
    const auto t0 = std::chrono::steady_clock::now();
    ModelFile file = load_model(path);
    auto model = load_decoder(file, options);
    const int token = 1;
    model->forward(&token, 1, 0, threads);
    return seconds(t0);
}

}  // namespace

const char* const kBenchHelp =
    "usage: lm bench MODEL... [options]\n"
    "Prompt processing (pp: -p tokens in one batch) and decode (tg: -n tokens one at a time) speed\n"
    "in tokens/s as a markdown table, mean ± sd over the repetitions, as llama-bench prints it. A\n"
    "test of N tokens needs N positions of the model's context.\n"
    "  -p, --n-prompt N       prompt tokens (128; 0 = no pp test)\n"
    "  -n, --n-gen N          decoded tokens (128; 0 = no tg test)\n"
    "  -r, --repetitions N    runs of each test (3)\n"
    "  -t, --threads LIST     thread counts, comma separated (this machine's physical cores)\n" LM_CACHE_TYPES_HELP
    "  --load                 first the time from opening the file to the first token's logits,\n"
    "                         cold (the file dropped from the page cache first) and warm, and\n"
    "                         the peak resident memory of the cold start\n"
    "  --roofline             also this machine's read bandwidth and fp32 FMA peak, and each\n"
    "                         result as % of its roofline\n"
    "  --isa NAME             the matmul kernels of this level: scalar, avx2, avx512, amx, neon,\n"
    "                         neon-dotprod (the best this CPU reaches; lm --version lists them)\n"
    "example:\n"
    "  lm bench model.gguf -p 128 -n 128 -t 1,2 -r 3 --roofline\n";

int cmd_bench(Args& args) {
    const int n_prompt = static_cast<int>(args.integer({"-p", "--n-prompt"}, 128, 0, 1 << 16));
    const int n_gen = static_cast<int>(args.integer({"-n", "--n-gen"}, 128, 0, 1 << 16));
    const int reps = static_cast<int>(args.integer({"-r", "--repetitions"}, 3, 1, 1000));
    const std::vector<int> thread_counts = parse_threads(args.text({"-t", "--threads"}, std::to_string(default_threads())));
    const bool roofline = args.flag({"--roofline"});
    const bool load = args.flag({"--load"});
    const std::string isa = args.text({"--isa"}, "");
    DecoderOptions options;
    read_cache_types(args, options);
    const auto models = args.positional(1, 1000, "lm bench MODEL... [-p N] [-n N] [-t 1,2] [-r N] [--load] [--roofline] [--isa NAME]");
    if (!isa.empty()) {
        if (!force_matmul_isa(isa)) fail("--isa: '", isa, "' is not an ISA level this CPU runs (scalar, avx2, avx512, amx, neon, neon-dotprod)");
        std::printf("matmul kernels: %s (--isa)\n\n", isa.c_str());
    } else if (std::getenv("LM_ISA")) {
        std::printf("matmul kernels: %s (LM_ISA)\n\n", simd::isa_name(simd::active_isa()));
    }

    std::map<int, double> bandwidth, peak;
    if (roofline) {
        std::printf("| threads | read bandwidth (GB/s, 2 GiB buffer) | fp32 FMA peak (GFLOP/s) |\n|---|---|---|\n");
        for (int t : thread_counts) {
            bandwidth[t] = measure_read_bandwidth(size_t{2} << 30, t, 5);
            peak[t] = measure_fma_peak(t);
            std::printf("| %d | %.1f | %.1f |\n", t, bandwidth[t] / 1e9, peak[t] / 1e9);
        }
        std::printf("\n");
    }
    if (load) {
        std::printf("| model | size (MiB) | threads | first token, cold (ms) | first token, warm (ms) | peak RSS, cold (MiB) |\n");
        std::printf("|---|---|---|---|---|---|\n");
        for (const std::string& path : models) {
            DecoderOptions first = options;
            first.context = std::min(std::max({n_prompt, n_gen, 1}), 2048);
            first.max_batch = 1;
            drop_from_page_cache(path);
            reset_peak_rss();
            const double cold = time_to_first_token(path, first, thread_counts.back());
            const size_t rss = peak_rss();
            const double warm = time_to_first_token(path, first, thread_counts.back());
            std::printf("| %s | %.1f | %d | %.1f | %.1f | %.1f |\n", path.substr(path.find_last_of('/') + 1).c_str(),
                        files::size(path) / 1048576.0, thread_counts.back(), 1e3 * cold, 1e3 * warm,
                        rss / 1048576.0);
            std::fflush(stdout);
        }
        std::printf("\n");
    }
    std::printf("| model | types | size (MiB) | params (M) | threads | test | t/s |%s\n", roofline ? " roofline t/s | % of roofline |" : "");
    std::printf("|---|---|---|---|---|---|---|%s\n", roofline ? "---|---|" : "");
    std::fflush(stdout);
    for (const std::string& path : models) {
        ModelFile file = load_model(path);
        const Config config = read_config(file);
        // A test of N tokens runs at positions 0..N-1 (the decode test starts anew at 0).
        const int context = std::max({n_prompt, n_gen, 1});
        if (context > config.context_length)
            fail(path, ": ", n_prompt >= n_gen ? "-p " : "-n ", context, " needs ", context,
                 " positions, more than the model's context of ", config.context_length);
        options.context = context, options.max_batch = std::max(1, n_prompt);
        auto model = load_decoder(file, options);
        const Cost cost = model_cost(file);
        std::vector<int> tokens(std::max(n_prompt, n_gen));
        uint64_t state = 12345;
        for (int& t : tokens) t = static_cast<int>((state = state * 6364136223846793005ull + 1442695040888963407ull) >> 33) % config.vocab_size;
        std::string name = path.substr(path.find_last_of('/') + 1);
        model->forward(tokens.data(), std::min(n_prompt > 0 ? n_prompt : 1, 16), 0, thread_counts.back());  // page in weights

        for (int threads : thread_counts) {
            for (int test = 0; test < 2; ++test) {
                const int n = test == 0 ? n_prompt : n_gen;
                if (n == 0) continue;
                std::vector<double> rates;
                for (int r = 0; r < reps; ++r) {
                    const auto t0 = std::chrono::steady_clock::now();
                    if (test == 0) model->forward(tokens.data(), n, 0, threads);
                    else
                        for (int i = 0; i < n; ++i) model->forward(&tokens[i], 1, i, threads);
                    rates.push_back(n / seconds(t0));
                }
                const Stats s = stats(rates);
                std::printf("| %s | %s | %.1f | %.2f | %d | %s%d | %.2f ± %.2f |", name.c_str(), cost.types.c_str(),
                            cost.file_bytes / 1048576.0, cost.params / 1e6, threads, test == 0 ? "pp" : "tg", n, s.mean, s.sd);
                if (roofline) {
                    // Decode reads every weight once per token (plus the f16 KV cache, about
                    // half full on average); prompt processing is bound by FMA throughput, its
                    // FLOPs per token being the body's, attention's and 1/n of the classifier's.
                    const double kv_bytes = 2.0 * 2 * config.n_layers * config.kv_dim() * (n / 2.0);
                    const double attn_flops = 4.0 * config.n_layers * config.dim * (n / 2.0);
                    const double limit = test == 0 ? peak[threads] / (cost.body_flops + attn_flops + cost.head_flops / n)
                                                   : bandwidth[threads] / (cost.weight_bytes + kv_bytes);
                    std::printf(" %.2f | %.1f %% |", limit, 100.0 * s.mean / limit);
                }
                std::printf("\n");
                std::fflush(stdout);
            }
        }
    }
    return 0;
}

}  // namespace lm
