#include "weights/dtype.h"

#include <strings.h>

namespace lm {

namespace {
struct Entry {
    uint32_t id;
    DTypeInfo info;
};
// Block geometry from ggml's block structs (see weights/quant.h for the layouts).
constexpr Entry kTypes[] = {
    {0, {"f32", 1, 4, true}},       {1, {"f16", 1, 2, true}},       {2, {"q4_0", 32, 18, true}},
    {3, {"q4_1", 32, 20, true}},    {6, {"q5_0", 32, 22, true}},    {7, {"q5_1", 32, 24, true}},
    {8, {"q8_0", 32, 34, true}},    {9, {"q8_1", 32, 36, false}},   {10, {"q2_K", 256, 84, true}},
    {11, {"q3_K", 256, 110, true}}, {12, {"q4_K", 256, 144, true}}, {13, {"q5_K", 256, 176, true}},
    {14, {"q6_K", 256, 210, true}}, {15, {"q8_K", 256, 292, false}}, {30, {"bf16", 1, 2, true}},
};
}  // namespace

const DTypeInfo* dtype_info(uint32_t id) {
    for (const Entry& e : kTypes)
        if (e.id == id) return &e.info;
    return nullptr;
}

bool parse_dtype(const char* name, DType* out) {
    for (const Entry& e : kTypes) {
        if (strcasecmp(e.info.name, name) == 0) {
            *out = static_cast<DType>(e.id);
            return true;
        }
    }
    return false;
}

}  // namespace lm
