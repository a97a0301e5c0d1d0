// lm classify MODEL TEXT... [--file F]: sequence classification with a BERT pooler +
// classifier head. One line per text: the winning label, then every label's probability.
#include <algorithm>
#include <cstdio>

#include "simd/matmul.h"
#include "src/cli/cli.h"
#include "src/models/bert.h"
#include "src/models/bert_tasks.h"
#include "tokenizer/tokenizer.h"
#include "weights/error.h"
#include "weights/files.h"

namespace lm {

// The texts to run: the positional arguments, then the lines of --file (one text a line).
std::vector<std::string> texts_of(const std::vector<std::string>& positional, const std::string& file) {
    std::vector<std::string> texts(positional.begin() + 1, positional.end());
    if (!file.empty()) {
        std::string text;
        if (!files::read(file, text)) fail(file, ": cannot open");
        for (std::string& line : files::split(text, '\n')) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (!line.empty()) texts.push_back(line);
        }
    }
    if (texts.empty()) fail("no texts: give them as arguments or with --file");
    return texts;
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
