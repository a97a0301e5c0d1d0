// Hugging Face safetensors, and Hugging Face model directories built on it.
// File layout: u64 N (little-endian), N bytes of JSON
//   {"NAME": {"dtype": "F32", "shape": [rows, cols], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {...}}
// then the data; offsets count from the end of the header, shapes are row-major (last
// dimension contiguous, the reverse of ggml order).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "weights/model_file.h"

namespace lm {

// One tensor as the header describes it, checked against the file.
struct SafetensorsEntry {
    std::string name;
    std::string dtype;           // "F32", "I64", ... (always a dtype safetensors defines)
    std::vector<int64_t> shape;  // row-major, as written
    const uint8_t* data = nullptr;
    size_t nbytes = 0;
};

// Parses and validates the header: known dtypes, sizes that match the shapes, offsets
// inside the file and not overlapping. Throws lm::Error naming the file.
std::vector<SafetensorsEntry> parse_safetensors(const MappedFile& file);

// A single .safetensors file: its F32/F16/BF16 tensors under their own names, in ggml
// order (vectors widened to f32); other dtypes are an error. The metadata stays empty.
ModelFile read_safetensors(std::shared_ptr<const MappedFile> mapping);

// A Hugging Face model directory (config.json, model.safetensors) for GPT-2, BERT or
// Llama, described as llama.cpp's converter would write it as GGUF: the ARCH.* keys and
// llama.cpp's tensor names (the tokenizer files are read a level up, by open_model). Tensors stay views into
// the mapping except where the layout must change (GPT-2's Conv1D matrices are transposed,
// Llama's q/k rows permuted for adjacent-pair RoPE), which are copied once.
ModelFile read_hf_directory(const std::string& dir);

}  // namespace lm
