// Learning-rate schedule, token split, batch sampling and validation loss (data.h).
#include "src/train/data.h"

#include <algorithm>
#include <cmath>

#include "weights/error.h"

namespace lm {

float learning_rate(const LrSchedule& s, int step) {
    if (step < s.warmup) return s.lr * (step + 1) / s.warmup;
    if (step >= s.iters) return s.min_lr;
    const double progress = s.iters > s.warmup ? double(step - s.warmup) / (s.iters - s.warmup) : 1.0;
    return s.min_lr + 0.5f * (s.lr - s.min_lr) * static_cast<float>(1.0 + std::cos(M_PI * progress));
}

uint64_t Rng::next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// Rejection sampling keeps every value equally likely.
uint64_t Rng::below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
}

TokenSplit split_tokens(std::span<const int> tokens, double val_fraction, int T) {
    const size_t n_val = static_cast<size_t>(tokens.size() * val_fraction);
    const size_t n_train = tokens.size() - n_val, need = static_cast<size_t>(T) + 1;
    if (n_train < need || n_val < need)
        fail("corpus has ", tokens.size(), " tokens; training on windows of ", need, " needs at least ",
             (size_t)std::ceil(need / std::min(val_fraction, 1 - val_fraction)), " for a ",
             (int)std::lround(100 * (1 - val_fraction)), "/", (int)std::lround(100 * val_fraction), " split");
    return {tokens.first(n_train), tokens.subspan(n_train)};
}

void sample_batch(std::span<const int> tokens, int B, int T, Rng& rng, int* inputs, int* targets) {
    const uint64_t starts = tokens.size() - T;  // windows of T + 1 tokens
    for (int b = 0; b < B; ++b) {
        const size_t s = rng.below(starts);
        for (int t = 0; t < T; ++t) {
            inputs[b * T + t] = tokens[s + t];
            targets[b * T + t] = tokens[s + t + 1];
        }
    }
}

float evaluate_loss(TrainModel& model, std::span<const int> tokens, int max_batches) {
    const int B = model.B, T = model.T;
    std::vector<int> inputs((size_t)B * T), targets((size_t)B * T);
    const size_t windows = tokens.size() > (size_t)T ? (tokens.size() - 1) / T : 0;
    if (!windows) fail("validation set of ", tokens.size(), " tokens is shorter than one window of ", T + 1);
    double sum = 0;
    size_t counted = 0;
    for (size_t w = 0; w < windows && w / B < (size_t)max_batches; w += B) {
        // A last, partial batch is padded with rows whose targets do not count.
        for (int b = 0; b < B; ++b)
            for (int t = 0; t < T; ++t) {
                const bool real = w + b < windows;
                inputs[b * T + t] = real ? tokens[(w + b) * T + t] : 0;
                targets[b * T + t] = real ? tokens[(w + b) * T + t + 1] : IGNORE_INDEX;
            }
        const size_t rows = std::min<size_t>(B, windows - w);
        sum += (double)train_forward(model, inputs.data(), targets.data()) * rows;  // mean over rows * T tokens
        counted += rows;
    }
    return static_cast<float>(sum / counted);
}

}  // namespace lm
