// The pieces of a training run around the model: the learning-rate schedule, the train /
// validation split of a token stream, random batches from a seeded generator whose whole
// state is one integer (so a checkpoint can store it and --resume continue bit for bit), and
// the validation loss.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "src/train/model.h"

namespace lm {

// Linear warmup from lr/warmup to lr over the first `warmup` steps, then cosine decay to
// min_lr at step `iters` (Loshchilov & Hutter, SGDR, without restarts); min_lr afterwards.
struct LrSchedule {
    float lr = 1e-3f, min_lr = 1e-4f;
    int warmup = 0, iters = 1;
};
float learning_rate(const LrSchedule& schedule, int step);  // step counts from 0

// splitmix64 (Steele et al. 2014): the state is the whole generator.
struct Rng {
    uint64_t state = 0;
    uint64_t next();
    uint64_t below(uint64_t n);  // uniform in [0, n), n > 0
};

// Views of one token stream (a mapped token file, or a vector that outlives them).
struct TokenSplit {
    std::span<const int> train, val;
};
// The first (1 - val_fraction) of the stream trains, the rest validates; both must hold at
// least one window of T + 1 tokens. Throws lm::Error saying how many tokens were needed.
TokenSplit split_tokens(std::span<const int> tokens, double val_fraction, int T);

// B windows of T + 1 tokens at random offsets: inputs[b, t] = w[t], targets[b, t] = w[t + 1].
void sample_batch(std::span<const int> tokens, int B, int T, Rng& rng, int* inputs, int* targets);

// Mean loss over consecutive windows of T + 1 tokens (stride T), at most max_batches batches
// of the model's B x T; a last partial batch is padded with ignored rows. Grads are untouched,
// activations overwritten: call it between steps, not between a forward and its backward.
float evaluate_loss(TrainModel& model, std::span<const int> tokens, int max_batches);

}  // namespace lm
