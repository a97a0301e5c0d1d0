// Qwen2 and Qwen2.5: the Llama decoder (src/models/llama.cpp) with a bias on each of the q, k and v
// projections (blk.N.attn_{q,k,v}.bias, required) and NeoX RoPE, rotating the two halves of
// each head as Hugging Face's rotate_half does (Config::rope_neox, set for "qwen2"); the
// classifier is usually tied to the embedding. Keys are llama.cpp's: qwen2.*.
#include "src/models/qwen2.h"

namespace lm {

Qwen2::Qwen2(const ModelFile& file, const DecoderOptions& options) : Llama(file, options, "qwen2") {}

}  // namespace lm
