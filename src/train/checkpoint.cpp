// Checkpoint save / load (checkpoint.h).
#include "src/train/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "weights/error.h"
#include "weights/gguf.h"
#include "weights/model_file.h"

namespace lm {
namespace {

constexpr const char* kPrefix = "lmtrain.";

// 64-bit FNV-1a over 8-byte words (a word-wise variant of Fowler-Noll-Vo, fast enough for
// gigabytes); a trailing partial word is zero-padded.
uint64_t checksum(uint64_t h, const void* data, size_t n) {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w = 0;
        std::memcpy(&w, p + i, n - i < 8 ? n - i : 8);
        h = (h ^ w) * 0x100000001b3ULL;
    }
    return h;
}

const char* const kBertHeads[] = {"mlm", "classify", "qa"};  // BertHead order

// The tensors of a checkpoint, in file order: parameters, then first and second moments.
std::vector<Tensor> checkpoint_tensors(const TrainModel& m) {
    std::vector<Tensor> out;
    const std::pair<const char*, const std::vector<float>*> groups[] = {
        {"", &m.params}, {"adam_m.", &m.adam_m}, {"adam_v.", &m.adam_v}};
    for (const auto& [prefix, buffer] : groups)
        for (const ParamTensor& t : m.tensors) {
            Tensor v;
            v.name = prefix + t.name;
            v.type = DType::F32;
            v.n_dims = 1;
            v.ne[0] = static_cast<int64_t>(t.size);
            v.data = buffer->data() + t.offset;
            v.nbytes = sizeof(float) * t.size;
            out.push_back(v);
        }
    return out;
}

uint64_t checksum_of(const std::vector<Tensor>& tensors) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const Tensor& t : tensors) h = checksum(h, t.data, t.nbytes);
    return h;
}

}  // namespace

void train_save_checkpoint(const std::string& path, const TrainModel& m, const Metadata& run) {
    Metadata meta = run;
    for (const auto& [key, value] : run.entries)
        if (key.rfind(kPrefix, 0) == 0) fail("checkpoint ", path, ": metadata key ", key, " is reserved");
    const TrainConfig& c = m.config;
    const std::string p = kPrefix;
    auto i64 = [](int64_t v) { return Value::of_int(ValueType::I64, v); };
    meta.set(p + "arch", Value::of_string(train_arch_name(c.arch)));
    const std::pair<const char*, int> ints[] = {{"vocab_size", c.vocab_size}, {"dim", c.dim},
                                                {"n_layers", c.n_layers},     {"n_heads", c.n_heads},
                                                {"n_kv_heads", c.n_kv_heads}, {"hidden_dim", c.hidden_dim},
                                                {"max_seq_len", c.max_seq_len}, {"adam_steps", m.adam_steps},
                                                {"n_types", c.n_types},         {"n_labels", c.n_labels}};
    for (const auto& [key, value] : ints) meta.set(p + key, i64(value));
    meta.set(p + "tied_head", Value::of_bool(c.tied_head));
    meta.set(p + "head", Value::of_string(kBertHeads[static_cast<int>(c.head)]));
    meta.set(p + "norm_eps", Value::of_float(ValueType::F32, c.norm_eps));
    meta.set(p + "rope_base", Value::of_float(ValueType::F32, c.rope_base));
    const std::vector<Tensor> tensors = checkpoint_tensors(m);
    meta.set(p + "checksum", Value::of_int(ValueType::U64, static_cast<int64_t>(checksum_of(tensors))));
    write_gguf(path, meta, tensors);
}

Metadata train_load_checkpoint(const std::string& path, TrainModel& m, int B, int T) {
    const ModelFile file = load_model(path);
    const Metadata& meta = file.meta;
    const std::string p = kPrefix;
    if (!meta.has(p + "arch")) fail(path, ": not an lm training checkpoint (no ", p, "arch)");
    TrainConfig c;
    const std::string arch = meta.get_string(p + "arch");
    if (arch == "llama") c.arch = TrainArch::llama;
    else if (arch == "gpt2") c.arch = TrainArch::gpt2;
    else if (arch == "rnn") c.arch = TrainArch::rnn;
    else if (arch == "bert") c.arch = TrainArch::bert;
    else fail(path, ": unknown checkpoint architecture '", arch, "'");
    const std::string head = meta.get_string(p + "head", "mlm");
    const auto* known = std::find(std::begin(kBertHeads), std::end(kBertHeads), head);
    if (known == std::end(kBertHeads)) fail(path, ": unknown checkpoint head '", head, "'");
    c.head = static_cast<BertHead>(known - std::begin(kBertHeads));
    c.n_types = static_cast<int>(meta.get_int(p + "n_types", 2));
    c.n_labels = static_cast<int>(meta.get_int(p + "n_labels", 0));
    auto get = [&](const char* key) { return static_cast<int>(meta.get_int(p + key)); };
    c.vocab_size = get("vocab_size"), c.dim = get("dim"), c.n_layers = get("n_layers"), c.n_heads = get("n_heads");
    c.n_kv_heads = get("n_kv_heads"), c.hidden_dim = get("hidden_dim"), c.max_seq_len = get("max_seq_len");
    c.tied_head = meta.get_bool(p + "tied_head", false);
    c.norm_eps = static_cast<float>(meta.get_float(p + "norm_eps"));
    c.rope_base = static_cast<float>(meta.get_float(p + "rope_base"));
    try {
        train_model_init(m, c, B, T);
    } catch (const Error& e) {
        fail(path, ": ", e.what());
    }
    m.adam_steps = get("adam_steps");

    std::vector<Tensor> tensors = checkpoint_tensors(m);
    for (Tensor& want : tensors) {
        const Tensor* have = file.find(want.name);
        if (!have) fail(path, ": missing tensor ", want.name);
        if (have->type != DType::F32 || have->count() != want.ne[0])
            fail(path, ": tensor ", want.name, " has type ", dtype_name(have->type), " and shape ", shape_string(*have),
                 ", expected f32 [", want.ne[0], "]");
        std::memcpy(const_cast<void*>(want.data), have->data, want.nbytes);  // views point into m
    }
    if (checksum_of(tensors) != static_cast<uint64_t>(meta.get_int(p + "checksum")))
        fail(path, ": checksum mismatch, the checkpoint is corrupted");

    Metadata run;
    for (const auto& [key, value] : meta.entries)
        if (key.rfind(p, 0) != 0) run.entries.emplace_back(key, value);
    return run;
}

}  // namespace lm
