// Picks the next token from logits: repetition penalty, then greedy (temp <= 0) or
// top-k -> top-p -> min-p filtering of the softmax, temperature, and a seeded draw.
#pragma once
#include <cstdint>
#include <vector>

namespace lm {

struct SamplerParams {
    float temperature = 0.8f;
    int top_k = 40;          // <= 0: all tokens
    float top_p = 0.95f;     // 1: off
    float min_p = 0.05f;     // 0: off; relative to the most likely token
    float repeat_penalty = 1.0f;
    int repeat_last_n = 64;
    uint64_t seed = 0;
};

class Sampler {
public:
    Sampler(const SamplerParams& params, int vocab_size);
    // May modify logits (penalty). `history` is every token so far, prompt included.
    int sample(float* logits, const std::vector<int>& history);

private:
    float next_uniform();  // [0, 1)

    SamplerParams p_;
    uint64_t rng_state_;
    struct Candidate {
        float logit;
        int id;
    };
    std::vector<Candidate> candidates_;  // allocated once
};

}  // namespace lm
