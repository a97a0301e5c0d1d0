// Arbitrary bytes -> parse_json at the default depth and at a shallow one.
#include "tests/fuzz/fuzz.h"
#include "weights/json.h"

namespace {
// Touches every node, so a malformed tree would show up under the sanitizers.
size_t walk(const lm::Json& j) {
    size_t n = 1 + j.str.size();
    for (const lm::Json& item : j.items) n += walk(item);
    for (const auto& [key, value] : j.members) n += key.size() + walk(value);
    json_type_name(j.type);
    return n;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text = lm::fuzz::bytes(data, size);
    lm::fuzz::expect_clean([&] { walk(lm::parse_json(text, "fuzz.json")); });
    lm::fuzz::expect_clean([&] { walk(lm::parse_json(text, "fuzz.json", 3)); });
    return 0;
}
