// src/eval/metrics.h against hand-computed cases and against tests/ref/metrics/metric_ref.json
// (tests/ref/make_metric_ref.py: NLTK's corpus_bleu, and Python implementations of ROUGE and
// of the SQuAD v1.1 scorer).
#include "src/eval/metrics.h"

#include <cfloat>
#include <cmath>

#include "tests/lm_process.h"
#include "weights/error.h"
#include "weights/json.h"

using namespace lm;

namespace {

const Json& metric_ref() {
    static const Json ref = read_json_file("tests/ref/metrics/metric_ref.json");
    return ref;
}

double ref_number(const char* key, const char* sub = nullptr) {
    const Json* v = metric_ref().find(key);
    REQUIRE(v != nullptr);
    if (sub) v = v->find(sub);
    REQUIRE(v != nullptr);
    return v->number;
}

std::vector<std::vector<std::string>> segments(const std::string& path) {
    const std::string text = testing::read_file_bytes(path);
    std::vector<std::vector<std::string>> out;
    for (size_t pos = 0; pos < text.size();) {
        const size_t end = text.find('\n', pos);
        out.push_back(split_whitespace(text.substr(pos, end - pos)));
        pos = end + 1;
    }
    return out;
}

std::vector<std::vector<std::string>> tokens(std::initializer_list<const char*> lines) {
    std::vector<std::vector<std::string>> out;
    for (const char* l : lines) out.push_back(split_whitespace(l));
    return out;
}

// The predictions make_metric_ref.py's perturbed() makes from the gold answers.
std::map<std::string, std::string> perturbed(const std::vector<SquadExample>& examples) {
    std::map<std::string, std::string> p;
    for (size_t i = 0; i < examples.size(); ++i) {
        const std::string& first = examples[i].answers[0].text;
        if (i % 13 == 0) continue;
        if (i % 4 == 0) p[examples[i].id] = first;
        else if (i % 4 == 1) p[examples[i].id] = first + " extra words";
        else if (i % 4 == 2) p[examples[i].id] = first.find(' ') == std::string::npos ? "" : first.substr(first.find(' ') + 1);
        else p[examples[i].id] = examples[i - 1].answers[0].text;
    }
    return p;
}

}  // namespace

TEST_SUITE("metrics") {

TEST_CASE("classification by hand: accuracy, per-label scores, macro F1, confusion matrix") {
    const ClassScores s = classification_scores({0, 0, 1, 1, 2}, {0, 1, 1, 1, 0}, {"a", "b", "c"});
    CHECK((s.correct == 3 && s.total == 5));
    CHECK(s.accuracy == doctest::Approx(0.6));
    CHECK(s.confusion == std::vector<std::vector<int64_t>>{{1, 1, 0}, {0, 2, 0}, {1, 0, 0}});
    CHECK(s.precision[0] == doctest::Approx(0.5));
    CHECK(s.recall[0] == doctest::Approx(0.5));
    CHECK(s.precision[1] == doctest::Approx(2.0 / 3));
    CHECK(s.recall[1] == doctest::Approx(1.0));
    CHECK(s.f1[1] == doctest::Approx(0.8));
    CHECK((s.precision[2] == 0 && s.recall[2] == 0 && s.f1[2] == 0));  // never predicted
    CHECK(s.macro_f1 == doctest::Approx((0.5 + 0.8 + 0) / 3));
    CHECK(s.support == std::vector<int64_t>{2, 2, 1});
    // A label neither in gold nor predicted stays out of the macro mean.
    const ClassScores t = classification_scores({0, 1}, {0, 1}, {"x", "y", "unused"});
    CHECK(t.macro_f1 == doctest::Approx(1.0));
    const std::string report = format_classification(s);
    CHECK(report.rfind("accuracy 0.6000 (3/5)\n", 0) == 0);
    CHECK(report.find("macro f1 0.4333\n") != std::string::npos);
    CHECK(report.find("b      0.6667     1.0000  0.8000  2\n") != std::string::npos);
    CHECK(report.find("\nc      1  0  0\n") != std::string::npos);
}

TEST_CASE("SQuAD normalization and scores by hand") {
    CHECK(squad_normalize("  The Denver   Broncos! ") == "denver broncos");
    CHECK(squad_normalize("an apple, a pear and THE plum") == "apple pear and plum");
    CHECK(squad_normalize("theater") == "theater");
    CHECK(split_whitespace("a\xC2\xA0" "b\xE3\x80\x80" "c  d\t") == std::vector<std::string>{"a", "b", "c", "d"});
    CHECK(squad_exact("The Broncos.", "broncos"));
    CHECK(squad_f1("Denver", "Denver Broncos") == doctest::Approx(2 * 1.0 * 0.5 / 1.5));
    CHECK(squad_f1("", "") == 0);  // the official script: no shared token, F1 0 (EM 1)
    CHECK(squad_exact("", "the"));

    std::vector<SquadExample> ex(3);
    ex[0].id = "q0", ex[0].answers = {{"Denver Broncos", 0, 0}, {"Broncos", 0, 0}};
    ex[1].id = "q1", ex[1].answers = {{"Paris", 0, 0}};
    ex[2].id = "q2", ex[2].answers = {{"1990", 0, 0}};
    const SquadScores s = squad_scores(ex, {{"q0", "the Broncos"}, {"q1", "in Paris France"}});
    CHECK((s.total == 3 && s.answered == 2));
    CHECK(s.exact_match == doctest::Approx(100.0 / 3));  // q0 matches its second answer
    CHECK(s.f1 == doctest::Approx(100.0 * (1 + 0.5) / 3));  // q1: p 1/3, r 1; q2 missing: 0
}

TEST_CASE("SQuAD pairs against the Python scorer") {
    const Json* pairs = metric_ref().find("squad_pairs");
    REQUIRE(pairs != nullptr);
    REQUIRE(pairs->items.size() >= 20);
    for (const Json& p : pairs->items) {
        const std::string& pred = p.items[0].str;
        const std::string& gold = p.items[1].str;
        INFO("prediction '", pred, "', gold '", gold, "', normalized '", squad_normalize(pred), "' / '", squad_normalize(gold), "'");
        CHECK((squad_exact(pred, gold) ? 1.0 : 0.0) == p.items[2].number);
        CHECK(squad_f1(pred, gold) == doctest::Approx(p.items[3].number).epsilon(1e-12));
    }
}

TEST_CASE("BLEU by hand and against NLTK corpus_bleu") {
    CHECK(corpus_bleu(tokens({"a b c d e"}), tokens({"a b c d e"})).bleu == doctest::Approx(1.0));
    const BleuScores shorter = corpus_bleu(tokens({"a b c d e"}), tokens({"a b c d"}));
    CHECK(shorter.brevity_penalty == doctest::Approx(std::exp(1 - 5.0 / 4)));
    CHECK(shorter.bleu == doctest::Approx(std::exp(1 - 5.0 / 4)));
    CHECK(corpus_bleu(tokens({"a b"}), tokens({"c d"})).bleu == 0);  // no unigram matches
    // 2 of 4 unigrams, 1 of 3 bigrams, no trigram: NLTK puts DBL_MIN for the empty orders.
    const BleuScores tiny = corpus_bleu(tokens({"a b c d"}), tokens({"a b x y"}));
    CHECK(tiny.matches == std::array<int64_t, 4>{2, 1, 0, 0});
    CHECK(tiny.totals == std::array<int64_t, 4>{4, 3, 2, 1});
    CHECK(tiny.bleu == doctest::Approx(std::exp(0.25 * (std::log(0.5) + std::log(1.0 / 3) + 2 * std::log(DBL_MIN)))));
    CHECK(tiny.bleu > 0);
    CHECK_THROWS_AS(corpus_bleu(tokens({"a"}), tokens({"a", "b"})), Error);

    const BleuScores b = corpus_bleu(segments("tests/ref/metrics/ref.txt"), segments("tests/ref/metrics/hyp.txt"));
    CHECK(b.bleu == doctest::Approx(ref_number("bleu")).epsilon(1e-12));
    const BleuScores s = corpus_bleu(segments("tests/ref/metrics/ref_short.txt"), segments("tests/ref/metrics/hyp_short.txt"));
    CHECK(s.bleu == doctest::Approx(ref_number("bleu_short")).epsilon(1e-12));
}

TEST_CASE("ROUGE by hand and against the Python implementation") {
    const RougeScores h = rouge(tokens({"a b c"}), tokens({"a c"}));
    CHECK(h.rouge1 == doctest::Approx(0.8));
    CHECK(h.rouge2 == 0);
    CHECK(h.rougeL == doctest::Approx(0.8));
    const RougeScores two = rouge(tokens({"a b c", "x y"}), tokens({"a b c", ""}));
    CHECK(two.rouge1 == doctest::Approx(0.5));  // 1 and 0, averaged
    for (const char* which : {"", "_short"}) {
        const std::string suffix = which;
        const RougeScores r = rouge(segments("tests/ref/metrics/ref" + suffix + ".txt"), segments("tests/ref/metrics/hyp" + suffix + ".txt"));
        const std::string key = "rouge" + suffix;
        CHECK(r.rouge1 == doctest::Approx(ref_number(key.c_str(), "rouge1")).epsilon(1e-12));
        CHECK(r.rouge2 == doctest::Approx(ref_number(key.c_str(), "rouge2")).epsilon(1e-12));
        CHECK(r.rougeL == doctest::Approx(ref_number(key.c_str(), "rougeL")).epsilon(1e-12));
    }
}

TEST_CASE("the SQuAD dev file: its own answers score 100, perturbed ones as the Python scorer") {
    const std::string path = testing::shared_file("datasets/squad/dev-v1.1.json");
    if (path.empty()) return;
    const std::vector<SquadExample> ex = read_squad(path);
    std::map<std::string, std::string> gold;
    for (const SquadExample& e : ex) gold[e.id] = e.answers[0].text;
    const SquadScores self = squad_scores(ex, gold);
    CHECK(self.exact_match == doctest::Approx(100.0));
    CHECK(self.f1 == doctest::Approx(100.0));
    const SquadScores p = squad_scores(ex, perturbed(ex));
    CHECK(p.answered == static_cast<int64_t>(ref_number("squad_dev_perturbed", "answered")));
    CHECK(p.exact_match == doctest::Approx(ref_number("squad_dev_perturbed", "exact_match")).epsilon(1e-12));
    CHECK(p.f1 == doctest::Approx(ref_number("squad_dev_perturbed", "f1")).epsilon(1e-12));
}

}  // TEST_SUITE
