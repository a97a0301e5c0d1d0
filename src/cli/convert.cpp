// lm convert IN OUT.gguf [--type T]: a llama2.c checkpoint (with its tokenizer), a GGUF file
// or a Hugging Face directory (config.json, model.safetensors, vocabulary files) to a GGUF in
// llama.cpp's tensor naming, weights stored as T.
#include <cstdio>

#include "src/cli/cli.h"
#include "weights/error.h"
#include "weights/gguf.h"
#include "weights/quant.h"

namespace lm {

namespace {

// llama.cpp's general.file_type values (llama_ftype) for the types we write.
int64_t file_type(DType t) {
    switch (t) {
        case DType::F32: return 0;
        case DType::F16: return 1;
        case DType::Q8_0: return 7;
        case DType::BF16: return 32;
        default: return 0;
    }
}

// Re-types one tensor; 1-D tensors (norms) stay f32, as llama.cpp keeps them.
Tensor convert_tensor(const Tensor& src, DType want, std::vector<uint8_t>& storage) {
    DType type = src.n_dims == 1 ? DType::F32 : want;
    if (src.ne[0] % info(type).block_size) {
        std::fprintf(stderr, "lm: %s: row length %lld is not a multiple of %d; stored as f16\n", src.name.c_str(),
                     static_cast<long long>(src.ne[0]), info(type).block_size);
        type = DType::F16;
    }
    Tensor out = src;
    out.type = type;
    out.nbytes = row_bytes(type, src.ne[0]) * src.rows();
    if (type == src.type) return out;  // same bytes: written straight from the mapping
    storage.resize(out.nbytes);
    std::vector<float> row(src.ne[0]);
    for (int64_t r = 0; r < src.rows(); ++r) {
        dequantize_row(src.type, src.row(r), row.data(), src.ne[0]);
        quantize_row(type, row.data(), storage.data() + r * out.row_size(), src.ne[0]);
    }
    out.data = storage.data();
    return out;
}

}  // namespace

const char* const kConvertHelp =
    "usage: lm convert IN OUT.gguf [options]\n"
    "Converts a llama2.c checkpoint, a GGUF file or a Hugging Face directory (GPT-2, BERT, Llama, Qwen2,\n"
    "Phi-3, Gemma 2: config.json, model.safetensors and vocabulary files) to a GGUF with llama.cpp's tensor names\n"
    "and the tokenizer embedded.\n"
    "  --type T               weight type: f32, f16, bf16 or q8_0 (f32); also --outtype\n"
    "  --tokenizer PATH       a llama2.c checkpoint's tokenizer.bin (default: one beside it)\n"
    "example:\n"
    "  lm convert stories260K.bin out.gguf --tokenizer tok512.bin --type q8_0\n";

int cmd_convert(Args& args) {
    const std::string type_name = args.text({"--type", "--outtype"}, "f32");
    const std::string tokenizer_path = args.text({"--tokenizer"}, "");
    const auto pos = args.positional(2, 2, "lm convert IN OUT.gguf [--type f32|f16|bf16|q8_0] [--tokenizer PATH]");
    DType type;
    if (!parse_dtype(type_name.c_str(), &type) ||
        !(type == DType::F32 || type == DType::F16 || type == DType::BF16 || type == DType::Q8_0))
        fail("--type: '", type_name, "' is not one of f32, f16, bf16, q8_0");
    ModelFile file = open_model(pos[0], tokenizer_path);
    if (!file.meta.has("tokenizer.ggml.model")) fail(pos[0], ": has no tokenizer to embed");

    Metadata meta = file.meta;
    meta.set("general.file_type", Value::of_int(ValueType::U32, file_type(type)));
    std::vector<std::vector<uint8_t>> storage(file.tensors.size());
    std::vector<Tensor> tensors;
    for (size_t i = 0; i < file.tensors.size(); ++i) tensors.push_back(convert_tensor(file.tensors[i], type, storage[i]));
    add_llama_cpp_requirements(meta, tensors);
    write_gguf(pos[1], meta, tensors);
    std::fprintf(stderr, "lm: wrote %s (%zu tensors, %s)\n", pos[1].c_str(), tensors.size(), dtype_name(type));
    return 0;
}

}  // namespace lm
