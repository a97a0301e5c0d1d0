// Phi-3 / Phi-3.5 mini (src/models/phi3.cpp).
#pragma once
#include "src/models/llama.h"

namespace lm {

class Phi3 : public Llama {
public:
    Phi3(const ModelFile& file, const DecoderOptions& options);
};

}  // namespace lm
