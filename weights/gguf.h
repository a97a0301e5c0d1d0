// GGUF v2/v3: reading (memory-mapped, zero-copy tensors) and writing (streamed, atomic).
// Layout (GGUF spec): magic "GGUF", u32 version, u64 tensor count, u64 metadata count,
// metadata key/values, tensor infos, padding to general.alignment, tensor data.
#pragma once
#include <string>
#include <vector>

#include "weights/model_file.h"

namespace lm {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" little-endian
constexpr uint32_t kGgufDefaultAlignment = 32;

// Parses a GGUF file already mapped; every offset, size and count is checked against the
// file size. Throws lm::Error naming the file and the problem.
ModelFile read_gguf(std::shared_ptr<const MappedFile> mapping);

// Adds what llama.cpp's loader requires and lm does without (docs/gguf.md): a GPT-2's
// output.weight (lm ties the classifier to token_embd when it is absent; the copy points at
// token_embd's data) and a BERT's tokenizer.ggml.token_type_count (token_types.weight's rows).
// Every GGUF writer of lm calls it before write_gguf.
void add_llama_cpp_requirements(Metadata& meta, std::vector<Tensor>& tensors);

// Writes metadata and tensors (data copied from each tensor's pointer) to `path` through a
// temporary file synced to disk and renamed into place, so neither a failed write nor a crash
// (of lm or of the machine) leaves a partial file; errors name `path` and the system's reason.
void write_gguf(const std::string& path, const Metadata& meta, const std::vector<Tensor>& tensors);

}  // namespace lm
