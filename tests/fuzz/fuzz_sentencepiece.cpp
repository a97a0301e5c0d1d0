// SentencePiece tokenizer.model bytes (protobuf) -> read_sentencepiece_model -> a Tokenizer
// that encodes and decodes.
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    lm::fuzz::expect_clean([&] {
        lm::Metadata meta;
        meta.source = "fuzz-tokenizer.model";
        lm::read_sentencepiece_model(lm::MappedFile("fuzz-tokenizer.model", lm::fuzz::bytes(data, size)), meta);
        lm::Tokenizer tok(meta);
        const std::vector<int32_t> ids = tok.encode("Once upon a time, \xE2\x96\x81 <0x0A> \xff!", true);
        tok.decode(ids);
        for (int32_t id = 0; id < tok.n_vocab() && id < 512; ++id) tok.decode_token(id - 1, id);
    });
    return 0;
}
