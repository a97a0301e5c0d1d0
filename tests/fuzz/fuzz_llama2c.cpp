// llama2.c checkpoint bytes (legacy header or "ak42" version 1) -> read_llama2c -> a Llama on
// a small context and one forward pass.
#include "tests/fuzz/fuzz.h"
#include "weights/llama2c.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    lm::fuzz::expect_clean([&] {
        const lm::ModelFile file = lm::read_llama2c(lm::fuzz::mapping("fuzz.bin", data, size));
        lm::fuzz::exercise_model(file);
    });
    return 0;
}
