// llama2.c checkpoints (fp32): the legacy format (7 int32 header; negative vocab_size means
// a separate classifier) and export version 1 (magic "ak42", 256-byte header).
#pragma once
#include "weights/model_file.h"

namespace lm {

constexpr uint32_t kLlama2cMagic = 0x616b3432;  // "ak42" as llama2.c's export writes it

// Exposes the checkpoint's weights as views with llama.cpp's tensor names and fills the
// llama.* metadata keys. Throws lm::Error on a malformed or truncated file.
ModelFile read_llama2c(std::shared_ptr<const MappedFile> mapping);

}  // namespace lm
