// Command-line plumbing shared by the subcommands: flag parsing with range checks, and
// opening a model together with its tokenizer.
#pragma once
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "src/models/model.h"
#include "src/models/sampler.h"
#include "weights/model_file.h"

namespace lm {


// Flags are looked up by name in any order (`-n 5`, `--n-predict 5`, `--temp=0`); what is
// left after all lookups are the positional arguments. Unknown flags are an error.
class Args {
public:
    Args(int argc, char** argv);  // argv[0] is the subcommand

    bool flag(std::initializer_list<const char*> names);
    std::string text(std::initializer_list<const char*> names, const std::string& fallback);
    int64_t integer(std::initializer_list<const char*> names, int64_t fallback, int64_t min, int64_t max);
    double number(std::initializer_list<const char*> names, double fallback, double min, double max);
    // The remaining arguments; fails with `usage` unless there are between min and max.
    std::vector<std::string> positional(size_t min, size_t max, const char* usage);

private:
    const std::string* value(std::initializer_list<const char*> names);
    std::vector<std::string> args_;
    std::vector<bool> used_;
    std::string command_;
};


// --temp, --top-k, --top-p, --min-p, --repeat-penalty, --repeat-last-n, -s/--seed (lm run's
// defaults; seed -1: random), for the commands that sample.
SamplerParams read_sampler_params(Args& args);
// -ctk/--cache-type-k and -ctv/--cache-type-v (llama.cpp's names): the KV cache's types, f16
// (default), q8_0 or q4_0, into options.
void read_cache_types(Args& args, DecoderOptions& options);
#define LM_CACHE_TYPES_HELP                                                                       \
    "  -ctk, --cache-type-k T KV cache keys: f16, q8_0 (half f16's memory) or q4_0 (a quarter) (f16)\n" \
    "  -ctv, --cache-type-v T KV cache values: f16, q8_0 or q4_0 (f16)\n"

// The bytes of a text file, or of standard input when path is "-" (-f FILE, corpora).
std::string read_text(const std::string& path);
// The next line of `f` without its newline, as std::getline reads one: false at the end.
bool read_line(std::FILE* f, std::string& line);
// A flag's text with \n, \t, \r and \\ turned into those bytes (llama.cpp's --escape), so that
// a shell can pass a blank line as '\n\n'; other backslashes stay.
std::string unescape(const std::string& text);

// Each subcommand's `lm COMMAND --help` (main.cpp answers -h/--help for all of them): usage,
// every flag with its default, an example. Defined beside the command's flag parsing.
extern const char* const kRunHelp;
extern const char* const kInfoHelp;
extern const char* const kTokenizeHelp;
extern const char* const kLogitsHelp;
extern const char* const kConvertHelp;
extern const char* const kQuantizeHelp;
extern const char* const kQaHelp;
extern const char* const kClassifyHelp;
extern const char* const kEmbedHelp;
extern const char* const kInitHelp;
extern const char* const kEvalHelp;
extern const char* const kBenchHelp;
extern const char* const kTrainHelp;
extern const char* const kChatHelp;

int cmd_run(Args& args);
int cmd_info(Args& args);
int cmd_tokenize(Args& args);
int cmd_logits(Args& args);
int cmd_convert(Args& args);
int cmd_quantize(Args& args);
int cmd_qa(Args& args);
int cmd_classify(Args& args);
int cmd_embed(Args& args);

// For the encoder commands (classify.cpp): the texts given as arguments after MODEL and
// as lines of `file`.
std::vector<std::string> texts_of(const std::vector<std::string>& positional, const std::string& file);
int cmd_init(Args& args);
int cmd_eval(Args& args);
// lm eval --task classify|qa|bleu|rouge (src/cli/eval_task.cpp).
int cmd_eval_task(Args& args, const std::string& task);
int cmd_bench(Args& args);
int cmd_train(Args& args);
int cmd_chat(Args& args);

}  // namespace lm
