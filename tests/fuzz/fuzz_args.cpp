// NUL-separated arguments -> lm::Args as `lm run` uses it: every flag kind, then the
// positional arguments.
#include <vector>

#include "src/cli/cli.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::string> words(1, "run");
    std::string word;
    for (size_t i = 0; i < size; ++i) {
        if (data[i] == 0) {
            words.push_back(word);
            word.clear();
        } else {
            word += static_cast<char>(data[i]);
        }
    }
    words.push_back(word);
    std::vector<char*> argv;
    for (std::string& w : words) argv.push_back(w.data());
    lm::fuzz::expect_clean([&] {
        lm::Args args(static_cast<int>(argv.size()), argv.data());
        args.flag({"--no-bos"});
        args.integer({"-n", "--n-predict"}, 256, -1, 1 << 30);
        args.number({"--temp"}, 0.8, 0, 100);
        args.number({"--top-p"}, 0.95, 0, 1);
        args.integer({"-s", "--seed"}, -1, -1, INT64_MAX);
        args.integer({"-c", "--ctx-size"}, 0, 0, 1 << 22);
        args.text({"--tokenizer"}, "");
        args.text({"-o", "--output"}, "");
        args.positional(1, 2, "lm run MODEL [PROMPT]");
    });
    return 0;
}
