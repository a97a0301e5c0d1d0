#include "weights/model_file.h"

#include <cstring>

#include "weights/error.h"
#include "weights/files.h"
#include "weights/gguf.h"
#include "weights/llama2c.h"
#include "weights/safetensors.h"

namespace lm {

const Tensor* ModelFile::find(std::string_view name) const {
    for (const Tensor& t : tensors)
        if (t.name == name) return &t;
    return nullptr;
}

const Tensor& ModelFile::get(std::string_view name) const {
    const Tensor* t = find(name);
    if (!t) fail(path, ": missing tensor ", name);
    return *t;
}

std::string ModelFile::architecture() const { return meta.get_string("general.architecture"); }

ModelFile load_model(const std::string& path) {
    if (files::is_directory(path)) return read_hf_directory(path);
    auto mapping = std::make_shared<const MappedFile>(path);
    uint32_t magic = 0;
    if (mapping->size() >= 4) std::memcpy(&magic, mapping->data(), 4);
    if (magic == kGgufMagic) return read_gguf(mapping);
    // safetensors: a u64 header length, then the JSON header's opening brace.
    if (mapping->size() >= 9 && mapping->data()[8] == '{' && std::memcmp(mapping->data() + 4, "\0\0\0\0", 4) == 0)
        return read_safetensors(mapping);
    // llama2.c files have no magic in the legacy format: anything else of a plausible size
    // is tried as one, and its header validation names what is wrong.
    if (magic == kLlama2cMagic || mapping->size() >= 28) return read_llama2c(mapping);
    fail(path, ": not a model file (unknown format: neither GGUF nor llama2.c)");
}

std::string shape_string(const Tensor& t) {
    std::string s = "[";
    for (int d = 0; d < t.n_dims; ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
    return s + "]";
}

}  // namespace lm
