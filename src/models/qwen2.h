// Qwen2 / Qwen2.5 (src/models/qwen2.cpp).
#pragma once
#include "src/models/llama.h"

namespace lm {

class Qwen2 : public Llama {
public:
    Qwen2(const ModelFile& file, const DecoderOptions& options);
};

}  // namespace lm
