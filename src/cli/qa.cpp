// lm qa MODEL --question Q --context C: extractive question answering with a BERT span head.
// The input is [CLS] question [SEP] context [SEP]; a context longer than the model's window
// is read in overlapping windows (--stride tokens shared by neighbours), as the Hugging Face
// question-answering pipeline does, and the best span over all windows wins. The answer is
// printed as it stands in the context.
#include <algorithm>
#include <cstdio>

#include "simd/matmul.h"
#include "src/cli/cli.h"
#include "src/models/bert.h"
#include "src/models/bert_tasks.h"
#include "tokenizer/tokenizer.h"
#include "weights/error.h"

namespace lm {

const char* const kQaHelp =
    "usage: lm qa MODEL --question Q --context C [options]\n"
    "Extractive question answering with a BERT span head: prints the answer as it stands in the\n"
    "context, and its score. A context longer than the model's window is read in overlapping\n"
    "windows.\n"
    "  -q, --question Q       the question (required)\n"
    "  -c, --context C        the text to find the answer in (required)\n"
    "  --max-answer N         longest answer in tokens (30)\n"
    "  --stride N             tokens neighbouring windows share (min(128, half a window's context);\n"
    "                         0 = one window, the context must fit)\n"
    "  -t, --threads N        threads (this machine's physical cores)\n"
    "example:\n"
    "  lm qa tests/ref/bert-qa --question \"what is in paris ?\" --context \"the eiffel tower is in paris .\"\n";

int cmd_qa(Args& args) {
    const char* usage = "lm qa MODEL --question Q --context C [--max-answer N] [--stride N] [-t THREADS]";
    const std::string question = args.text({"--question", "-q"}, "");
    const std::string context = args.text({"--context", "-c"}, "");
    const int max_answer = static_cast<int>(args.integer({"--max-answer"}, 30, 1, 1 << 20));
    const int64_t stride_flag = args.integer({"--stride"}, -1, 0, 1 << 20);
    const int threads = static_cast<int>(args.integer({"-t", "--threads"}, default_threads(), 1, 1024));
    const auto pos = args.positional(1, 1, usage);
    if (question.empty() || context.empty()) fail("qa: --question and --context are required (usage: ", usage, ")");

    ModelFile file = open_model(pos[0], "");
    Tokenizer tok(file.meta);
    Bert bert(file);
    if (!bert.has_span_head()) fail(pos[0], ": has no span head (qa_outputs): not a question-answering model");
    const Answer a = answer_question(bert, tok, question, context, max_answer, static_cast<int>(stride_flag), threads);
    std::printf("%s\nscore: %.6f (context tokens %d..%d)\n", a.text.c_str(), a.score, a.start, a.end);
    return 0;
}

}  // namespace lm
