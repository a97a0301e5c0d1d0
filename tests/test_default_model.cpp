// The story model linked into the binary: it loads with no file, tells a story from a
// prompt, and is the trained model weights/README.md describes (its loss on held-out text).
#include <cmath>

#include "src/model.h"
#include "tests/lm_process.h"
#include "tokenizer/tokenizer.h"

using namespace lm;

TEST_SUITE("default model") {

TEST_CASE("lm run with no model uses the built-in one") {
    const testing::LmResult r = testing::run_lm("run 'Once upon a time' --temp 0 -n 40 -t 1");
    CHECK(r.status == 0);
    CHECK(r.out.rfind("Once upon a time", 0) == 0);
    CHECK(r.out.size() > 60);
    CHECK(r.err.find("decode 40 tokens") != std::string::npos);
}

TEST_CASE("built-in model: q8_0 weights under 4 MB, and its loss on held-out stories") {
    ModelFile file = open_model("");
    size_t bytes = 0;
    for (const Tensor& t : file.tensors) bytes += t.nbytes;
    CHECK(file.mapping->size() <= 4u << 20);
    CHECK(file.get("blk.0.attn_q.weight").type == DType::Q8_0);
    MESSAGE("built-in model: ", file.mapping->size(), " bytes, ", bytes, " of tensors");

    // The corpus's last 10 % is the validation split lm train held out.
    const std::string corpus_path = testing::shared_file("corpora/stories-260K-samples.txt");
    if (corpus_path.empty()) return;
    const std::string corpus = testing::read_file_bytes(corpus_path);
    const std::string text = corpus.substr(corpus.size() - 6000);
    Tokenizer tok(file.meta);
    std::vector<int> ids;
    for (int32_t id : tok.encode(text, false)) ids.push_back(id);
    auto model = load_decoder(file, 256, 256);
    const int n = std::min<int>(static_cast<int>(ids.size()), 256), V = model->vocab_size();
    std::vector<float> logits(static_cast<size_t>(n) * V);
    model->forward(ids.data(), n, 0, 1, logits.data());
    const double loss = testing::mean_next_token_nll(logits, ids, n, V);
    MESSAGE("built-in model: loss ", loss, " nats/token on ", n - 1, " held-out tokens");
    CHECK(loss < 2.2);  // measured 2.04; an untrained model scores about ln(1024) = 6.9
}

}
