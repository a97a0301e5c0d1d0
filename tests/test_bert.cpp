// BERT against PyTorch (nn.TransformerEncoderLayer): hidden states, padding mask, span and
// classification heads, pooled embeddings; from safetensors, after `lm convert`, and through
// `lm qa`, `lm classify` and `lm embed`.
#include <cmath>
#include <sstream>

#include "src/models/bert.h"
#include "src/models/model.h"
#include "tests/lm_process.h"
#include "tokenizer/tokenizer.h"
#include "weights/error.h"

using namespace lm;

namespace {

const char* kDir = "tests/ref/bert";
const char* kQaDir = "tests/ref/bert-qa";

std::vector<float> ref_values(const std::string& name) {
    static const ModelFile ref = load_model("tests/ref/gpt2_bert_ref.safetensors");
    const Tensor& t = ref.get(name);
    return std::vector<float>(t.f32(), t.f32() + t.count());
}

std::vector<int> ref_ints(const std::string& name) {
    std::vector<int> ids;
    for (float v : ref_values(name)) ids.push_back(static_cast<int>(v));
    return ids;
}

float max_diff(const float* a, const float* b, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

std::vector<float> floats_of(const std::string& line) {
    std::istringstream in(line);
    std::vector<float> v;
    for (float x; in >> x;) v.push_back(x);
    return v;
}

const char* kTexts[] = {"the movie was great", "the cat sat on the mat .", "she hated this film"};

// The sentence pair's hidden states, span logits and class probabilities against the reference.
void check_pair(const ModelFile& file, float tolerance, const char* what) {
    Bert bert(file);
    const std::vector<int> ids = ref_ints("bert.pair_tokens"), types = ref_ints("bert.pair_types");
    const int n = static_cast<int>(ids.size()), dim = bert.config().dim;
    bert.encode(ids.data(), types.data(), nullptr, n, 2);
    const float d_hidden = max_diff(bert.hidden(), ref_values("bert.hidden").data(), static_cast<size_t>(n) * dim);
    std::vector<float> start(n), end(n);
    bert.span_logits(start.data(), end.data(), n);
    const float d_span = std::max(max_diff(start.data(), ref_values("bert.qa_start").data(), n),
                                  max_diff(end.data(), ref_values("bert.qa_end").data(), n));
    const float d_probs = max_diff(bert.classify().data(), ref_values("bert.pair_probs").data(), 3);
    MESSAGE(std::string(what), ": max diff hidden ", d_hidden, ", span logits ", d_span, ", class probabilities ", d_probs);
    CHECK(d_hidden < tolerance);
    CHECK(d_span < tolerance);
    CHECK(d_probs < tolerance);
}

}  // namespace

TEST_SUITE("bert") {

TEST_CASE("sentence pair from safetensors: hidden states, span logits, classifier") {
    check_pair(load_model(kDir), 1e-4f, "bert safetensors");
}

TEST_CASE("padding is masked out: a padded sequence gives the same hidden states") {
    ModelFile file = load_model(kDir);
    Bert bert(file);
    std::vector<int> ids = ref_ints("bert.pair_tokens"), types = ref_ints("bert.pair_types");
    const int n = static_cast<int>(ids.size()), dim = bert.config().dim;
    std::vector<unsigned char> mask(n, 1);
    for (int i = 0; i < 5; ++i) ids.push_back(0), types.push_back(0), mask.push_back(0);
    bert.encode(ids.data(), types.data(), mask.data(), n + 5, 1);
    const float d = max_diff(bert.hidden(), ref_values("bert.hidden").data(), static_cast<size_t>(n) * dim);
    MESSAGE("bert padded by 5: max diff ", d);
    CHECK(d < 1e-4f);
    // Mean pooling counts only real tokens.
    const std::vector<float> padded = bert.embed(Pooling::mean);
    bert.encode(ids.data(), types.data(), nullptr, n, 1);
    const std::vector<float> plain = bert.embed(Pooling::mean);
    CHECK(max_diff(padded.data(), plain.data(), dim) < 1e-6f);
}

TEST_CASE("a padded batch of texts gives each text's own results") {
    ModelFile file = load_model(kDir);
    Bert bert(file, 64);
    const int len = 9, dim = bert.config().dim;
    std::vector<int> tokens(3 * len, 0);
    std::vector<unsigned char> mask(3 * len, 0);
    for (int t = 0; t < 3; ++t) {
        const std::vector<int> ids = ref_ints("bert.text" + std::to_string(t) + ".tokens");
        REQUIRE(static_cast<int>(ids.size()) <= len);
        std::copy(ids.begin(), ids.end(), tokens.begin() + t * len);
        std::fill_n(mask.begin() + t * len, ids.size(), 1);
    }
    bert.encode(tokens.data(), nullptr, mask.data(), len, 2, 3);
    float d = 0;
    for (int t = 0; t < 3; ++t) {
        const std::string key = "bert.text" + std::to_string(t) + ".";
        d = std::max(d, max_diff(bert.classify(t).data(), ref_values(key + "probs").data(), 3));
        d = std::max(d, max_diff(bert.embed(Pooling::mean, t).data(), ref_values(key + "embed_mean").data(), dim));
        d = std::max(d, max_diff(bert.embed(Pooling::cls, t).data(), ref_values(key + "embed_cls").data(), dim));
    }
    MESSAGE("bert batch of 3 padded to ", len, ": max diff ", d);
    CHECK(d < 1e-4f);
    CHECK_THROWS_WITH_AS(bert.encode(tokens.data(), nullptr, mask.data(), len, 1, 8), doctest::Contains("rows allocated"),
                         Error);
}

TEST_CASE("single texts: WordPiece ids, class probabilities, mean and CLS embeddings") {
    ModelFile file = open_model(kDir);
    Tokenizer tok(file.meta);
    Bert bert(file);
    const int dim = bert.config().dim;
    for (int t = 0; t < 3; ++t) {
        const std::string key = "bert.text" + std::to_string(t) + ".";
        const std::vector<int32_t> enc = tok.encode(kTexts[t], true);
        const std::vector<int> ids(enc.begin(), enc.end());
        CHECK(ids == ref_ints(key + "tokens"));
        bert.encode(ids.data(), nullptr, nullptr, static_cast<int>(ids.size()), 1);
        const float d_probs = max_diff(bert.classify().data(), ref_values(key + "probs").data(), 3);
        const float d_mean = max_diff(bert.embed(Pooling::mean).data(), ref_values(key + "embed_mean").data(), dim);
        const float d_cls = max_diff(bert.embed(Pooling::cls).data(), ref_values(key + "embed_cls").data(), dim);
        MESSAGE("text ", t, ": max diff probs ", d_probs, ", mean embedding ", d_mean, ", cls embedding ", d_cls);
        CHECK(d_probs < 1e-4f);
        CHECK(d_mean < 1e-4f);
        CHECK(d_cls < 1e-4f);
    }
}

TEST_CASE("after lm convert to GGUF: f32 matches, f16 is close") {
    const std::string f32 = testing::temp_path("bert-f32.gguf"), f16 = testing::temp_path("bert-f16.gguf");
    REQUIRE(testing::run_lm(std::string("convert ") + kDir + " " + f32).status == 0);
    REQUIRE(testing::run_lm(std::string("convert ") + kDir + " " + f16 + " --type f16").status == 0);
    ModelFile a = load_model(f32);
    CHECK(a.meta.get_string("tokenizer.ggml.model") == "bert");
    CHECK(a.meta.get_strings("bert.classifier.output_labels")->size() == 3);
    check_pair(a, 1e-4f, "bert GGUF f32");
    check_pair(load_model(f16), 1e-2f, "bert GGUF f16");
}

TEST_CASE("lm classify and lm embed print the reference numbers") {
    std::string args;
    for (const char* t : kTexts) args += std::string(" '") + t + "'";
    const testing::LmResult c = testing::run_lm(std::string("classify ") + kDir + args);
    REQUIRE(c.status == 0);
    std::istringstream lines(c.out);
    for (int t = 0; t < 3; ++t) {
        std::string line, label;
        std::getline(lines, line);
        const std::vector<float> probs = ref_values("bert.text" + std::to_string(t) + ".probs");
        const char* names[] = {"negative", "neutral", "positive"};
        const int best = static_cast<int>(std::max_element(probs.begin(), probs.end()) - probs.begin());
        CHECK(line.rfind(std::string(names[best]) + "\t", 0) == 0);
        for (int i = 0; i < 3; ++i) {
            const size_t at = line.find(std::string(names[i]) + "=", line.find('\t'));
            REQUIRE(at != std::string::npos);
            CHECK(std::fabs(std::stof(line.substr(at + std::strlen(names[i]) + 1)) - probs[i]) < 2e-6f);
        }
    }
    // --file gives the same lines as arguments.
    const testing::LmResult f = testing::run_lm(std::string("classify ") + kDir + " --file tests/ref/bert_texts.txt");
    CHECK(f.out == c.out);

    for (const char* pooling : {"mean", "cls"}) {
        const testing::LmResult e = testing::run_lm(std::string("embed ") + kDir + args + " --pooling " + pooling);
        REQUIRE(e.status == 0);
        std::istringstream rows(e.out);
        for (int t = 0; t < 3; ++t) {
            std::string line;
            std::getline(rows, line);
            const std::vector<float> got = floats_of(line);
            const std::vector<float> want = ref_values("bert.text" + std::to_string(t) + ".embed_" + pooling);
            REQUIRE(got.size() == want.size());
            CHECK(max_diff(got.data(), want.data(), want.size()) < 1e-4f);
        }
    }
}

TEST_CASE("lm qa finds the span the head was built to point at, in one window and in many") {
    testing::LmResult r = testing::run_lm(std::string("qa ") + kQaDir +
                                          " --question 'what is in paris ?' --context 'the eiffel tower is in paris .'");
    CHECK(r.status == 0);
    CHECK(r.out.rfind("eiffel tower\nscore: ", 0) == 0);
    // The answer is printed as the context spells it, through punctuation and [UNK] pieces.
    r = testing::run_lm(std::string("qa ") + kQaDir + " --question 'what ?' --context '  The Eiffel TOWER is in Paris.'");
    CHECK(r.out.rfind("Eiffel TOWER\n", 0) == 0);
    r = testing::run_lm(std::string("qa ") + kQaDir + " --question 'what ?' --context 'Tower-Eiffel tower!'");
    CHECK(r.out.rfind("Eiffel tower\n", 0) == 0);
    // 45 context tokens, the answer near the end: the model's 24 positions need windows.
    std::string context;
    for (int i = 0; i < 8; ++i) context += "the big city has a river . ";
    context += "the eiffel tower is there .";
    const std::string question = " --question 'what is there ?' --context '" + context + "'";
    r = testing::run_lm(std::string("qa ") + kQaDir + question);
    INFO(r.err);
    CHECK(r.status == 0);
    CHECK(r.out.rfind("eiffel tower\nscore: ", 0) == 0);
    CHECK(r.out.find("context tokens 57..58") != std::string::npos);
    // Other window overlaps see the same answer (scores differ: each window normalizes its own).
    r = testing::run_lm(std::string("qa ") + kQaDir + question + " --stride 3");
    CHECK(r.out.rfind("eiffel tower\nscore: ", 0) == 0);
    // A maximum answer length of one token rules out the two-token span.
    r = testing::run_lm(std::string("qa ") + kQaDir + " --max-answer 1 --question 'where ?' --context 'the eiffel tower'");
    CHECK((r.out.rfind("eiffel\n", 0) == 0 || r.out.rfind("tower\n", 0) == 0));
}

TEST_CASE("lm tokenize and lm info work on BERT") {
    const testing::LmResult t = testing::run_lm(std::string("tokenize ") + kDir + " 'The movie was GREAT'");
    std::string want;
    for (int id : ref_ints("bert.text0.tokens")) {
        if (!want.empty()) want += ' ';
        want += std::to_string(id);
    }
    CHECK(t.out == want + "\n");  // [CLS] ... [SEP], lower-cased
    const testing::LmResult i = testing::run_lm(std::string("info ") + kDir);
    CHECK(i.status == 0);
    CHECK(i.out.find("architecture: bert") != std::string::npos);
    CHECK(i.out.find("tokenizer: bert, 86 tokens") != std::string::npos);
    CHECK(i.out.find("norm_eps 1e-12") != std::string::npos);
}

TEST_CASE("encoder bad input: one line, exit code 1") {
    std::string context;
    for (int i = 0; i < 8; ++i) context += "the big city has a river . ";
    testing::expect_lm_error(std::string("qa ") + kQaDir + " --question 'what ?' --context '" + context + "' --stride 0",
                             "longer than the model's 24 positions");
    testing::expect_lm_error(std::string("qa ") + kQaDir + " --question '" + context + "' --context 'paris'",
                             "leaves no room for the context");
    testing::expect_lm_error(std::string("qa ") + kQaDir + " --question 'what ?' --context 'paris' --stride 40",
                             "--stride: 40 must be smaller");
    testing::expect_lm_error(std::string("qa ") + kQaDir + " --context 'paris'", "--question and --context are required");
    testing::expect_lm_error(std::string("classify ") + kQaDir + " '" + context + context + "'", "longer than the model's 24");
    testing::expect_lm_error(std::string("classify ") + kDir, "no texts");
    testing::expect_lm_error(std::string("classify ") + kDir + " --file build/tmp/no-such-texts.txt", "cannot open");
    testing::expect_lm_error(std::string("embed ") + kDir + " hello --pooling max", "--pooling: 'max'");
    testing::expect_lm_error("qa tests/ref/gpt2 --question 'a' --context 'b'", "is not a BERT model");
}

}  // TEST_SUITE
