// lm classify MODEL TEXT... [--file F]: sequence classification with a BERT pooler +
// classifier head. One line per text: the winning label, then every label's probability.
#include <algorithm>
#include <cstdio>
#include <fstream>

#include "src/bert.h"
#include "src/cli.h"
#include "tokenizer/tokenizer.h"
#include "weights/error.h"

namespace lm {

// The texts to run: the positional arguments, then the lines of --file (one text a line).
std::vector<std::string> texts_of(const std::vector<std::string>& positional, const std::string& file) {
    std::vector<std::string> texts(positional.begin() + 1, positional.end());
    if (!file.empty()) {
        std::ifstream in(file, std::ios::binary);
        if (!in) fail(file, ": cannot open");
        for (std::string line; std::getline(in, line);) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (!line.empty()) texts.push_back(line);
        }
    }
    if (texts.empty()) fail("no texts: give them as arguments or with --file");
    return texts;
}

// [CLS] text [SEP]; a text longer than the model's positions is an error, not truncated.
std::vector<int> encode_text(const Tokenizer& tok, const std::string& text, int max_tokens) {
    std::vector<int32_t> ids = tok.encode(text, true);
    if (static_cast<int>(ids.size()) > max_tokens)
        fail("text \"", text.substr(0, 40), text.size() > 40 ? "...\"" : "\"", " is ", ids.size(),
             " tokens, longer than the model's ", max_tokens, " positions");
    return std::vector<int>(ids.begin(), ids.end());
}

void encode_batches(Bert& bert, const Tokenizer& tok, const std::vector<std::string>& texts, int threads,
                    const std::function<void(size_t text, int seq)>& done) {
    std::vector<std::vector<int>> ids;
    for (const std::string& text : texts) ids.push_back(encode_text(tok, text, bert.max_tokens()));
    std::vector<int> tokens;
    std::vector<unsigned char> mask;
    for (size_t first = 0; first < ids.size();) {
        // Grow the batch while its rows, padded to the longest text, still fit.
        size_t end = first + 1, len = ids[first].size();
        while (end < ids.size() && (end - first + 1) * std::max(len, ids[end].size()) <= static_cast<size_t>(bert.max_rows()))
            len = std::max(len, ids[end++].size());
        tokens.assign((end - first) * len, 0);  // padding: any valid id, masked out
        mask.assign(tokens.size(), 0);
        for (size_t t = first; t < end; ++t) {
            std::copy(ids[t].begin(), ids[t].end(), tokens.begin() + (t - first) * len);
            std::fill_n(mask.begin() + (t - first) * len, ids[t].size(), 1);
        }
        bert.encode(tokens.data(), nullptr, mask.data(), static_cast<int>(len), threads, static_cast<int>(end - first));
        for (size_t t = first; t < end; ++t) done(t, static_cast<int>(t - first));
        first = end;
    }
}

const char* const kClassifyHelp =
    "usage: lm classify MODEL TEXT... [options]\n"
    "Sequence classification with a BERT classifier: for each text, the label, then every label's\n"
    "probability.\n"
    "  -f, --file F           also each line of F\n"
    "  -t, --threads N        threads (this machine's physical cores)\n"
    "example:\n"
    "  lm classify tests/ref/bert \"the movie was great\"\n";

int cmd_classify(Args& args) {
    const std::string file_path = args.text({"--file", "-f"}, "");
    const int threads = static_cast<int>(args.integer({"-t", "--threads"}, default_threads(), 1, 1024));
    const auto pos = args.positional(1, 1 << 20, "lm classify MODEL TEXT... [--file F] [-t THREADS]");
    const std::vector<std::string> texts = texts_of(pos, file_path);
    ModelFile file = open_model(pos[0], "");
    Tokenizer tok(file.meta);
    Bert bert(file, kEncoderBatchRows);
    if (!bert.has_classifier()) fail(pos[0], ": has no classification head (pooler + classifier)");
    encode_batches(bert, tok, texts, threads, [&](size_t, int seq) {
        const std::vector<float> probs = bert.classify(seq);
        const int best = static_cast<int>(std::max_element(probs.begin(), probs.end()) - probs.begin());
        std::string line = bert.labels()[best] + "\t";
        for (size_t i = 0; i < probs.size(); ++i) {
            char p[32];
            std::snprintf(p, sizeof p, "%.6f", probs[i]);
            line += (i ? " " : "") + bert.labels()[i] + "=" + p;
        }
        std::printf("%s\n", line.c_str());
    });
    return 0;
}

}  // namespace lm
