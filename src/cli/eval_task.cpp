// lm eval --task classify|qa|bleu|rouge: the task metrics of src/eval/metrics.h on a test file.
// classify and qa run a BERT model (classifier head, span head); `--task qa --score` scores a
// predictions file without a model; bleu and rouge compare two text files line by line.
// (Perplexity, lm eval without --task, is src/cli/eval.cpp.)
#include <algorithm>
#include <cstdio>
#include <numeric>

#include "simd/matmul.h"
#include "src/cli/cli.h"
#include "src/eval/metrics.h"
#include "src/models/bert.h"
#include "src/models/bert_tasks.h"
#include "src/models/qa.h"
#include "src/train/task_data.h"
#include "tokenizer/tokenizer.h"
#include "weights/error.h"

namespace lm {

namespace {

// --- classify

struct Encoded {
    std::vector<int> ids, types;
};

// [CLS] a [SEP] (b [SEP]); longer than the model's positions is an error naming the row.
Encoded encode_row(const Tokenizer& tok, const TextTable& table, const TextRow& row, int max_tokens) {
    Encoded e;
    for (int32_t id : tok.encode(row.text_a, true)) e.ids.push_back(id);
    e.types.assign(e.ids.size(), 0);
    if (table.pairs) {
        for (int32_t id : tok.encode(row.text_b, false)) e.ids.push_back(id);
        e.ids.push_back(tok.eos());
        e.types.resize(e.ids.size(), 1);
    }
    if (static_cast<int>(e.ids.size()) > max_tokens)
        fail(table.path, ":", row.line, ": the text is ", e.ids.size(), " tokens, longer than the model's ", max_tokens, " positions");
    return e;
}

int eval_classify(Args& args) {
    TextColumns columns;
    columns.text = args.text({"--text-column"}, "");
    columns.label = args.text({"--label-column"}, "label");
    const int batch = static_cast<int>(args.integer({"--batch"}, 32, 1, 1 << 16));
    const int threads = static_cast<int>(args.integer({"-t", "--threads"}, default_threads(), 1, 1024));
    const auto pos = args.positional(2, 2, "lm eval MODEL TEST.tsv --task classify [--batch N] [-t N] (lm eval --help)");
    const TextTable table = read_text_table(pos[1], columns);
    ModelFile file = open_model(pos[0], "");
    Tokenizer tok(file.meta);
    Bert bert(file, kEncoderBatchRows);
    if (!bert.has_classifier()) fail(pos[0], ": has no classification head (pooler + classifier)");
    check_labels_known(table, bert.labels(), "the model's labels");

    std::vector<Encoded> rows;
    for (const TextRow& row : table.rows) rows.push_back(encode_row(tok, table, row, bert.max_tokens()));
    // Batches of similar lengths, so padding to the longest costs little.
    std::vector<size_t> order(rows.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rows[a].ids.size() < rows[b].ids.size(); });
    std::vector<int> gold(rows.size()), predicted(rows.size());
    std::vector<int> tokens, types;
    std::vector<unsigned char> mask;
    for (size_t first = 0; first < order.size();) {
        size_t end = first + 1, len = rows[order[first]].ids.size();
        while (end < order.size() && static_cast<int>(end - first) < batch &&
               (end - first + 1) * std::max(len, rows[order[end]].ids.size()) <= static_cast<size_t>(bert.max_rows()))
            len = std::max(len, rows[order[end++]].ids.size());
        tokens.assign((end - first) * len, 0);  // padding: any valid id, masked out
        types.assign(tokens.size(), 0);
        mask.assign(tokens.size(), 0);
        for (size_t b = first; b < end; ++b) {
            const Encoded& e = rows[order[b]];
            const size_t at = (b - first) * len;
            std::copy(e.ids.begin(), e.ids.end(), tokens.begin() + at);
            std::copy(e.types.begin(), e.types.end(), types.begin() + at);
            std::fill_n(mask.begin() + at, e.ids.size(), 1);
        }
        bert.encode(tokens.data(), types.data(), mask.data(), static_cast<int>(len), threads, static_cast<int>(end - first));
        for (size_t b = first; b < end; ++b) {
            const std::vector<float> probs = bert.classify(static_cast<int>(b - first));
            predicted[order[b]] = static_cast<int>(std::max_element(probs.begin(), probs.end()) - probs.begin());
        }
        first = end;
    }
    const std::vector<std::string>& labels = bert.labels();
    for (size_t i = 0; i < rows.size(); ++i)
        gold[i] = static_cast<int>(std::find(labels.begin(), labels.end(), table.rows[i].label) - labels.begin());
    std::fputs(format_classification(classification_scores(gold, predicted, labels)).c_str(), stdout);
    return 0;
}

// --- qa

void print_squad(const SquadScores& s) { std::printf("exact_match %.2f f1 %.2f\n", s.exact_match, s.f1); }

int score_predictions(const std::string& dev_path, const std::string& pred_path) {
    const std::vector<SquadExample> examples = read_squad(dev_path);
    const std::map<std::string, std::string> predictions = read_predictions(pred_path);
    for (const SquadExample& ex : examples)
        if (!predictions.count(ex.id)) fail(pred_path, ": no prediction for question ", ex.id, " of ", dev_path);
    print_squad(squad_scores(examples, predictions));
    return 0;
}

// One window of one question, queued for a batched encode.
struct QueuedWindow {
    size_t example;
    QaWindow window;
};

int eval_qa(Args& args) {
    const std::string score_path = args.text({"--score"}, "");
    const std::string predictions_path = args.text({"--predictions"}, "");
    const int64_t max_seq_flag = args.integer({"--max-seq"}, 0, 0, 1 << 20);
    const int64_t stride_flag = args.integer({"--stride"}, -1, 0, 1 << 20);
    const int max_answer = static_cast<int>(args.integer({"--max-answer"}, 30, 1, 1 << 20));
    const int batch = static_cast<int>(args.integer({"--batch"}, 16, 1, 1 << 16));
    const int threads = static_cast<int>(args.integer({"-t", "--threads"}, default_threads(), 1, 1024));
    if (!score_path.empty()) {
        const auto pos = args.positional(1, 1, "lm eval --task qa DEV.json --score PRED.json");
        return score_predictions(pos[0], score_path);
    }
    const auto pos = args.positional(2, 2, "lm eval MODEL DEV.json --task qa [--predictions OUT.json] (lm eval --help)");
    const std::vector<SquadExample> examples = read_squad(pos[1]);
    ModelFile file = open_model(pos[0], "");
    Tokenizer tok(file.meta);
    Bert bert(file, kEncoderBatchRows);
    if (!bert.has_span_head()) fail(pos[0], ": has no span head (qa_outputs): not a question-answering model");
    if (max_seq_flag > bert.max_tokens()) fail("--max-seq: ", max_seq_flag, " is more than the model's ", bert.max_tokens(), " positions");
    const int max_seq = max_seq_flag ? static_cast<int>(max_seq_flag) : bert.max_tokens();

    std::vector<Span> best(examples.size());
    std::vector<std::vector<ByteSpan>> spans(examples.size());  // of each question's context
    std::vector<QueuedWindow> queue;
    std::vector<int> tokens, types;
    std::vector<unsigned char> mask;
    std::vector<float> start, end;
    auto run_queue = [&]() {
        size_t len = 0;
        for (const QueuedWindow& q : queue) len = std::max(len, q.window.ids.size());
        tokens.assign(queue.size() * len, 0);
        types.assign(tokens.size(), 0);
        mask.assign(tokens.size(), 0);
        for (size_t b = 0; b < queue.size(); ++b) {
            const QaWindow& w = queue[b].window;
            std::copy(w.ids.begin(), w.ids.end(), tokens.begin() + b * len);
            std::copy(w.types.begin(), w.types.end(), types.begin() + b * len);
            std::fill_n(mask.begin() + b * len, w.ids.size(), 1);
        }
        const int n = static_cast<int>(tokens.size());
        bert.encode(tokens.data(), types.data(), mask.data(), static_cast<int>(len), threads, static_cast<int>(queue.size()));
        start.resize(n), end.resize(n);
        bert.span_logits(start.data(), end.data(), n);
        for (size_t b = 0; b < queue.size(); ++b) {
            const Span s = best_span(&start[b * len], &end[b * len], queue[b].window, max_answer);
            if (s.score > best[queue[b].example].score) best[queue[b].example] = s;
        }
        queue.clear();
    };
    std::vector<int32_t> context;
    for (size_t i = 0; i < examples.size(); ++i) {
        const SquadExample& ex = examples[i];
        if (i == 0 || ex.paragraph != examples[i - 1].paragraph) context = tok.encode_with_spans(ex.context, spans[i]);
        else spans[i] = spans[i - 1];
        const std::vector<int32_t> question = tok.encode(ex.question, false);
        std::vector<QaWindow> windows;
        try {
            const int room = qa_context_room(static_cast<int>(question.size()), max_seq);
            const int stride = stride_flag >= 0 ? static_cast<int>(stride_flag) : qa_default_stride(room);
            windows = qa_windows(question, context, tok.bos(), tok.eos(), max_seq, stride);
        } catch (const Error& e) {
            fail(pos[1], ": question ", ex.id, ": ", e.what(), " (see --max-seq, --stride)");
        }
        for (QaWindow& w : windows) {
            if (!queue.empty() && (static_cast<int>(queue.size()) >= batch ||
                                   (queue.size() + 1) * static_cast<size_t>(max_seq) > static_cast<size_t>(bert.max_rows())))
                run_queue();
            queue.push_back({i, std::move(w)});
        }
    }
    if (!queue.empty()) run_queue();

    std::map<std::string, std::string> predictions;
    std::vector<std::pair<std::string, std::string>> ordered;
    for (size_t i = 0; i < examples.size(); ++i) {
        ordered.emplace_back(examples[i].id, span_text(examples[i].context, spans[i], best[i]));
        predictions[examples[i].id] = ordered.back().second;
    }
    if (!predictions_path.empty()) write_predictions(predictions_path, ordered);
    print_squad(squad_scores(examples, predictions));
    return 0;
}

// --- bleu, rouge

// One segment a line (a final newline ends the last line, it does not start another).
std::vector<std::vector<std::string>> read_segments(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) fail(path, ": cannot open");
    std::string text;
    char buf[1 << 16];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
    std::fclose(f);
    std::vector<std::vector<std::string>> segments;
    for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        segments.push_back(split_whitespace(std::string_view(text).substr(pos, end - pos)));
        pos = end + 1;
    }
    if (segments.empty()) fail(path, ": the file is empty");
    return segments;
}

int eval_text_metric(Args& args, const std::string& task) {
    const std::string ref_path = args.text({"--ref"}, ""), hyp_path = args.text({"--hyp"}, "");
    const std::string usage = "lm eval --task " + task + " --ref REF.txt --hyp HYP.txt";
    args.positional(0, 0, usage.c_str());
    if (ref_path.empty() || hyp_path.empty()) fail("eval: --ref and --hyp are required (usage: ", usage, ")");
    const auto refs = read_segments(ref_path), hyps = read_segments(hyp_path);
    if (refs.size() != hyps.size())
        fail(hyp_path, ": ", hyps.size(), " hypothesis lines, but ", ref_path, " has ", refs.size(), " reference lines");
    if (task == "bleu") {
        const BleuScores b = corpus_bleu(refs, hyps);
        std::printf("bleu %.4f (n-gram precisions", b.bleu);
        for (int n = 0; n < 4; ++n) std::printf("%s%lld/%lld", n ? " " : " ", static_cast<long long>(b.matches[n]), static_cast<long long>(b.totals[n]));
        std::printf(", brevity penalty %.4f, hyp %lld tokens, ref %lld tokens)\n", b.brevity_penalty,
                    static_cast<long long>(b.hyp_length), static_cast<long long>(b.ref_length));
    } else {
        const RougeScores r = rouge(refs, hyps);
        std::printf("rouge1 %.4f rouge2 %.4f rougeL %.4f (F1, mean of %zu segments)\n", r.rouge1, r.rouge2, r.rougeL, refs.size());
    }
    return 0;
}

}  // namespace

const char* const kEvalHelp =
    "usage:\n"
    "  lm eval MODEL TEXT.txt [-c/--ctx N] [--stride S] [--separator TEXT] [-t N] [--tokenizer PATH]\n"
    "      perplexity and bits per byte of a text, in windows of --ctx tokens (the model's\n"
    "      context) sliding by --stride (half the window); each token is scored once. With\n"
    "      --separator, the documents between separators end with end-of-text instead, as\n"
    "      lm train --separator trains on them (no BOS)\n"
    "  lm eval MODEL TEXT.txt --chunks [-c N] [--save-logits B.bin] [--kl-divergence B.bin]\n"
    "      perplexity as llama.cpp's llama-perplexity: non-overlapping chunks of --ctx tokens,\n"
    "      BOS first, the second half of each scored. --save-logits writes the log-probabilities\n"
    "      (llama-perplexity's --kl-divergence-base format); --kl-divergence B.bin compares this\n"
    "      model with them: mean KL divergence, its 99th percentile, same top token %\n"
    "  lm eval MODEL TEST.tsv|.csv --task classify [--text-column C|A,B] [--label-column L] [--batch N] [-t N]\n"
    "      a BERT classifier on a labelled table: accuracy (N/M), per-label precision, recall\n"
    "      and F1, macro F1, confusion matrix; labels are matched by name to the model's.\n"
    "      Text column: sentence, or sentence1,sentence2 (pairs); label column: label; --batch 32\n"
    "  lm eval MODEL DEV.json --task qa [--predictions OUT.json] [--max-seq N] [--stride N]\n"
    "                                   [--max-answer N] [--batch N] [-t N]\n"
    "      a BERT span head on SQuAD v1.1 JSON: exact_match and f1 as the official script;\n"
    "      --predictions writes the answers; --max-seq: the model's positions, --stride: min(128,\n"
    "      half a window's context), --max-answer 30 tokens, --batch 16\n"
    "  lm eval --task qa DEV.json --score PRED.json\n"
    "      the same numbers for a predictions file {\"question id\": \"answer\", ...}\n"
    "  lm eval --task bleu|rouge --ref REF.txt --hyp HYP.txt\n"
    "      corpus BLEU-4 (as NLTK corpus_bleu) or ROUGE-1/2/L F1, one segment a line\n"
    "  -t, --threads N: this machine's physical cores; --tokenizer: a llama2.c tokenizer.bin\n"
    "perplexity only:\n" LM_CACHE_TYPES_HELP
    "examples:\n"
    "  lm eval model.gguf story.txt --ctx 256 --stride 128\n"
    "  lm eval f16.gguf wiki.txt --chunks -c 512 --save-logits base.bin\n"
    "  lm eval q4_k_m.gguf wiki.txt --kl-divergence base.bin\n"
    "  lm eval cls.gguf dev.tsv --task classify\n";

int cmd_eval_task(Args& args, const std::string& task) {
    if (task == "classify") return eval_classify(args);
    if (task == "qa") return eval_qa(args);
    if (task == "bleu" || task == "rouge") return eval_text_metric(args, task);
    fail("--task: '", task, "' is not one of classify, qa, bleu, rouge");
}

}  // namespace lm
