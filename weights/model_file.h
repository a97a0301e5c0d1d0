// An opened model file: metadata, tensor views into the mapping, and the mapping that keeps
// them alive. Loading never copies weights.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "weights/metadata.h"
#include "weights/mmap.h"
#include "weights/tensor.h"

namespace lm {

struct ModelFile {
    std::string path;
    std::string format;  // "gguf", "llama2c" or "safetensors"
    std::shared_ptr<const MappedFile> mapping;
    std::vector<std::vector<uint8_t>> owned;  // rare synthesized data (none for GGUF)
    Metadata meta;
    std::vector<Tensor> tensors;

    const Tensor* find(std::string_view name) const;
    const Tensor& get(std::string_view name) const;  // throws "missing tensor NAME"
    std::string architecture() const;                // general.architecture
};

// Opens a GGUF file or a llama2.c checkpoint, chosen by its first bytes. A llama2.c file
// is described with the metadata keys and tensor names a llama GGUF would carry.
ModelFile load_model(const std::string& path);

}  // namespace lm
