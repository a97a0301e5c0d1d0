// Qwen2 / Qwen2.5 (src/qwen2.cpp).
#pragma once
#include "src/llama.h"

namespace lm {

class Qwen2 : public Llama {
public:
    Qwen2(const ModelFile& file, const DecoderOptions& options);
};

}  // namespace lm
