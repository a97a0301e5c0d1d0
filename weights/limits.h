// Limits instead of trust: the largest value lm accepts for each count and length a model
// file states, checked before anything is allocated from it. Each is far above any real
// model (noted beside it) and low enough that a lying header cannot exhaust memory.
// Sizes derived from these go through checked_mul/checked_add (weights/error.h).
#pragma once
#include <cstdint>
#include <string>

namespace lm::limits {

// GGUF header and metadata.
constexpr uint64_t kMaxTensors = 1 << 20;          // tensor infos (Llama 3 405B: ~1,100)
constexpr uint64_t kMaxMetadataEntries = 1 << 20;  // key/value pairs (real files: < 100)
constexpr uint64_t kMaxArrayLength = 1 << 26;      // metadata array elements (vocabularies: < 300k)
constexpr int kMaxArrayDepth = 4;                  // arrays of arrays
constexpr uint64_t kMaxStringBytes = 1 << 24;      // one metadata string
constexpr uint64_t kMaxNameBytes = 1024;           // a key or tensor name (llama.cpp: 64)

// Tensors.
constexpr int kMaxDims = 4;
constexpr uint64_t kMaxTensorElements = 1ull << 40;  // also bounds each dimension

// Hyperparameters.
constexpr int64_t kMaxVocab = 1 << 22;           // tokens (Gemma: 256k)
constexpr int64_t kMaxContext = 1 << 22;         // positions (Llama 3.1: 128k)
constexpr int64_t kMaxEmbedding = 1 << 16;       // d_model (Llama 3 405B: 16k)
constexpr int64_t kMaxFeedForward = 1 << 18;     // hidden units (405B: 53k)
constexpr int64_t kMaxLayers = 1024;             // blocks (405B: 126)
constexpr int64_t kMaxHeads = 1024;              // attention heads (405B: 128)

// Text formats.
constexpr uint64_t kMaxSafetensorsHeader = 100u << 20;  // header JSON bytes (real: a few hundred KB)
constexpr int kMaxJsonDepth = 64;                        // nesting (tokenizer.json: < 10)

// Buffers sized from these (KV cache, activations) are checked against the machine too:
// fails with "WHAT needs N MiB, more than this machine's M MiB" + hint when `bytes` exceed
// its physical memory, before the allocation would be zero-filled and the process killed.
void check_fits_in_memory(uint64_t bytes, const std::string& what, const std::string& hint = "");

}  // namespace lm::limits
