// What a new user meets first, through the binary (issue 19): every subcommand's --help lists
// each flag its source parses, lm --version names the ISA levels, text comes from files and
// standard input (-f), lm tokenize shows pieces and counts, and lm run notes a short context up
// front or shifts it (--ctx-shift).
#include <map>
#include <set>
#include <sstream>

#include "simd/kernels.h"
#include "tests/lm_process.h"
#include "tokenizer/tokenizer.h"
#include "weights/model_file.h"

using namespace lm;

namespace {

const char* kStoriesGguf = "models/stories260K/stories260K-F32.gguf";

// The body of `function` in src/cli/cli.cpp (its definition up to the closing brace at the start
// of a line).
std::string cli_function(const std::string& function) {
    const std::string source = testing::read_file_bytes("src/cli/cli.cpp");
    const size_t at = source.find(" " + function + "(Args& args");
    REQUIRE(at != std::string::npos);
    return source.substr(at, source.find("\n}\n", at) - at);
}

// The flags a source file parses, by the first name of each lookup: `{"--name", ...}`, also
// those of the shared readers in src/cli/cli.cpp that it calls (read_sampler_params, ...).
std::set<std::string> flags_parsed_in(const std::string& path) {
    std::string source = testing::read_file_bytes(path);
    REQUIRE(!source.empty());
    for (const char* reader : {"read_sampler_params", "read_cache_types"})
        if (source.find(std::string(reader) + "(args") != std::string::npos) source += cli_function(reader);
    std::set<std::string> flags;
    // (no <regex>: GCC 12's own header warns at -O1 with the sanitizers, and -Werror stops it)
    auto flag_char = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; };
    for (size_t at = source.find("{\"-"); at != std::string::npos; at = source.find("{\"-", at + 1)) {
        size_t end = at + 2;
        while (end < source.size() && flag_char(source[end])) ++end;
        if (end < source.size() && source[end] == '"') flags.insert(source.substr(at + 2, end - at - 2));
    }
    return flags;
}

// `flag` as a word of `text`: not part of a longer flag (-f inside --file does not count).
bool mentions(const std::string& text, const std::string& flag) {
    auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; };
    for (size_t at = text.find(flag); at != std::string::npos; at = text.find(flag, at + 1)) {
        const bool starts = at == 0 || !word_char(text[at - 1]);
        const bool ends = at + flag.size() == text.size() || !word_char(text[at + flag.size()]);
        if (starts && ends) return true;
    }
    return false;
}

// The number in `text` right after `label` ("decode 27 tokens" -> 27), or -1.
long number_after(const std::string& text, const std::string& label) {
    const size_t at = text.find(label);
    return at == std::string::npos ? -1 : std::strtol(text.c_str() + at + label.size(), nullptr, 10);
}

// Ids as lm tokenize prints them: space separated.
void append_id(std::string& ids, int id) {
    if (!ids.empty()) ids += ' ';
    ids += std::to_string(id);
}

}  // namespace

TEST_SUITE("cli usage") {

TEST_CASE("every subcommand answers -h and --help with its usage, each flag it parses and an example") {
    const std::map<std::string, std::vector<std::string>> sources = {
        {"run", {"src/cli/run.cpp"}},
        {"chat", {"src/cli/chat.cpp"}},
        {"info", {"src/cli/info.cpp"}},
        {"tokenize", {"src/cli/tokenize.cpp"}},
        {"logits", {"src/cli/logits.cpp"}},
        {"convert", {"src/cli/convert.cpp"}},
        {"quantize", {"src/cli/quantize.cpp"}},
        {"init", {"src/cli/init.cpp"}},
        {"bench", {"src/cli/bench.cpp"}},
        {"qa", {"src/cli/qa.cpp"}},
        {"classify", {"src/cli/classify.cpp"}},
        {"embed", {"src/cli/embed.cpp"}},
        {"eval", {"src/cli/eval.cpp", "src/cli/eval_task.cpp"}},
        {"train", {"src/cli/train.cpp"}},
    };
    for (const auto& [command, files] : sources) {
        INFO("lm ", command, " --help");
        const testing::LmResult r = testing::run_lm(command + " --help");
        CHECK(r.status == 0);
        CHECK(r.err.empty());
        CHECK(r.out.rfind("usage:", 0) == 0);
        CHECK(r.out.find("lm " + command + " ") != std::string::npos);
        CHECK(r.out.find("example") != std::string::npos);
        size_t flags = 0;
        for (const std::string& file : files)
            for (const std::string& flag : flags_parsed_in(file)) {
                INFO("flag ", flag, " of ", file);
                CHECK(mentions(r.out, flag));
                ++flags;
            }
        CHECK(flags >= 2);
        // -h is the same, also after other arguments.
        CHECK(testing::run_lm(command + " some.gguf -h").out == r.out);
    }
    const testing::LmResult top = testing::run_lm("--help");
    CHECK(top.status == 0);
    for (const auto& [command, files] : sources) CHECK(top.out.find("  " + command + " ") != std::string::npos);
    // After "--" an argument is text, not a request for help.
    testing::expect_lm_error("tokenize missing.gguf -- --help", "missing.gguf: cannot open");
}

TEST_CASE("lm --version: the version and every ISA level this CPU reaches") {
    const testing::LmResult r = testing::run_lm("--version");
    CHECK(r.status == 0);
    CHECK(r.out.rfind("lm 0.", 0) == 0);
    std::string levels;
    for (simd::Isa isa : simd::reachable_isas()) levels += std::string(" ") + simd::isa_name(isa);
    CHECK(levels.rfind(" scalar", 0) == 0);
    const std::string best = simd::isa_name(simd::best_isa());
    CHECK(r.out.find("ISA levels:" + levels + " (matmul uses " + best + ")\n") != std::string::npos);
}

TEST_CASE("tokenize -f FILE and -f - (standard input): a 1 MB text, --count, --show-pieces") {
    const std::string gguf = testing::shared_file(kStoriesGguf);
    if (gguf.empty()) return;
    const Tokenizer tok(load_model(gguf).meta);
    // Over 1 MB: more than one command-line argument may hold (128 KiB on Linux).
    std::string big;
    for (int i = 0; big.size() < (1u << 20); ++i)
        big += "Once upon a time, Lily saw " + std::to_string(i) + " birds.\n";
    const std::string big_path = testing::write_temp("big.txt", big);
    const testing::LmResult count = testing::run_lm("tokenize " + gguf + " -f " + big_path + " --count");
    CHECK(count.status == 0);
    CHECK(count.out == std::to_string(tok.encode(big, true).size()) + "\n");
    CHECK(testing::run_lm("tokenize " + gguf + " -f - --count", big_path).out == count.out);

    // -f gives the ids TEXT gives; the pieces line up with them, control tokens by name,
    // a newline escaped, and spell the text (after the space SentencePiece puts in front).
    const std::string text = "Once upon\na time";
    const std::string small_path = testing::write_temp("small.txt", text);
    const testing::LmResult ids = testing::run_lm("tokenize " + gguf + " 'Once upon\na time'");
    CHECK(ids.status == 0);
    CHECK(testing::run_lm("tokenize " + gguf + " --file " + small_path).out == ids.out);
    std::string want_ids;
    for (int32_t id : tok.encode(text, true)) append_id(want_ids, id);
    CHECK(ids.out == want_ids + "\n");
    const testing::LmResult pieces = testing::run_lm("tokenize " + gguf + " -f " + small_path + " --show-pieces");
    CHECK(pieces.status == 0);
    std::istringstream lines(pieces.out);
    std::string line, listed_ids, spelled;
    while (std::getline(lines, line)) {
        const size_t arrow = line.find(" -> '");
        REQUIRE(arrow != std::string::npos);
        REQUIRE(line.back() == '\'');
        append_id(listed_ids, std::stoi(line.substr(0, arrow)));
        const std::string piece = line.substr(arrow + 5, line.size() - arrow - 6);
        if (spelled.empty() && listed_ids.find(' ') == std::string::npos) CHECK(piece == "<s>");  // BOS
        else spelled += piece;
    }
    CHECK(listed_ids == want_ids);
    CHECK(spelled == " Once upon\\na time");
    testing::expect_lm_error("tokenize " + gguf + " -f " + small_path + " --show-pieces --count",
                             "tokenize: --show-pieces and --count: give one of them");
    testing::expect_lm_error("tokenize " + gguf + " 'two texts' -f " + small_path, "tokenize: wrong arguments");
}

TEST_CASE("run -f FILE and -f - give the prompt TEXT gives") {
    const std::string gguf = testing::shared_file(kStoriesGguf);
    if (gguf.empty()) return;
    const std::string prompt = testing::write_temp("prompt.txt", "Once upon a time");
    const testing::LmResult arg = testing::run_lm("run " + gguf + " 'Once upon a time' --temp 0 -n 20 -t 1");
    REQUIRE(arg.status == 0);
    CHECK(arg.out.rfind("Once upon a time", 0) == 0);
    const testing::LmResult file = testing::run_lm("run " + gguf + " -f " + prompt + " --temp 0 -n 20 -t 1");
    CHECK(file.status == 0);
    CHECK(file.out == arg.out);
    CHECK(testing::run_lm("run " + gguf + " -f - --temp 0 -n 20 -t 1", prompt).out == arg.out);
    // With -f the one argument is the model, whatever it looks like.
    testing::expect_lm_error("run Once -f " + prompt, "Once: cannot open");
}

TEST_CASE("run: -n beyond the context is noted once at the start; --ctx-shift keeps generating") {
    const std::string gguf = testing::shared_file(kStoriesGguf);
    if (gguf.empty()) return;
    // A context of 32 holds 27 tokens after BOS + "Once upon a time" (5 tokens).
    const std::string args = "run " + gguf + " 'Once upon a time' -c 32 -n 100 --temp 0 -t 1";
    const testing::LmResult full = testing::run_lm(args);
    CHECK(full.status == 0);
    CHECK(full.err.rfind("lm: note: -n 100 is more than the 27 tokens the context of 32 holds after the 5-token "
                         "prompt: generation stops when it is full (--ctx-shift goes on)\n",
                         0) == 0);
    CHECK(full.err.find("error") == std::string::npos);
    CHECK(number_after(full.err, "decode ") == 27);
    CHECK(full.err.find("| stop: context full\n") != std::string::npos);

    // Full at 32 tokens: BOS stays, the oldest 15 others go, the 16 left are re-processed; so
    // shifts come after 27, 42, 57, 72 and 87 generated tokens. Until the first, the text is
    // the same.
    const testing::LmResult shifted = testing::run_lm(args + " --ctx-shift");
    CHECK(shifted.status == 0);
    CHECK(shifted.err.find("note") == std::string::npos);
    CHECK(number_after(shifted.err, "decode ") == 100);
    CHECK(shifted.err.find("| stop: -n 100 | 5 context shifts\n") != std::string::npos);
    CHECK(shifted.out.size() > full.out.size());
    CHECK(shifted.out.rfind(full.out, 0) == 0);

    // -n that fits, and -n -1 (until the context is full), need no note.
    CHECK(testing::run_lm("run " + gguf + " 'Once upon a time' -c 32 -n 27 --temp 0 -t 1").err.find("note") ==
          std::string::npos);
    const testing::LmResult until_full =
        testing::run_lm("run " + gguf + " 'Once upon a time' -c 32 -n -1 --temp 0 -t 1");
    CHECK(until_full.err.find("note") == std::string::npos);
    CHECK(until_full.out == full.out);
}

}
