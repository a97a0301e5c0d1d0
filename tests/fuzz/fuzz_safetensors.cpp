// safetensors bytes (u64 header length, JSON header, data) -> parse_safetensors and
// read_safetensors, then reading every tensor's bytes.
#include "tests/fuzz/fuzz.h"
#include "weights/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    lm::fuzz::expect_clean([&] {
        auto map = lm::fuzz::mapping("fuzz.safetensors", data, size);
        uint8_t sum = 0;
        for (const lm::SafetensorsEntry& e : lm::parse_safetensors(*map))
            for (size_t i = 0; i < e.nbytes; ++i) sum ^= e.data[i];
        const lm::ModelFile file = lm::read_safetensors(map);
        for (const lm::Tensor& t : file.tensors) {
            const uint8_t* p = static_cast<const uint8_t*>(t.data);
            for (size_t i = 0; i < t.nbytes; ++i) sum ^= p[i];
        }
        volatile uint8_t keep = sum;
        (void)keep;
    });
    return 0;
}
