// The BERT tasks' batches (src/train/tasks.h): masked-LM masking as BERT does it, [CLS] a [SEP]
// b [SEP] encoding with longest-first truncation, length-bucketed classification batches that
// still visit every example equally often, and QA windows whose targets point at the answer.
#include <algorithm>
#include <map>
#include <set>

#include "src/models/qa.h"
#include "src/train/tasks.h"
#include "tests/testing.h"
#include "weights/error.h"
#include "tokenizer/wordpiece_train.h"

using namespace lm;

namespace {

const char* kText =
    "the cat sat on the mat . the dog sat on the log . a bird flew over the house and the cat saw it .\n"
    "mary went to the kitchen . john moved to the garden . where is mary ? the kitchen .\n";

Tokenizer small_tokenizer() {
    Metadata meta;
    WordPieceTrainOptions options;
    options.vocab_size = 120;
    options.min_frequency = 1;
    train_wordpiece(kText, options, meta);
    return Tokenizer(meta);
}

}  // namespace

TEST_SUITE("train") {
TEST_CASE("masked-LM batches: round(15 %) of each window, 80 % [MASK] / 10 % random / 10 % kept") {
    const Tokenizer tok = small_tokenizer();
    const BertSpecials sp = bert_specials(tok);
    std::vector<int> stream;
    for (int i = 0; i < 50; ++i)
        for (int32_t id : tok.encode(kText, false)) stream.push_back(id);
    const int B = 8, T = 34, W = T - 2, per_row = 5;  // round(0.15 * 32) = 5
    auto task = make_mlm_task(tok, stream, stream, B, T, 2);
    Rng rng{42};
    size_t masked = 0, replaced = 0, kept = 0, total = 0;
    for (int step = 0; step < 300; ++step) {
        const BertBatch& b = task->next_batch(rng);
        REQUIRE(b.B == B);
        REQUIRE(b.T == T);
        REQUIRE(b.n_masked == B * per_row);
        std::set<int> positions;
        for (int j = 0; j < b.n_masked; ++j) {
            const int pos = b.mlm_positions[j], t = pos % T, token = b.tokens[pos], target = b.mlm_targets[j];
            CHECK(positions.insert(pos).second);  // distinct
            CHECK((t >= 1 && t <= W));            // never [CLS] or [SEP]
            CHECK(tok.token_type(target) != TokenType::control);
            if (token == sp.mask) ++masked;
            else if (token == target) ++kept;
            else {
                ++replaced;
                CHECK(tok.token_type(token) != TokenType::control);
            }
            ++total;
        }
        for (int s = 0; s < B; ++s) {
            CHECK(b.tokens[s * T] == sp.cls);
            CHECK(b.tokens[s * T + T - 1] == sp.sep);
            CHECK(b.lengths[s] == T);
        }
    }
    // 12,000 picks: the shares within ~4 standard deviations (a random pick may equal the target).
    CHECK(std::abs((double)masked / total - 0.8) < 0.015);
    CHECK(std::abs((double)replaced / total - 0.1) < 0.012);
    CHECK(std::abs((double)kept / total - 0.1) < 0.015);

    // The same generator state gives the same batch: what --resume relies on.
    Rng a{7}, c{7};
    const BertBatch& first = task->next_batch(a);
    const std::vector<int> tokens(first.tokens, first.tokens + B * T);
    const BertBatch& again = task->next_batch(c);
    CHECK(std::equal(tokens.begin(), tokens.end(), again.tokens));
    CHECK(a.state == c.state);
}

TEST_CASE("encode_pair: [CLS] a [SEP] b [SEP], types 0 then 1, the longer side cut first") {
    const BertSpecials sp{2, 3, 4, 0};
    TaskExample e = encode_pair(sp, {10, 11, 12, 13, 14, 15}, {20, 21}, 8);
    CHECK(e.ids == std::vector<int>{2, 10, 11, 12, 3, 20, 21, 3});
    CHECK(e.types == std::vector<int>{0, 0, 0, 0, 0, 1, 1, 1});
    e = encode_pair(sp, {10, 11}, {20, 21, 22, 23, 24}, 8);
    CHECK(e.ids == std::vector<int>{2, 10, 11, 3, 20, 21, 22, 3});
    e = encode_pair(sp, {10, 11, 12}, {}, 4);
    CHECK(e.ids == std::vector<int>{2, 10, 11, 3});
    CHECK(e.types == std::vector<int>{0, 0, 0, 0});
    CHECK_THROWS_AS(encode_pair(sp, {10}, {11}, 3), Error);
}

TEST_CASE("classification batches: neighbours in length order, every example as often as any other") {
    std::vector<TaskExample> train;
    for (int i = 0; i < 200; ++i) {  // lengths 3 .. 52, shuffled by the index pattern
        TaskExample e;
        e.ids.assign(3 + (i * 37) % 50, 7);
        e.types.assign(e.ids.size(), 0);
        e.label = i;  // the example's number, to count visits
        train.push_back(e);
    }
    auto task = make_classify_task(train, {train[0]}, 16);
    Rng rng{3};
    std::vector<int> visits(train.size());
    long padding = 0, tokens = 0;
    for (int step = 0; step < 5000; ++step) {
        const BertBatch& b = task->next_batch(rng);
        REQUIRE(b.B == 16);
        const int longest = *std::max_element(b.lengths, b.lengths + b.B);
        CHECK(b.T == longest);
        for (int s = 0; s < b.B; ++s) {
            ++visits[b.labels[s]];
            CHECK(b.lengths[s] == (int)train[b.labels[s]].ids.size());
            padding += b.T - b.lengths[s], tokens += b.T;
        }
    }
    // Expected 400 visits each (5000 x 16 / 200); binomial sd 20.
    const auto [lo, hi] = std::minmax_element(visits.begin(), visits.end());
    CHECK(*lo > 300);
    CHECK(*hi < 500);
    // Neighbours differ by ~4 tokens of a 3..52 range, and 15 of 200 windows wrap from the
    // longest to the shortest: ~12 % padding, where random batches of these lengths pad ~44 %.
    CHECK((double)padding / tokens < 0.15);
}

TEST_CASE("QA training windows: targets on the answer's tokens, [CLS] where a window misses it") {
    const Tokenizer tok = small_tokenizer();
    SquadExample ex;
    ex.id = "q1";
    ex.question = "where is mary ?";
    ex.context = "mary went to the kitchen . john moved to the garden . the cat sat on the mat .";
    const std::string answer = "kitchen";
    ex.answers.push_back({answer, 0, ex.context.find(answer)});
    for (int stride : {-1, 2}) {
        const std::vector<TaskExample> windows = qa_train_examples({ex}, tok, 16, stride);
        REQUIRE(windows.size() >= 2);  // 16 positions cannot hold the whole context
        int hits = 0;
        for (const TaskExample& w : windows) {
            CHECK(w.ids.size() <= 16);
            CHECK(w.start <= w.end);
            if (w.start == 0) {
                CHECK(w.end == 0);
                continue;
            }
            ++hits;
            std::vector<int32_t> span(w.ids.begin() + w.start, w.ids.begin() + w.end + 1);
            CHECK(tok.decode(span) == answer);
            CHECK(w.types[w.start] == 1);
        }
        CHECK(hits >= 1);
    }
    ex.question = "where is mary ? where is mary ? where is mary ? where is mary ?";
    CHECK_THROWS_WITH_AS(qa_train_examples({ex}, tok, 16, -1), doctest::Contains("question q1"), Error);
}
}
