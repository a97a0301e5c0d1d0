// Hugging Face vocabulary files -> tokenizer.ggml.* metadata.
#include "tokenizer/tokenizer.h"
#include "weights/error.h"

namespace lm {

void read_hf_tokenizer(const std::string& path, Metadata& meta) {
    (void)meta;
    fail(path, ": Hugging Face tokenizer files are not supported yet");
}

Tokenizer Tokenizer::from_files(const std::string& path) {
    Metadata meta;
    meta.source = path;
    read_hf_tokenizer(path, meta);
    return Tokenizer(meta);
}

}  // namespace lm
