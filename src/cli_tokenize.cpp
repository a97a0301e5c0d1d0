// lm tokenize MODEL TEXT: token ids on one line. Works on vocabulary-only GGUF files.
#include <cstdio>

#include "src/cli.h"
#include "tokenizer/tokenizer.h"

namespace lm {

int cmd_tokenize(Args& args) {
    const bool no_bos = args.flag({"--no-bos"});
    const std::string tokenizer_path = args.text({"--tokenizer"}, "");
    const auto pos = args.positional(2, 2, "lm tokenize MODEL TEXT [--no-bos] [--tokenizer PATH]");
    ModelFile file = open_model(pos[0], tokenizer_path);
    Tokenizer tok(file.meta);
    const std::vector<int32_t> ids = tok.encode(pos[1], !no_bos);
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i) line += ' ';
        line += std::to_string(ids[i]);
    }
    std::printf("%s\n", line.c_str());
    return 0;
}

}  // namespace lm
