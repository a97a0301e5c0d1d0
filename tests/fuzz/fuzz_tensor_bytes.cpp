// Bytes -> edits of the tensor data of the shared models (../shared/models: tiny-random's
// quantized Llamas and stories260K), their headers left valid -> load and two forward passes
// (a 2-token prompt, then one decode step). Every input thus reaches the loader's repacking and
// the kernels with hostile numbers: NaN, Inf, subnormal and huge f16 block scales, any 6-bit
// and int8 sub-scales, any quant bits, non-finite f32/f16/bf16 weights and norms.
//
// Input: byte 0 picks the model, then 8-byte edits {tensor, kind, uint32 where, uint16 value}.
// The model stays loaded once in memory; each run applies its edits and undoes them after.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz.h"
#include "weights/gguf.h"
#include "weights/model_file.h"
#include "weights/quant.h"

namespace {

using namespace lm;

// The models, each in memory of its own that the edits write to.
std::vector<ModelFile>& models() {
    static std::vector<ModelFile> all;
    return all;
}

// The 16-bit patterns worth trying as an f16/bf16 scale or weight; `value` picks one, or (half
// the time) any pattern.
uint16_t half_bits(uint16_t value, bool bf16) {
    static const uint16_t f16[] = {0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFFFF, 0x0001, 0x03FF, 0x8001,
                                   0x7BFF, 0xFBFF, 0x0000, 0x8000, 0x0400, 0x3C00, 0x5BFF, 0x7800};
    static const uint16_t b16[] = {0x7F80, 0xFF80, 0x7FC0, 0x7F81, 0xFFFF, 0x0001, 0x007F, 0x8001,
                                   0x7F7F, 0xFF7F, 0x0000, 0x8000, 0x0080, 0x3F80, 0x5F00, 0x7F00};
    if (value & 0x8000) return static_cast<uint16_t>(value * 0x9E37u);
    return (bf16 ? b16 : f16)[value & 15];
}

float float_value(uint16_t value) {
    static const float specials[] = {INFINITY, -INFINITY, NAN, -NAN, 1e-45f, 1e-39f, 3.4e38f, -3.4e38f,
                                     0.0f,     -0.0f,     1e30f, 65504.f, 1.0f, -1.0f, 1e-30f, 2.0f};
    if (value & 0x8000) {
        const uint32_t bits = static_cast<uint32_t>(value) * 0x9E3779B1u;  // any bit pattern
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    }
    return specials[value & 15];
}

// Where a block of `type` keeps its f16 scales (d, and dmin or m) and its 8-bit sub-scales.
struct BlockLayout {
    size_t scales[2];
    int n_scales;
    size_t sub_scales, n_sub_scales;
};
BlockLayout layout(DType type) {
    switch (type) {
        case DType::Q4_0: return {{offsetof(block_q4_0, d)}, 1, 0, 0};
        case DType::Q4_1: return {{offsetof(block_q4_1, d), offsetof(block_q4_1, m)}, 2, 0, 0};
        case DType::Q5_0: return {{offsetof(block_q5_0, d)}, 1, offsetof(block_q5_0, qh), 4};
        case DType::Q8_0: return {{offsetof(block_q8_0, d)}, 1, 0, 0};
        case DType::Q4_K:
            return {{offsetof(block_q4_K, d), offsetof(block_q4_K, dmin)}, 2, offsetof(block_q4_K, scales), 12};
        case DType::Q6_K: return {{offsetof(block_q6_K, d)}, 1, offsetof(block_q6_K, scales), QK_K / 16};
        default: return {{0}, 0, 0, 0};
    }
}

// One edit of tensor t's bytes; the bytes it overwrites are appended to `undo` first.
struct Saved {
    uint8_t* at;
    uint8_t bytes[256];
    size_t n;
};
void edit(const Tensor& t, uint8_t kind, uint32_t where, uint16_t value, std::vector<Saved>& undo) {
    uint8_t* data = static_cast<uint8_t*>(const_cast<void*>(t.data));
    const DTypeInfo& ti = info(t.type);
    const size_t n_blocks = t.nbytes / ti.block_bytes;
    if (n_blocks == 0) return;
    auto write = [&](size_t offset, const void* bytes, size_t n) {
        if (offset + n > t.nbytes) return;
        Saved s{data + offset, {}, n};
        std::memcpy(s.bytes, s.at, n);
        undo.push_back(s);
        std::memcpy(s.at, bytes, n);
    };
    const size_t block = where % n_blocks, at = block * ti.block_bytes;
    const BlockLayout l = layout(t.type);
    switch (kind % 5) {
        case 0:  // a block scale, or a float weight, set to a special value
        case 1: {
            if (t.type == DType::F32) {
                const float f = float_value(value);
                write(at, &f, 4);
            } else if (t.type == DType::F16 || t.type == DType::BF16) {
                const uint16_t h = half_bits(value, t.type == DType::BF16);
                write(at, &h, 2);
            } else if (l.n_scales) {
                const uint16_t h = half_bits(value, false);
                write(at + l.scales[kind % l.n_scales], &h, 2);
            }
            break;
        }
        case 2:  // a sub-scale byte (Q4_K's 6-bit scales and mins, Q6_K's int8 scales, Q5_0's high bits)
            if (l.n_sub_scales) {
                const uint8_t b = static_cast<uint8_t>(value);
                write(at + l.sub_scales + (value >> 8) % l.n_sub_scales, &b, 1);
            }
            break;
        case 3:  // two raw bytes anywhere in the tensor
            write(where % t.nbytes, &value, 2);
            break;
        default: {  // a whole block (64 bytes of plain floats) filled with one byte
            uint8_t fill[sizeof Saved::bytes];
            std::memset(fill, value & 0xFF, sizeof fill);
            const size_t n = std::min<size_t>(ti.block_size > 1 ? ti.block_bytes : 64, sizeof fill);
            write(at, fill, std::min(n, t.nbytes - at));
        }
    }
}

// Load (with repacking) and two forward passes: a 2-token prompt, then one decode step.
void run_model(const ModelFile& file) {
    std::unique_ptr<Decoder> model = load_decoder(file, 4, 2);
    const int vocab = model->vocab_size();
    const int tokens[3] = {1, vocab - 1, vocab / 2};
    model->forward(tokens, 2, 0, 1);
    model->forward(tokens + 2, 1, 2, 1);
}

// A shared model cut down so that a run takes a millisecond on average: one layer (`layer` of the
// original's), `dim` x `hidden`, 32 tokens. Every tensor keeps the first blocks of its first
// rows: the shared file's own bytes, block scales included (dim and hidden stay multiples of
// the block sizes). Written as GGUF and read back, so the reader checks it like any file.
ModelFile shrink(const std::string& path, int layer, int64_t dim, int64_t hidden) {
    const ModelFile big = load_model(path);
    const Config c = read_config(big);
    const int64_t vocab = 32, head_dim = dim / c.n_heads;
    auto resize = [&](int64_t n) {
        return n == c.dim ? dim : n == c.hidden_dim ? hidden : n == c.vocab_size ? vocab
             : n == c.kv_dim() ? head_dim * c.n_kv_heads : n;
    };
    Metadata meta;
    for (const auto& [key, value] : big.meta.entries)
        if (key.rfind("tokenizer.", 0) != 0) meta.entries.emplace_back(key, value);
    auto set = [&](const char* key, int64_t v) {
        meta.set(std::string("llama.") + key, Value::of_int(ValueType::U32, v));
    };
    set("embedding_length", dim), set("feed_forward_length", hidden), set("block_count", 1);
    set("rope.dimension_count", head_dim);
    std::vector<std::vector<uint8_t>> bytes;
    std::vector<Tensor> tensors;
    const std::string keep = "blk." + std::to_string(layer) + ".";
    for (const Tensor& t : big.tensors) {
        const bool block = t.name.rfind("blk.", 0) == 0;
        if (block && t.name.rfind(keep, 0) != 0) continue;
        Tensor small = t;
        if (block) small.name = "blk.0." + t.name.substr(keep.size());
        small.ne[0] = resize(t.ne[0]), small.ne[1] = resize(t.ne[1]);
        if (small.ne[0] % info(t.type).block_size) continue;  // a q6_K output.weight: then tied
        const size_t row = row_bytes(t.type, t.ne[0]), small_row = row_bytes(t.type, small.ne[0]);
        std::vector<uint8_t>& data = bytes.emplace_back();
        for (int64_t r = 0; r < small.ne[1]; ++r) {
            const uint8_t* from = static_cast<const uint8_t*>(t.data) + r * row;
            data.insert(data.end(), from, from + small_row);
        }
        small.data = data.data(), small.nbytes = data.size();
        tensors.push_back(small);
    }
    const std::string tmp =
        std::filesystem::temp_directory_path() / ("fuzz_tensor_bytes-" + std::to_string(getpid()) + ".gguf");
    write_gguf(tmp, meta, tensors);
    const MappedFile written(tmp);
    std::filesystem::remove(tmp);
    // A copy in memory of its own (page-aligned, like a mapping) that the edits may write to.
    return read_gguf(std::make_shared<const MappedFile>(
        path, std::string_view(reinterpret_cast<const char*>(written.data()), written.size())));
}

}  // namespace

// Reads the models once; without ../shared/models the harness has nothing to fuzz (an error in
// CI, a skip elsewhere, as in the test suite).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
    omp_set_num_threads(1);  // runs are tiny: no thread start-up per load
    struct Source {
        const char* file;
        int layer;
        int64_t dim, hidden;
    };
    static const Source sources[] = {
        {"tiny-random/rq-Q4_0.gguf", 0, 64, 64},     {"tiny-random/rq-Q4_1.gguf", 0, 64, 64},
        {"tiny-random/rq-Q5_0.gguf", 0, 64, 64},     {"tiny-random/rq-Q8_0.gguf", 0, 64, 64},
        {"tiny-random/rq-Q4_K_M.gguf", 1, 256, 256},  // its second layer mixes in q6_K
        {"tiny-random/rq-Q6_K.gguf", 0, 256, 256},   {"stories260K/stories260K-F32.gguf", 0, 64, 172},
        {"stories260K/stories260K-F16.gguf", 2, 64, 172}, {"stories260K/stories260K-BF16.gguf", 4, 64, 172}};
    for (const Source& s : sources) {
        const std::string path = std::string("../shared/models/") + s.file;
        if (!std::filesystem::exists(path)) {
            const char* ci = std::getenv("CI");
            const bool required = ci && !std::strcmp(ci, "true");
            std::fprintf(stderr, "fuzz_tensor_bytes: %s is missing%s\n", path.c_str(), required ? "" : "; skipped");
            std::exit(required ? 1 : 0);
        }
        models().push_back(shrink(path, s.layer, s.dim, s.hidden));
        run_model(models().back());  // unedited, it must run (an lm::Error here stops the harness)
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const ModelFile& file = models()[data[0] % models().size()];
    const std::vector<Tensor>& tensors = file.tensors;
    std::vector<Saved> undo;
    for (size_t i = 1; i + 8 <= size && undo.size() < 64; i += 8) {
        uint32_t where;
        uint16_t value;
        std::memcpy(&where, data + i + 2, 4);
        std::memcpy(&value, data + i + 6, 2);
        edit(tensors[data[i] % tensors.size()], data[i + 1], where, value, undo);
    }
    lm::fuzz::expect_clean([&] { run_model(file); });
    for (auto s = undo.rbegin(); s != undo.rend(); ++s) std::memcpy(s->at, s->bytes, s->n);
    return 0;
}
