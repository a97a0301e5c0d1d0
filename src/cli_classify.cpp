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

int cmd_classify(Args& args) {
    const std::string file_path = args.text({"--file", "-f"}, "");
    const int threads = static_cast<int>(args.integer({"-t", "--threads"}, default_threads(), 1, 1024));
    const auto pos = args.positional(1, 1 << 20, "lm classify MODEL TEXT... [--file F] [-t THREADS]");
    const std::vector<std::string> texts = texts_of(pos, file_path);
    ModelFile file = open_model(pos[0], "");
    Tokenizer tok(file.meta);
    Bert bert(file);
    if (!bert.has_classifier()) fail(pos[0], ": has no classification head (pooler + classifier)");
    for (const std::string& text : texts) {
        const std::vector<int> ids = encode_text(tok, text, bert.max_tokens());
        bert.encode(ids.data(), nullptr, nullptr, static_cast<int>(ids.size()), threads);
        const std::vector<float> probs = bert.classify();
        const int best = static_cast<int>(std::max_element(probs.begin(), probs.end()) - probs.begin());
        std::string line = bert.labels()[best] + "\t";
        for (size_t i = 0; i < probs.size(); ++i) {
            char p[32];
            std::snprintf(p, sizeof p, "%.6f", probs[i]);
            line += (i ? " " : "") + bert.labels()[i] + "=" + p;
        }
        std::printf("%s\n", line.c_str());
    }
    return 0;
}

}  // namespace lm
