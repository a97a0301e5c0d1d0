// Sampler: each filter's effect on a hand-made distribution, and seeded determinism.
#include <cmath>
#include <map>

#include "src/models/sampler.h"
#include "tests/testing.h"

using namespace lm;

namespace {
// Draw `n` samples and count each id.
std::map<int, int> draw(SamplerParams p, const std::vector<float>& logits, int n) {
    Sampler s(p, static_cast<int>(logits.size()));
    std::map<int, int> counts;
    for (int i = 0; i < n; ++i) {
        std::vector<float> l = logits;
        ++counts[s.sample(l.data(), {})];
    }
    return counts;
}
}  // namespace

TEST_SUITE("sampler") {

TEST_CASE("temperature 0 is argmax, whatever the other settings") {
    SamplerParams p;
    p.temperature = 0;
    std::vector<float> l = {0.1f, 2.0f, 1.9f, -3.0f};
    Sampler s(p, 4);
    CHECK(s.sample(l.data(), {}) == 1);
}

TEST_CASE("probabilities follow softmax(logits / T) with no filters") {
    SamplerParams p;
    p.temperature = 0.5f;
    p.top_k = 0;
    p.top_p = 1;
    p.min_p = 0;
    p.seed = 7;
    const std::vector<float> logits = {0.0f, std::log(2.0f) * 0.5f, std::log(3.0f) * 0.5f};  // at T=0.5: 1:2:3
    const int n = 60000;
    auto counts = draw(p, logits, n);
    CHECK(std::fabs(counts[0] / double(n) - 1 / 6.0) < 0.01);
    CHECK(std::fabs(counts[1] / double(n) - 2 / 6.0) < 0.01);
    CHECK(std::fabs(counts[2] / double(n) - 3 / 6.0) < 0.01);
}

TEST_CASE("top-k, top-p and min-p cut the tail") {
    const std::vector<float> logits = {3.0f, 2.0f, 1.0f, 0.0f, -1.0f};  // probs .64 .24 .09 .03 .01
    SamplerParams p;
    p.temperature = 1;
    p.top_p = 1;
    p.min_p = 0;
    p.top_k = 2;
    auto k = draw(p, logits, 5000);
    CHECK(k.size() == 2);
    CHECK((k.count(0) && k.count(1)));
    p.top_k = 0;
    p.top_p = 0.7f;  // .64 < .7 <= .88: two tokens
    auto tp = draw(p, logits, 5000);
    CHECK(tp.size() == 2);
    p.top_p = 1;
    p.min_p = 0.1f;  // keep p >= 0.064: three tokens
    auto mp = draw(p, logits, 5000);
    CHECK(mp.size() == 3);
    CHECK(!mp.count(3));
}

TEST_CASE("the same seed gives the same sequence; another seed another one") {
    std::vector<float> logits(50);
    for (int i = 0; i < 50; ++i) logits[i] = std::sin(i * 1.7f);
    SamplerParams p;
    p.temperature = 1.5f;
    p.top_k = 0;
    p.top_p = 1;
    p.min_p = 0;
    auto run = [&](uint64_t seed) {
        p.seed = seed;
        Sampler s(p, 50);
        std::vector<int> out;
        for (int i = 0; i < 40; ++i) {
            std::vector<float> l = logits;
            out.push_back(s.sample(l.data(), {}));
        }
        return out;
    };
    CHECK(run(1) == run(1));
    CHECK(run(1) != run(2));
}

TEST_CASE("repetition penalty divides positive and multiplies negative logits of recent tokens") {
    SamplerParams p;
    p.temperature = 0;
    p.repeat_penalty = 2.0f;
    p.repeat_last_n = 2;
    Sampler s(p, 4);
    std::vector<float> l = {1.0f, 1.5f, -1.0f, 1.2f};
    // token 1 was seen recently: 1.5 / 2 = 0.75 loses to 1.2; token 2 (older than the window) untouched
    CHECK(s.sample(l.data(), {2, 0, 1}) == 3);
    CHECK(l[1] == doctest::Approx(0.75f));
    CHECK(l[0] == doctest::Approx(0.5f));
    CHECK(l[2] == doctest::Approx(-1.0f));
}

}
