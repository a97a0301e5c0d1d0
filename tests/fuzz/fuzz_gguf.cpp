// GGUF bytes -> read_gguf (header, metadata, tensor infos, offsets) -> what the CLI does
// with a model: info, tokenizer, a Llama on a small context and one forward pass.
#include "tests/fuzz/fuzz.h"
#include "weights/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    lm::fuzz::expect_clean([&] {
        const lm::ModelFile file = lm::read_gguf(lm::fuzz::mapping("fuzz.gguf", data, size));
        lm::fuzz::exercise_model(file);
    });
    return 0;
}
