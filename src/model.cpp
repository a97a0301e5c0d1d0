#include "src/model.h"

#include "src/gpt2.h"
#include "src/llama.h"
#include "weights/error.h"

namespace lm {

namespace {
struct Architecture {
    const char* name;
    std::unique_ptr<Decoder> (*load)(const ModelFile&, int context, int max_batch);
};

template <typename Model>
std::unique_ptr<Decoder> make(const ModelFile& file, int context, int max_batch) {
    return std::make_unique<Model>(file, context, max_batch);
}

// A new architecture adds one row here and its own file in src/.
constexpr Architecture kArchitectures[] = {
    {"llama", make<Llama>},
    {"gpt2", make<Gpt2>},
};
}  // namespace

std::unique_ptr<Decoder> load_decoder(const ModelFile& file, int context, int max_batch) {
    const std::string arch = file.meta.get_string("general.architecture");
    std::string names;
    for (const Architecture& a : kArchitectures) {
        if (arch == a.name) return a.load(file, context, max_batch);
        names += names.empty() ? a.name : std::string(", ") + a.name;
    }
    fail(file.path, ": unknown architecture '", arch, "' (lm runs: ", names, ")");
}

}  // namespace lm
