// Hugging Face files, which lm reads by path: the input is split at kSeparator into the
// files of one layout (first byte), written to a private directory, and read as lm does:
//   0: vocab.txt                      (BERT WordPiece)
//   1: vocab.json, merges.txt         (GPT-2 BPE)
//   2: tokenizer.json
//   3: config.json, model.safetensors, vocab.txt   (a model directory: read_hf_directory)
#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include <filesystem>
#include <fstream>

#include "tests/fuzz/fuzz.h"
#include "weights/safetensors.h"

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSeparator = "\n--next-file--\n";

void remove_scratch();

const fs::path& scratch() {
    static const fs::path dir = [] {
        const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
        // libFuzzer may end with _Exit, skipping atexit: first sweep away dead runs' dirs.
        std::error_code ec;
        for (const fs::directory_entry& e : fs::directory_iterator(base, ec)) {
            const std::string name = e.path().filename().string();
            if (name.rfind("lm-fuzz-hf-", 0) == 0 && kill(std::atoi(name.c_str() + 11), 0) != 0) fs::remove_all(e.path(), ec);
        }
        fs::path d = base / ("lm-fuzz-hf-" + std::to_string(getpid()));
        fs::create_directories(d);
        std::atexit(remove_scratch);
        return d;
    }();
    return dir;
}

void remove_scratch() {
    std::error_code ec;
    fs::remove_all(scratch(), ec);
}

void write(const std::string& name, std::string_view bytes) {
    std::ofstream(scratch() / name, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const int layout = data[0] % 4;
    std::string_view rest = lm::fuzz::bytes(data + 1, size - 1);
    static const char* names[4][3] = {{"vocab.txt"}, {"vocab.json", "merges.txt"}, {"tokenizer.json"},
                                      {"config.json", "model.safetensors", "vocab.txt"}};
    for (const fs::directory_entry& e : fs::directory_iterator(scratch())) fs::remove(e.path());
    for (const char* name : names[layout]) {
        if (!name) break;
        const size_t cut = rest.find(kSeparator);
        write(name, rest.substr(0, cut));
        rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + kSeparator.size());
    }
    lm::fuzz::expect_clean([&] {
        if (layout == 3) {
            const lm::ModelFile file = lm::read_hf_directory(scratch().string());
            lm::fuzz::exercise_model(file);
            return;
        }
        const lm::Tokenizer tok = lm::Tokenizer::from_files(scratch().string());
        const std::vector<int32_t> ids = tok.encode("Hello, world! he said 'll \xE4\xB8\xAD caf\xC3\xA9", true, true);
        tok.decode(ids);
        for (int32_t id = 0; id < tok.n_vocab() && id < 256; ++id) tok.decode_token(id - 1, id);
    });
    for (const fs::directory_entry& e : fs::directory_iterator(scratch())) fs::remove(e.path());
    return 0;
}
