// What lm train feeds a BERT (model.h) for each task, and what its evaluation reports:
// masked-LM windows of a token stream with BERT's dynamic masking, labelled sequences for
// classification, and question/context windows for extractive QA. Training batches come from
// the run's generator (its state is in the checkpoint, so --resume continues bit for bit) and
// are bucketed by length: each is a run of neighbours in length order, padded to its longest.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/train/data.h"
#include "src/train/task_data.h"
#include "src/train/model.h"
#include "tokenizer/tokenizer.h"

namespace lm {

// One evaluation: the mean loss, and for the fine-tuning tasks their metric (accuracy, or
// SQuAD exact match and F1, in percent), which --keep-best compares.
struct TaskEval {
    double loss = 0;
    double score = 0;  // accuracy (0..1) or F1 (0..100); the loss negated for masked-LM
    std::string line;  // "dev accuracy 0.8312", "dev exact_match 71.20 f1 80.05", "val loss 2.3456"
};

class BertTask {
public:
    virtual ~BertTask() = default;
    // The next training batch (valid until the next call).
    virtual const BertBatch& next_batch(Rng& rng) = 0;
    // The whole dev set (or eval_batches batches of it), activations overwritten.
    virtual TaskEval evaluate(TrainModel& model) = 0;
};

// The special tokens a BERT vocabulary needs ([CLS], [SEP], [MASK], [PAD]); throws naming the
// vocabulary when one is missing.
struct BertSpecials {
    int cls = -1, sep = -1, mask = -1, pad = -1;
};
BertSpecials bert_specials(const Tokenizer& tokenizer);

// Masked-LM over token streams: windows of T - 2 tokens as [CLS] window [SEP]. Each window
// masks round(MLM_FRACTION n) of its n tokens (at least 1): 80 % become [MASK], 10 % a random
// non-special token, 10 % stay. Validation masks with a fixed seed, so every evaluation scores
// the same positions. The task reads the streams where they are: they must outlive it.
std::unique_ptr<BertTask> make_mlm_task(const Tokenizer& tokenizer, std::span<const int> train,
                                        std::span<const int> val, int B, int T, int eval_batches);

// A sequence for the fine-tuning tasks: [CLS] a [SEP] (b [SEP]) ids with token types, and its
// targets (a label, or an answer's start and end positions in ids).
struct TaskExample {
    std::vector<int> ids, types;
    int label = 0, start = 0, end = 0;
};

// [CLS] a [SEP] or [CLS] a [SEP] b [SEP] in at most max_len ids (types 0 then 1), the longer
// of a and b cut first.
TaskExample encode_pair(const BertSpecials& specials, std::vector<int32_t> a, std::vector<int32_t> b, int max_len);

// Table rows as classification examples, labels numbered by their place in `labels` (a
// label not there is an error naming the file and line).
std::vector<TaskExample> classify_examples(const TextTable& table, const Tokenizer& tokenizer,
                                           const std::vector<std::string>& labels, int max_seq);

// Sequence classification over labelled examples; evaluation reports dev accuracy.
std::unique_ptr<BertTask> make_classify_task(std::vector<TaskExample> train, std::vector<TaskExample> dev, int B);

// Extractive QA: train on windows with start/end targets; `evaluate_dev` turns the span
// logits of all dev windows into exact match and F1 (given by the caller, which owns the
// questions' texts). Windows of one question are consecutive in `dev`.
struct QaDev {
    std::vector<TaskExample> windows;
    // Scores the dev set from each window's [start, end] logits ([len][2] per window, in order).
    std::function<TaskEval(const std::vector<std::vector<float>>& logits)> score;
};
std::unique_ptr<BertTask> make_qa_task(std::vector<TaskExample> train, QaDev dev, int B);

// SQuAD questions as training windows (src/models/qa.h, `stride` tokens of overlap) whose targets are
// the first gold answer's tokens, or [CLS] in windows that do not hold all of it.
std::vector<TaskExample> qa_train_examples(const std::vector<SquadExample>& examples, const Tokenizer& tokenizer,
                                           int max_seq, int stride);
// The dev questions' windows and their scorer: each question's answer is the best span of at
// most max_answer tokens over its windows, scored as SQuAD v1.1 (exact match, F1).
QaDev qa_dev_set(std::vector<SquadExample> examples, const Tokenizer& tokenizer, int max_seq, int stride,
                 int max_answer);

}  // namespace lm
