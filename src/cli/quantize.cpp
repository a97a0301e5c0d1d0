// lm quantize IN.gguf OUT.gguf TYPE: llama-quantize without an importance matrix. Upper-case
// TYPEs are llama.cpp's file types (mixes) with its per-tensor choices (llama_tensor_get_type
// in llama.cpp's src/llama-quant.cpp); lower-case ggml type names put every weight matrix in
// that one type (llama-quantize --pure). The blocks come from the reference quantizers in
// weights/, which follow ggml's, so the tensors are byte-identical to llama-quantize's.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>
#include <strings.h>

#include "simd/matmul.h"
#include "src/cli/cli.h"
#include "weights/error.h"
#include "weights/gguf.h"
#include "weights/quant.h"

namespace lm {

namespace {

// llama.cpp's file types (llama_ftype): the GGUF's general.file_type and the rules to apply.
enum class Mix { None, Q2_K, Q3_K_M, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, Q6_K, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, F16, BF16, F32 };

struct Target {
    const char* name;
    Mix mix;          // Mix::None: every weight matrix in `type` (--pure)
    DType type;       // the default type of the weight matrices
    int64_t ftype;    // general.file_type
};

constexpr Target kTargets[] = {
    {"Q2_K", Mix::Q2_K, DType::Q2_K, 10},     {"Q3_K_M", Mix::Q3_K_M, DType::Q3_K, 12},
    {"Q4_K_S", Mix::Q4_K_S, DType::Q4_K, 14}, {"Q4_K_M", Mix::Q4_K_M, DType::Q4_K, 15},
    {"Q5_K_S", Mix::Q5_K_S, DType::Q5_K, 16}, {"Q5_K_M", Mix::Q5_K_M, DType::Q5_K, 17},
    {"Q6_K", Mix::Q6_K, DType::Q6_K, 18},     {"Q4_0", Mix::Q4_0, DType::Q4_0, 2},
    {"Q4_1", Mix::Q4_1, DType::Q4_1, 3},      {"Q5_0", Mix::Q5_0, DType::Q5_0, 8},
    {"Q5_1", Mix::Q5_1, DType::Q5_1, 9},      {"Q8_0", Mix::Q8_0, DType::Q8_0, 7},
    {"F16", Mix::F16, DType::F16, 1},         {"BF16", Mix::BF16, DType::BF16, 32},
    {"F32", Mix::F32, DType::F32, 0},
    {"f32", Mix::None, DType::F32, 0},        {"f16", Mix::None, DType::F16, 1},
    {"bf16", Mix::None, DType::BF16, 32},     {"q8_0", Mix::None, DType::Q8_0, 7},
    {"q4_0", Mix::None, DType::Q4_0, 2},      {"q4_1", Mix::None, DType::Q4_1, 3},
    {"q5_0", Mix::None, DType::Q5_0, 8},      {"q5_1", Mix::None, DType::Q5_1, 9},
    {"q2_K", Mix::None, DType::Q2_K, 10},     {"q3_K", Mix::None, DType::Q3_K, 12},
    {"q4_K", Mix::None, DType::Q4_K, 15},     {"q5_K", Mix::None, DType::Q5_K, 17},
    {"q6_K", Mix::None, DType::Q6_K, 18},
};

// Exact names first (Q4_K is llama.cpp's, q4_K ggml's); then the mixes whose names are
// unambiguous in any case (q4_k_m) and ggml names in any case (q4_k).
const Target& parse_target(const std::string& name) {
    for (const Target& t : kTargets)
        if (name == t.name) return t;
    for (const Target& t : kTargets)
        if (strcasecmp(name.c_str(), t.name) == 0 && (t.mix == Mix::None || std::strlen(t.name) == 6)) return t;
    fail("TYPE '", name, "' is not a type lm quantizes to (Q2_K, Q3_K_M, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, Q6_K, "
         "Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, F16, BF16; or one type for every matrix: f16, bf16, q8_0, q4_0, q4_1, q5_0, "
         "q5_1, q2_K, q3_K, q4_K, q5_K, q6_K)");
}

// llama.cpp's model loader sorts tensors by layer (tensors outside the blk.N. layers first),
// then by name.
int layer_of(const std::string& name) {
    int layer = -1;
    if (name.starts_with("blk.")) std::from_chars(name.data() + 4, name.data() + name.size(), layer);
    return layer;
}

bool loader_order(const std::string& a, const std::string& b) {
    const int la = layer_of(a), lb = layer_of(b);
    return la != lb ? la < lb : a < b;
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// The tensors llama-quantize quantizes: weight matrices, not norms, position or token-type
// embeddings (BERT, GPT-2) or MoE router weights.
bool is_quantized(const Tensor& t) {
    const std::string& n = t.name;
    return n.size() >= 6 && n.compare(n.size() - 6, 6, "weight") == 0 && t.n_dims >= 2 && !contains(n, "_norm.weight") &&
           !contains(n, "ffn_gate_inp.weight") && n != "position_embd.weight" && n != "token_types.weight";
}

// What llama_tensor_get_type counts while it walks the tensors in file order.
struct MixState {
    int n_attention_wv = 0, i_attention_wv = 0;
    int n_layers = 0, i_ffn_down = 0;
    int n_gqa = 1;
    bool has_output = false;
    std::optional<DType> output_type;  // --output-tensor-type
};

// The first and last eighth of the layers and every third one between get more bits.
bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// llama.cpp's choice for one tensor under a mix (dense models: no MoE or 70B-specific rules).
DType mix_type(Mix mix, DType type, const Tensor& t, MixState& s, const std::string& path) {
    const std::string& n = t.name;
    if (n == "output.weight" || (!s.has_output && n == "token_embd.weight")) {
        if (s.output_type) type = *s.output_type;
        else if (t.ne[0] % info(type).block_size != 0) type = DType::Q8_0;
        else if (type != DType::Q8_0) type = DType::Q6_K;
    } else if (n == "token_embd.weight") {
        // as the default type
    } else if (contains(n, "attn_v.weight")) {
        if (mix == Mix::Q2_K) type = s.n_gqa >= 4 ? DType::Q4_K : DType::Q3_K;
        else if (mix == Mix::Q3_K_M) type = s.i_attention_wv < 2 ? DType::Q5_K : DType::Q4_K;
        else if ((mix == Mix::Q4_K_M || mix == Mix::Q5_K_M) && use_more_bits(s.i_attention_wv, s.n_attention_wv))
            type = DType::Q6_K;
        else if (mix == Mix::Q4_K_S && s.i_attention_wv < 4) type = DType::Q5_K;
        ++s.i_attention_wv;
    } else if (contains(n, "ffn_down")) {
        const int i = s.i_ffn_down, layers = s.n_layers;
        if (mix == Mix::Q2_K) type = DType::Q3_K;
        else if (mix == Mix::Q3_K_M) type = i < layers / 16 ? DType::Q5_K : DType::Q4_K;
        else if (mix == Mix::Q4_K_M) type = use_more_bits(i, layers) ? DType::Q6_K : type;
        else if (mix == Mix::Q5_K_M && use_more_bits(i, layers)) type = DType::Q6_K;
        else if (mix == Mix::Q4_K_S && i < layers / 8) type = DType::Q5_K;
        ++s.i_ffn_down;
    } else if (contains(n, "attn_output.weight")) {
        if (mix == Mix::Q2_K) type = DType::Q3_K;
        else if (mix == Mix::Q3_K_M) type = DType::Q4_K;
    } else if (contains(n, "attn_qkv.weight")) {
        if (mix == Mix::Q3_K_M) type = DType::Q4_K;
        else if (mix == Mix::Q4_K_M) type = DType::Q5_K;
        else if (mix == Mix::Q5_K_M) type = DType::Q6_K;
    }
    if (t.ne[0] % info(type).block_size != 0) {  // llama.cpp's fallbacks for short rows
        switch (type) {
            case DType::Q4_K: type = DType::Q5_0; break;
            case DType::Q5_K: type = DType::Q5_1; break;
            case DType::Q6_K: type = DType::Q8_0; break;
            default:
                fail(path, ": tensor ", n, ": row length ", t.ne[0], " is not a multiple of the ", dtype_name(type),
                     " block size ", info(type).block_size);
        }
        if (t.ne[0] % info(type).block_size != 0) type = DType::F16;
        std::fprintf(stderr, "lm: %s: row length %lld is not a multiple of 256; using %s\n", n.c_str(),
                     static_cast<long long>(t.ne[0]), dtype_name(type));
    }
    return type;
}

MixState mix_state(const ModelFile& file, const std::vector<Tensor>& tensors) {
    MixState s;
    for (const Tensor& t : tensors) {
        if (contains(t.name, "attn_v.weight") || contains(t.name, "attn_qkv.weight") || contains(t.name, "attn_kv_b.weight"))
            ++s.n_attention_wv;
        else if (t.name == "output.weight")
            s.has_output = true;
    }
    const std::string arch = file.architecture();
    s.n_layers = static_cast<int>(file.meta.get_int(arch + ".block_count", 0));
    const int64_t heads = file.meta.get_int(arch + ".attention.head_count", 1);
    const int64_t kv_heads = file.meta.get_int(arch + ".attention.head_count_kv", heads);
    s.n_gqa = kv_heads > 0 ? static_cast<int>(heads / kv_heads) : 1;
    return s;
}

// The tensor in `type`, its rows quantized by all threads (rows are independent).
Tensor quantize_tensor(const Tensor& src, DType type, std::vector<uint8_t>& storage, int threads) {
    Tensor out = src;
    out.type = type;
    out.nbytes = row_bytes(type, src.ne[0]) * src.rows();
    if (type == src.type) return out;  // the same bytes, written from the mapping
    storage.resize(out.nbytes);
    const int64_t cols = src.ne[0], rows = src.rows();
#pragma omp parallel num_threads(threads)
    {
        std::vector<float> row(static_cast<size_t>(cols));
#pragma omp for schedule(dynamic, 16)
        for (int64_t r = 0; r < rows; ++r) {
            dequantize_row(src.type, src.row(r), row.data(), cols);
            quantize_row(type, row.data(), storage.data() + r * out.row_size(), cols);
        }
    }
    out.data = storage.data();
    return out;
}

}  // namespace

const char* const kQuantizeHelp =
    "usage: lm quantize IN.gguf OUT.gguf TYPE [options]\n"
    "Quantizes a GGUF as llama.cpp's llama-quantize does without an importance matrix: the same\n"
    "per-tensor types and byte-identical blocks. Norms, position and token-type embeddings stay.\n"
    "  TYPE                   llama.cpp's file types, with its per-tensor mix: Q2_K, Q3_K_M,\n"
    "                         Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, Q6_K, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,\n"
    "                         F16, BF16 (e.g. Q4_0 keeps the classifier in q6_K); or a ggml type\n"
    "                         name for every weight matrix (llama-quantize --pure): f16, bf16,\n"
    "                         q8_0, q4_0, q4_1, q5_0, q5_1, q2_K, q3_K, q4_K, q5_K, q6_K\n"
    "  --output-tensor-type T, --token-embedding-type T\n"
    "                         a ggml type for output.weight / token_embd.weight instead (as\n"
    "                         llama-quantize's flags of the same names)\n"
    "  -t, --threads N        threads (all cores)\n"
    "example:\n"
    "  lm quantize model-f32.gguf model-q4_k_m.gguf Q4_K_M\n";

// A ggml type name given to a flag: one lm writes weights in (none when the flag is absent).
std::optional<DType> weight_type(const std::string& name, const char* flag) {
    DType type = DType::F32;
    if (name.empty()) return std::nullopt;
    if (!parse_dtype(name.c_str(), &type) || !can_quantize(type) || type == DType::Q8_1 || type == DType::Q8_K)
        fail(flag, ": '", name, "' is not a type lm writes weights in (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, ",
             "q2_K, q3_K, q4_K, q5_K, q6_K)");
    return type;
}

int cmd_quantize(Args& args) {
    const int threads = static_cast<int>(args.integer({"-t", "--threads"}, default_threads(), 1, 1024));
    const std::optional<DType> output_type =
        weight_type(args.text({"--output-tensor-type"}, ""), "--output-tensor-type");
    const std::optional<DType> embedding_type =
        weight_type(args.text({"--token-embedding-type"}, ""), "--token-embedding-type");
    const auto pos = args.positional(3, 3, "lm quantize IN.gguf OUT.gguf TYPE [-t N]");
    const Target& target = parse_target(pos[2]);
    const ModelFile file = load_model(pos[0]);
    if (file.format != "gguf") fail(pos[0], ": lm quantize reads GGUF files (lm convert makes one)");

    // llama-quantize walks (and writes) the tensors in its loader's order, and its mix rules
    // count attn_v and ffn_down tensors in that order: so do we.
    Metadata meta = file.meta;
    std::vector<Tensor> inputs = file.tensors;
    add_llama_cpp_requirements(meta, inputs);  // e.g. a GPT-2's output.weight, quantized as llama.cpp does
    std::vector<const Tensor*> order;
    for (const Tensor& t : inputs) order.push_back(&t);
    std::stable_sort(order.begin(), order.end(), [](const Tensor* a, const Tensor* b) { return loader_order(a->name, b->name); });
    MixState state = mix_state(file, inputs);
    state.output_type = output_type;
    std::vector<DType> types;
    for (const Tensor* tp : order) {  // all choices first: a bad tensor fails before any work
        const Tensor& t = *tp;
        DType type = t.type;
        if (is_quantized(t)) {
            type = target.type;
            if (target.mix != Mix::None && info(target.type).block_size > 1) type = mix_type(target.mix, type, t, state, pos[0]);
            if (embedding_type && t.name == "token_embd.weight") type = *embedding_type;
            if (output_type && t.name == "output.weight") type = *output_type;
            if (t.ne[0] % info(type).block_size != 0)
                fail(pos[0], ": tensor ", t.name, ": row length ", t.ne[0], " is not a multiple of the ",
                     dtype_name(type), " block size ", info(type).block_size);
            if (!can_dequantize(t.type)) fail(pos[0], ": tensor ", t.name, " has type ", dtype_name(t.type), ", which lm cannot read");
        }
        types.push_back(type);
    }

    meta.set("general.quantization_version", Value::of_int(ValueType::U32, 2));
    meta.set("general.file_type", Value::of_int(ValueType::U32, target.ftype));
    std::vector<std::vector<uint8_t>> storage(inputs.size());
    std::vector<Tensor> tensors;
    size_t bytes_in = 0, bytes_out = 0;
    for (size_t i = 0; i < order.size(); ++i) {
        const Tensor& t = *order[i];
        tensors.push_back(quantize_tensor(t, types[i], storage[i], threads));
        bytes_in += t.nbytes, bytes_out += tensors.back().nbytes;
        std::fprintf(stderr, "[%3zu/%3zu] %-32s %-18s %5s -> %-5s %9.3f MB -> %8.3f MB\n", i + 1, order.size(),
                     t.name.c_str(), shape_string(t).c_str(), dtype_name(t.type), dtype_name(types[i]), t.nbytes / 1048576.0,
                     tensors.back().nbytes / 1048576.0);
    }
    write_gguf(pos[1], meta, tensors);
    std::fprintf(stderr, "lm: wrote %s (%s): %.2f MB -> %.2f MB\n", pos[1].c_str(), target.name, bytes_in / 1048576.0,
                 bytes_out / 1048576.0);
    return 0;
}

}  // namespace lm
