#include "src/models/sampler.h"

#include <algorithm>
#include <cmath>

#include "simd/ops.h"

namespace lm {

Sampler::Sampler(const SamplerParams& params, int vocab_size)
    : p_(params), rng_state_(params.seed ^ 0x9E3779B97F4A7C15ull), candidates_(vocab_size) {}

// splitmix64: small, fast, and fully determined by the seed.
float Sampler::next_uniform() {
    uint64_t z = (rng_state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<float>(z >> 40) / static_cast<float>(1ull << 24);
}

int Sampler::sample(float* logits, const std::vector<int>& history) {
    const int n_vocab = static_cast<int>(candidates_.size());
    if (p_.repeat_penalty != 1.0f) {
        // llama.cpp/CTRL convention: shrink positive logits, push negative ones further down.
        const size_t from = history.size() > static_cast<size_t>(p_.repeat_last_n) ? history.size() - p_.repeat_last_n : 0;
        for (size_t i = from; i < history.size(); ++i) {
            const int t = history[i];
            if (t < 0 || t >= n_vocab) continue;
            bool again = false;  // penalize each distinct token once
            for (size_t j = from; j < i; ++j) again |= history[j] == t;
            if (again) continue;
            logits[t] = logits[t] > 0 ? logits[t] / p_.repeat_penalty : logits[t] * p_.repeat_penalty;
        }
    }
    if (p_.temperature <= 0) return argmax(logits, n_vocab);

    for (int i = 0; i < n_vocab; ++i) candidates_[i] = {logits[i], i};
    auto by_logit = [](const Candidate& a, const Candidate& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); };
    int n = n_vocab;
    if (p_.top_k > 0 && p_.top_k < n) {
        std::partial_sort(candidates_.begin(), candidates_.begin() + p_.top_k, candidates_.end(), by_logit);
        n = p_.top_k;
    } else {
        std::sort(candidates_.begin(), candidates_.end(), by_logit);
    }
    // Probabilities of the remaining candidates (sorted, most likely first).
    const float max = candidates_[0].logit;
    double sum = 0;
    for (int i = 0; i < n; ++i) sum += std::exp(static_cast<double>(candidates_[i].logit - max));
    if (p_.top_p < 1.0f) {
        double cum = 0;
        for (int i = 0; i < n; ++i) {
            cum += std::exp(static_cast<double>(candidates_[i].logit - max)) / sum;
            if (cum >= p_.top_p) {
                n = i + 1;
                break;
            }
        }
    }
    if (p_.min_p > 0.0f) {
        // Keep tokens whose probability is at least min_p times the best one's.
        const float cutoff = max + std::log(p_.min_p);
        int keep = 1;
        while (keep < n && candidates_[keep].logit >= cutoff) ++keep;
        n = keep;
    }
    // Temperature applies to what survived the filters, then one draw.
    double total = 0;
    for (int i = 0; i < n; ++i) total += std::exp(static_cast<double>(candidates_[i].logit - max) / p_.temperature);
    const double r = next_uniform() * total;
    double cum = 0;
    for (int i = 0; i < n; ++i) {
        cum += std::exp(static_cast<double>(candidates_[i].logit - max) / p_.temperature);
        if (r < cum) return candidates_[i].id;
    }
    return candidates_[n - 1].id;
}

}  // namespace lm
