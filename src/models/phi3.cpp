// Phi-3 and Phi-3.5 mini: the Llama decoder (src/models/llama.cpp) with the q, k and v projections
// fused in blk.N.attn_qkv.weight and the gate and up projections fused in blk.N.ffn_up.weight
// (gate rows first, as Hugging Face's gate_up_proj), both split into row views at load; NeoX
// RoPE (Config::rope_neox). The long-context variants' rope_factors_long/short are not read.
#include "src/models/phi3.h"

#include "weights/error.h"

namespace lm {

Phi3::Phi3(const ModelFile& file, const DecoderOptions& options) : Llama(file, options, "phi3") {
    if (file.find("rope_factors_long.weight"))
        fail(file.path, ": Phi-3's long-context RoPE factors (rope_factors_long.weight) are not supported");
}

}  // namespace lm
