// Every GGUF writer of lm against the keys and tensors llama.cpp's loader requires, as
// docs/gguf.md lists them (issue 16, item 1): the tables on that page are parsed here, so
// the page and the writers cannot drift apart. Also: lm train --init on a GPT-2 with an
// output.weight of its own trains it untied, and ties one equal to token_embd.
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include "tests/lm_process.h"
#include "weights/gguf.h"
#include "weights/model_file.h"

using namespace lm;

namespace {

struct Requirement {
    std::string kind, name, shape;  // kind "key" or "tensor"; shape "[n_embd, n_vocab]"
};

// The rows "| arch | key|tensor | name | shape |" of docs/gguf.md for one architecture.
std::vector<Requirement> requirements(const std::string& arch) {
    std::istringstream doc(testing::read_file_bytes("docs/gguf.md"));
    std::vector<Requirement> out;
    auto trim = [](std::string s) {
        s.erase(0, s.find_first_not_of(' '));
        s.erase(s.find_last_not_of(' ') + 1);
        return s;
    };
    for (std::string line; std::getline(doc, line);) {
        if (line.rfind("| " + arch + " |", 0) != 0) continue;
        std::vector<std::string> cells;
        for (size_t at = 1, bar; (bar = line.find('|', at)) != std::string::npos; at = bar + 1)
            cells.push_back(trim(line.substr(at, bar - at)));
        REQUIRE(cells.size() == 4);
        out.push_back({cells[1], cells[2], cells[3]});
    }
    return out;
}

// A dimension as docs/gguf.md writes it: a sum of terms, each a symbol or k*symbol.
int64_t dimension(const std::string& expr, const std::map<std::string, int64_t>& symbols) {
    int64_t sum = 0;
    std::istringstream terms(expr);
    for (std::string term; terms >> term;) {
        if (term == "+") continue;
        int64_t factor = 1;
        if (const size_t star = term.find('*'); star != std::string::npos) {
            factor = std::stoll(term.substr(0, star));
            term = term.substr(star + 1);
        }
        const auto it = symbols.find(term);
        REQUIRE_MESSAGE(it != symbols.end(), "unknown symbol ", term);
        sum += factor * it->second;
    }
    return sum;
}

// Checks a written file against docs/gguf.md; returns the number of requirements checked.
int check_llama_cpp_requirements(const std::string& path, const std::string& arch) {
    const ModelFile f = load_model(path);
    INFO(path);
    REQUIRE(f.architecture() == arch);
    const Metadata& m = f.meta;
    const int64_t layers = m.get_int(arch + ".block_count", 0), heads = m.get_int(arch + ".attention.head_count", 1);
    const auto* tokens = m.get_strings("tokenizer.ggml.tokens");
    const std::map<std::string, int64_t> symbols = {
        {"n_embd", m.get_int(arch + ".embedding_length", 0)},
        {"n_ff", m.get_int(arch + ".feed_forward_length", 0)},
        {"n_ctx", m.get_int(arch + ".context_length", 0)},
        {"n_vocab", tokens ? static_cast<int64_t>(tokens->size()) : -1},
        {"n_embd_gqa", m.get_int(arch + ".embedding_length", 0) / heads *
                           m.get_int(arch + ".attention.head_count_kv", heads)},
        {"n_types", m.get_int("tokenizer.ggml.token_type_count", -1)}};
    int checked = 0;
    const std::vector<Requirement> reqs = requirements(arch);
    REQUIRE(reqs.size() > 10);
    for (const Requirement& r : reqs) {
        if (r.kind == "key") {
            INFO("key ", r.name);
            CHECK(m.has(r.name));
            ++checked;
            continue;
        }
        REQUIRE(r.kind == "tensor");
        const bool per_layer = r.name.rfind("blk.N.", 0) == 0;
        for (int64_t l = 0; l < (per_layer ? layers : 1); ++l) {
            const std::string name = per_layer ? "blk." + std::to_string(l) + "." + r.name.substr(6) : r.name;
            INFO("tensor ", name, " ", r.shape);
            const Tensor* t = f.find(name);
            REQUIRE(t);
            std::vector<std::string> dims;
            std::string inner = r.shape.substr(1, r.shape.size() - 2);
            for (size_t at = 0;;) {
                const size_t comma = inner.find(',', at);
                dims.push_back(inner.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
                if (comma == std::string::npos) break;
                at = comma + 1;
            }
            CHECK(t->n_dims == static_cast<int>(dims.size()));
            for (size_t d = 0; d < dims.size() && d < 4; ++d) CHECK(t->ne[d] == dimension(dims[d], symbols));
            ++checked;
        }
    }
    return checked;
}

void run_ok(const std::string& args) {
    const testing::LmResult r = testing::run_lm(args);
    INFO("lm ", args, "\n", r.err);
    REQUIRE(r.status == 0);
}

}  // namespace

TEST_SUITE("gguf writers") {

TEST_CASE("convert, quantize and init write what llama.cpp's loader requires (docs/gguf.md)") {
    const std::string g = testing::temp_path("w-gpt2.gguf"), b = testing::temp_path("w-bert.gguf"),
                      l = testing::temp_path("w-llama.gguf"), i = testing::temp_path("w-init.gguf"),
                      gq = testing::temp_path("w-gpt2-q8_0.gguf");
    run_ok("convert tests/ref/gpt2 " + g);
    CHECK(check_llama_cpp_requirements(g, "gpt2") > 20);
    const ModelFile gf = load_model(g);  // output.weight: the tied classifier, written out
    CHECK(std::memcmp(gf.get("output.weight").data, gf.get("token_embd.weight").data, gf.get("output.weight").nbytes) == 0);
    run_ok("convert tests/ref/bert " + b);
    CHECK(check_llama_cpp_requirements(b, "bert") > 20);
    CHECK(load_model(b).meta.get_int("tokenizer.ggml.token_type_count", 0) == 2);
    run_ok("convert tests/ref/llama " + l);
    CHECK(check_llama_cpp_requirements(l, "llama") > 10);
    run_ok("quantize " + g + " " + gq + " Q8_0");
    CHECK(check_llama_cpp_requirements(gq, "gpt2") > 20);
    run_ok("init --shape 64,128,2,4,2,300,32 " + i);
    CHECK(check_llama_cpp_requirements(i, "llama") > 10);
    CHECK(load_model(i).meta.get_strings("tokenizer.ggml.tokens")->size() == 300);
    const std::string stories = testing::shared_file("models/stories260K/stories260K.bin");
    const std::string tok = testing::shared_file("models/stories260K/tok512.bin");
    if (stories.empty() || tok.empty()) return;
    const std::string s = testing::temp_path("w-stories.gguf"), sq = testing::temp_path("w-stories-q4km.gguf");
    run_ok("convert " + stories + " " + s + " --tokenizer " + tok);
    CHECK(check_llama_cpp_requirements(s, "llama") > 10);
    run_ok("quantize " + s + " " + sq + " Q4_K_M");
    CHECK(check_llama_cpp_requirements(sq, "llama") > 10);
}

TEST_CASE("lm train writes llama, gpt2 and bert files llama.cpp loads; --init trains a GPT-2's own head untied") {
    const std::string corpus = testing::corpus_slice("writers_corpus.txt", 20000);
    if (corpus.empty()) return;
    const std::string common = " --size tiny --ctx 16 --batch 2 --iters 2 -t 2 -q";
    std::map<std::string, std::string> out;
    for (const char* arch : {"llama", "gpt2", "bert"}) {
        out[arch] = testing::temp_path(std::string("w-train-") + arch + ".gguf");
        run_ok("train " + corpus + " -o " + out[arch] + " --arch " + arch + common);
        CHECK(check_llama_cpp_requirements(out[arch], arch) > 10);
    }
    // --init with a longer --ctx: the file's 16 positions, then 16 from the init (lr 0: nothing moves).
    const std::string longer = testing::temp_path("w-bert-ctx32.gguf");
    run_ok("train " + corpus + " --init " + out["bert"] + " -o " + longer + " --ctx 32 --batch 2 --iters 1 --lr 0 -t 2 -q");
    {
        const ModelFile from = load_model(out["bert"]), to = load_model(longer);
        const Tensor &a = from.get("position_embd.weight"), &b = to.get("position_embd.weight");
        REQUIRE(a.rows() == 16);
        REQUIRE(b.rows() == 32);
        CHECK(std::memcmp(a.data, b.data, a.nbytes) == 0);
        CHECK(b.f32()[16 * b.ne[0]] != 0.0f);
        CHECK(to.meta.get_int("bert.context_length", 0) == 32);
        CHECK(check_llama_cpp_requirements(longer, "bert") > 10);
    }
    // Tied: output.weight equals token_embd.weight, and fine-tuning keeps them equal.
    const std::string tied = testing::temp_path("w-ft-tied.gguf");
    run_ok("train " + corpus + " --init " + out["gpt2"] + " -o " + tied + " --ctx 16 --batch 2 --iters 2 -t 2 -q");
    const ModelFile t = load_model(tied);
    CHECK(std::memcmp(t.get("output.weight").data, t.get("token_embd.weight").data, t.get("output.weight").nbytes) == 0);
    CHECK(std::memcmp(t.get("token_embd.weight").data, load_model(out["gpt2"]).get("token_embd.weight").data,
                      t.get("token_embd.weight").nbytes) != 0);  // trained
    // Untied: a GPT-2 whose output.weight differs (as a converter may write it) trains both.
    const std::string own = testing::temp_path("w-gpt2-own-head.gguf");
    {
        const ModelFile src = load_model(out["gpt2"]);
        std::vector<Tensor> tensors = src.tensors;
        std::vector<float> head;
        for (Tensor& w : tensors)
            if (w.name == "output.weight") {
                head.assign(w.f32(), w.f32() + w.count());
                for (size_t k = 0; k < head.size(); k += 3) head[k] *= 0.5f;
                w.data = head.data();
            }
        write_gguf(own, src.meta, tensors);
    }
    const std::string untied = testing::temp_path("w-ft-untied.gguf");
    run_ok("train " + corpus + " --init " + own + " -o " + untied + " --ctx 16 --batch 2 --iters 2 -t 2 -q");
    const ModelFile u = load_model(untied), before = load_model(own);
    CHECK(check_llama_cpp_requirements(untied, "gpt2") > 20);
    const size_t bytes = u.get("output.weight").nbytes;
    CHECK(std::memcmp(u.get("output.weight").data, u.get("token_embd.weight").data, bytes) != 0);
    CHECK(std::memcmp(u.get("output.weight").data, before.get("output.weight").data, bytes) != 0);  // trained
}

}  // TEST_SUITE("gguf writers")
