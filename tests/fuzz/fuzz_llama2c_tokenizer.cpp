// llama2.c tokenizer.bin bytes -> read_llama2c_tokenizer -> a Tokenizer that encodes and
// decodes. The first two bytes choose the vocabulary size the model header would claim.
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const int32_t n_vocab = static_cast<int32_t>(data[0] | data[1] << 8) - 8;  // some non-positive
    lm::fuzz::expect_clean([&] {
        lm::Metadata meta;
        meta.source = "fuzz-tokenizer.bin";
        lm::read_llama2c_tokenizer(lm::MappedFile("fuzz-tokenizer.bin", lm::fuzz::bytes(data + 2, size - 2)), n_vocab,
                                   meta);
        lm::Tokenizer tok(meta);
        const std::vector<int32_t> ids = tok.encode("Once upon a time, \xE2\x96\x81 <0x0A> \xff!", true);
        tok.decode(ids);
        for (int32_t id = 0; id < tok.n_vocab(); ++id) tok.decode_token(id - 1, id);
    });
    return 0;
}
