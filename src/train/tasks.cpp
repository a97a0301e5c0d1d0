// BERT tasks for lm train (tasks.h).
#include "src/train/tasks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "src/eval/metrics.h"
#include "src/models/qa.h"
#include "weights/error.h"

namespace lm {

namespace {

// Storage behind one BertBatch of at most B x T.
struct BatchBuffers {
    std::vector<int> tokens, types, lengths, positions, targets, labels, starts, ends;
    BertBatch batch;

    BatchBuffers(int B, int T, int max_masked)
        : tokens((size_t)B * T), types((size_t)B * T), lengths(B), positions(max_masked), targets(max_masked),
          labels(B), starts(B), ends(B) {}

    // Points batch at the buffers for n sequences of T tokens.
    BertBatch& point(int n, int T) {
        batch = BertBatch{};
        batch.B = n, batch.T = T;
        batch.tokens = tokens.data(), batch.types = types.data(), batch.lengths = lengths.data();
        batch.mlm_positions = positions.data(), batch.mlm_targets = targets.data();
        batch.labels = labels.data(), batch.starts = starts.data(), batch.ends = ends.data();
        return batch;
    }
};

class MlmTask : public BertTask {
public:
    MlmTask(const Tokenizer& tok, std::span<const int> train, std::span<const int> val, int B, int T, int eval_batches)
        : specials_(bert_specials(tok)), train_(train), val_(val), B_(B), T_(T),
          eval_batches_(eval_batches), buffers_(B, T, bert_max_masked(B, T)) {
        if (T < 3) fail("--ctx: ", T, " tokens leave no room for text between [CLS] and [SEP]");
        for (int id = 0; id < tok.n_vocab(); ++id) {
            const TokenType type = tok.token_type(id);
            if (type != TokenType::control && type != TokenType::unused) normal_.push_back(id);
        }
        if (normal_.empty()) fail("the vocabulary has no ordinary tokens to mask with");
    }

    const BertBatch& next_batch(Rng& rng) override {
        const int W = T_ - 2;
        for (int b = 0; b < B_; ++b) {
            const size_t start = rng.below(train_.size() - W + 1);
            window(b, train_.data() + start);
        }
        return mask(rng, B_);
    }

    // Consecutive windows of the validation stream, masked by a generator of fixed seed.
    TaskEval evaluate(TrainModel& model) override {
        const int W = T_ - 2;
        const size_t n_windows = std::max<size_t>(1, (val_.size() - W) / W + 1);
        const size_t windows = std::min(n_windows, (size_t)eval_batches_ * B_);
        Rng rng{0x6d6c6d2d6576616cULL};
        double sum = 0;
        size_t counted = 0;
        for (size_t first = 0; first < windows; first += B_) {
            const int n = static_cast<int>(std::min<size_t>(B_, windows - first));
            for (int b = 0; b < n; ++b) window(b, val_.data() + (first + b) * W);
            const BertBatch& batch = mask(rng, n);
            sum += bert_forward(model, batch) * batch.n_masked;
            counted += batch.n_masked;
        }
        TaskEval e;
        e.loss = sum / counted;
        e.score = -e.loss;
        char line[64];
        std::snprintf(line, sizeof line, "val loss %.4f", e.loss);
        e.line = line;
        return e;
    }

private:
    // Row b = [CLS] ids[0..T-2) [SEP].
    void window(int b, const int* ids) {
        int* row = buffers_.tokens.data() + (size_t)b * T_;
        row[0] = specials_.cls;
        std::copy(ids, ids + T_ - 2, row + 1);
        row[T_ - 1] = specials_.sep;
    }

    // Picks round(MLM_FRACTION (T - 2)) positions of each of the n rows (partial Fisher-Yates)
    // and masks them: 80 % [MASK], 10 % a random token, 10 % unchanged.
    const BertBatch& mask(Rng& rng, int n) {
        BertBatch& batch = buffers_.point(n, T_);
        const int W = T_ - 2, per_row = std::max(1, static_cast<int>(std::lround(MLM_FRACTION * W)));
        std::fill(buffers_.types.begin(), buffers_.types.end(), 0);
        std::fill(buffers_.lengths.begin(), buffers_.lengths.end(), T_);
        candidates_.resize(W);
        int m = 0;
        for (int b = 0; b < n; ++b) {
            int* row = buffers_.tokens.data() + (size_t)b * T_;
            for (int i = 0; i < W; ++i) candidates_[i] = i + 1;
            for (int k = 0; k < per_row; ++k) {
                std::swap(candidates_[k], candidates_[k + rng.below(W - k)]);
                const int t = candidates_[k];
                buffers_.positions[m] = b * T_ + t;
                buffers_.targets[m++] = row[t];
                const uint64_t r = rng.below(10);
                if (r < 8) row[t] = specials_.mask;
                else if (r == 8) row[t] = normal_[rng.below(normal_.size())];
            }
        }
        batch.n_masked = m;
        return batch;
    }

    BertSpecials specials_;
    std::span<const int> train_, val_;
    std::vector<int> normal_, candidates_;
    int B_, T_, eval_batches_;
    BatchBuffers buffers_;
};

// Examples in length order; a training batch is B neighbours of a random place in that
// order, wrapping around at the end, so every example is equally likely and padding small.
class SequenceTask : public BertTask {
public:
    SequenceTask(std::vector<TaskExample> train, std::vector<TaskExample> dev, int B)
        : train_(std::move(train)), dev_(std::move(dev)), B_(B), picked_(B), buffers_(B, longest(train_, dev_), 0) {
        if (train_.empty()) fail("no training examples");
        order_.resize(train_.size());
        for (size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<int>(i);
        std::stable_sort(order_.begin(), order_.end(),
                         [&](int a, int b) { return train_[a].ids.size() < train_[b].ids.size(); });
    }

    const BertBatch& next_batch(Rng& rng) override {
        const size_t start = rng.below(order_.size());
        const int n = static_cast<int>(std::min<size_t>(B_, order_.size()));
        for (int i = 0; i < n; ++i) picked_[i] = &train_[order_[(start + i) % order_.size()]];
        return fill(n);
    }

protected:
    // Runs every dev example through the model in batches of B (in file order); calls
    // each(example index, head output row of it) after each batch.
    template <typename Each>
    double run_dev(TrainModel& model, Each each) {
        double loss = 0;
        for (size_t first = 0; first < dev_.size(); first += B_) {
            const int n = static_cast<int>(std::min<size_t>(B_, dev_.size() - first));
            for (int i = 0; i < n; ++i) picked_[i] = &dev_[first + i];
            loss += bert_forward(model, fill(n)) * n;
            for (int i = 0; i < n; ++i) each(first + i, i);
        }
        return loss / std::max<size_t>(1, dev_.size());
    }

    std::vector<TaskExample> train_, dev_;
    int B_;

private:
    static int longest(const std::vector<TaskExample>& train, const std::vector<TaskExample>& dev) {
        size_t n = 1;
        for (const auto* set : {&train, &dev})
            for (const TaskExample& e : *set) n = std::max(n, e.ids.size());
        return static_cast<int>(n);
    }

    // The picked examples padded to the longest of them.
    const BertBatch& fill(int n) {
        int T = 1;
        for (int i = 0; i < n; ++i) T = std::max(T, static_cast<int>(picked_[i]->ids.size()));
        BertBatch& batch = buffers_.point(n, T);
        for (int i = 0; i < n; ++i) {
            const TaskExample& e = *picked_[i];
            const int len = static_cast<int>(e.ids.size());
            std::copy(e.ids.begin(), e.ids.end(), buffers_.tokens.begin() + (size_t)i * T);
            std::copy(e.types.begin(), e.types.end(), buffers_.types.begin() + (size_t)i * T);
            std::fill(buffers_.tokens.begin() + (size_t)i * T + len, buffers_.tokens.begin() + (size_t)(i + 1) * T, 0);
            std::fill(buffers_.types.begin() + (size_t)i * T + len, buffers_.types.begin() + (size_t)(i + 1) * T, 0);
            buffers_.lengths[i] = len;
            buffers_.labels[i] = e.label, buffers_.starts[i] = e.start, buffers_.ends[i] = e.end;
        }
        return batch;
    }

    std::vector<int> order_;
    std::vector<const TaskExample*> picked_;
    BatchBuffers buffers_;
};

class ClassifyTask : public SequenceTask {
public:
    using SequenceTask::SequenceTask;

    TaskEval evaluate(TrainModel& model) override {
        const int K = model.config.n_labels;
        size_t correct = 0;
        TaskEval e;
        e.loss = run_dev(model, [&](size_t example, int row) {
            const float* p = bert_head_outputs(model) + (size_t)row * K;
            correct += std::max_element(p, p + K) - p == dev_[example].label;
        });
        e.score = dev_.empty() ? 0 : (double)correct / dev_.size();
        char line[96];
        std::snprintf(line, sizeof line, "dev accuracy %.4f (%zu/%zu) | dev loss %.4f", e.score, correct, dev_.size(),
                      e.loss);
        e.line = line;
        return e;
    }
};

class QaTask : public SequenceTask {
public:
    QaTask(std::vector<TaskExample> train, QaDev dev, int B)
        : SequenceTask(std::move(train), std::move(dev.windows), B), score_(std::move(dev.score)) {}

    TaskEval evaluate(TrainModel& model) override {
        std::vector<std::vector<float>> logits(dev_.size());
        const double loss = run_dev(model, [&](size_t window, int row) {
            const int T = model.batch_T, len = static_cast<int>(dev_[window].ids.size());
            const float* l = bert_head_outputs(model) + (size_t)row * T * 2;
            logits[window].assign(l, l + 2 * len);
        });
        TaskEval e = score_(logits);
        e.loss = loss;
        return e;
    }

private:
    std::function<TaskEval(const std::vector<std::vector<float>>&)> score_;
};

}  // namespace

BertSpecials bert_specials(const Tokenizer& tok) {
    BertSpecials s;
    s.cls = tok.bos(), s.sep = tok.eos(), s.mask = tok.mask(), s.pad = tok.pad();
    auto valid = [&](int id) { return id >= 0 && id < tok.n_vocab(); };
    if (tok.model() != "bert" || !valid(s.cls) || !valid(s.sep) || !valid(s.mask) || !valid(s.pad))
        fail("the tokenizer is not a BERT WordPiece vocabulary with [CLS], [SEP], [MASK] and [PAD]");
    return s;
}

std::unique_ptr<BertTask> make_mlm_task(const Tokenizer& tokenizer, std::span<const int> train,
                                        std::span<const int> val, int B, int T, int eval_batches) {
    return std::make_unique<MlmTask>(tokenizer, train, val, B, T, eval_batches);
}

TaskExample encode_pair(const BertSpecials& s, std::vector<int32_t> a, std::vector<int32_t> b, int max_len) {
    const int room = max_len - (b.empty() ? 2 : 3);
    if (room < 1) fail("--max-seq: ", max_len, " leaves no room for text");
    while (static_cast<int>(a.size() + b.size()) > room) (a.size() >= b.size() ? a : b).pop_back();
    TaskExample e;
    e.ids.push_back(s.cls);
    e.ids.insert(e.ids.end(), a.begin(), a.end());
    e.ids.push_back(s.sep);
    e.types.assign(e.ids.size(), 0);
    if (!b.empty()) {
        e.ids.insert(e.ids.end(), b.begin(), b.end());
        e.ids.push_back(s.sep);
        e.types.resize(e.ids.size(), 1);
    }
    return e;
}

std::unique_ptr<BertTask> make_classify_task(std::vector<TaskExample> train, std::vector<TaskExample> dev, int B) {
    return std::make_unique<ClassifyTask>(std::move(train), std::move(dev), B);
}

std::unique_ptr<BertTask> make_qa_task(std::vector<TaskExample> train, QaDev dev, int B) {
    return std::make_unique<QaTask>(std::move(train), std::move(dev), B);
}

std::vector<TaskExample> classify_examples(const TextTable& table, const Tokenizer& tokenizer,
                                           const std::vector<std::string>& labels, int max_seq) {
    check_labels_known(table, labels, "the training labels");
    const BertSpecials specials = bert_specials(tokenizer);
    std::vector<TaskExample> out;
    out.reserve(table.rows.size());
    for (const TextRow& row : table.rows) {
        std::vector<int32_t> b;
        if (!row.text_b.empty()) b = tokenizer.encode(row.text_b, false);
        TaskExample e = encode_pair(specials, tokenizer.encode(row.text_a, false), std::move(b), max_seq);
        e.label = static_cast<int>(std::find(labels.begin(), labels.end(), row.label) - labels.begin());
        out.push_back(std::move(e));
    }
    return out;
}

namespace {

// One SQuAD question's windows, with the context's byte spans for mapping answers back.
struct QaQuestion {
    std::vector<QaWindow> windows;
    std::vector<ByteSpan> spans;
};

QaQuestion qa_question(const SquadExample& ex, const Tokenizer& tokenizer, int max_seq, int stride) {
    const BertSpecials specials = bert_specials(tokenizer);
    QaQuestion q;
    const std::vector<int32_t> question = tokenizer.encode(ex.question, false);
    const std::vector<int32_t> context = tokenizer.encode_with_spans(ex.context, q.spans);
    const int room = qa_context_room(static_cast<int>(question.size()), max_seq);
    if (room < 2)
        fail("question ", ex.id, ": ", question.size(), " tokens leave no room for the context in --max-seq ", max_seq);
    try {
        q.windows = qa_windows(question, context, specials.cls, specials.sep, max_seq,
                               stride >= 0 ? std::min(stride, room - 1) : qa_default_stride(room));
    } catch (const Error& e) {
        fail("question ", ex.id, ": ", e.what());
    }
    return q;
}

TaskExample window_example(const QaWindow& w) {
    TaskExample e;
    e.ids = w.ids, e.types = w.types;
    return e;
}

}  // namespace

std::vector<TaskExample> qa_train_examples(const std::vector<SquadExample>& examples, const Tokenizer& tokenizer,
                                           int max_seq, int stride) {
    std::vector<TaskExample> out;
    for (const SquadExample& ex : examples) {
        const QaQuestion q = qa_question(ex, tokenizer, max_seq, stride);
        const SquadAnswer& gold = ex.answers.at(0);
        const Span answer = token_span_of_bytes(q.spans, gold.byte_start, gold.byte_start + gold.text.size());
        for (const QaWindow& w : q.windows) {
            TaskExample e = window_example(w);
            window_target(w, answer, e.start, e.end);
            out.push_back(std::move(e));
        }
    }
    return out;
}

QaDev qa_dev_set(std::vector<SquadExample> examples, const Tokenizer& tokenizer, int max_seq, int stride,
                 int max_answer) {
    struct Dev {
        std::vector<SquadExample> examples;
        std::vector<QaQuestion> questions;
    };
    auto dev = std::make_shared<Dev>();
    dev->examples = std::move(examples);
    QaDev out;
    for (const SquadExample& ex : dev->examples) {
        dev->questions.push_back(qa_question(ex, tokenizer, max_seq, stride));
        for (const QaWindow& w : dev->questions.back().windows) out.windows.push_back(window_example(w));
    }
    out.score = [dev, max_answer](const std::vector<std::vector<float>>& logits) {
        std::map<std::string, std::string> predictions;
        std::vector<float> start, end;
        size_t window = 0;
        for (size_t i = 0; i < dev->examples.size(); ++i) {
            Span best;
            for (const QaWindow& w : dev->questions[i].windows) {
                const std::vector<float>& l = logits.at(window++);
                start.resize(l.size() / 2), end.resize(l.size() / 2);
                for (size_t t = 0; t < start.size(); ++t) start[t] = l[2 * t], end[t] = l[2 * t + 1];
                const Span s = best_span(start.data(), end.data(), w, max_answer);
                if (s.score > best.score) best = s;
            }
            predictions[dev->examples[i].id] = span_text(dev->examples[i].context, dev->questions[i].spans, best);
        }
        const SquadScores scores = squad_scores(dev->examples, predictions);
        TaskEval e;
        e.score = scores.f1;
        char line[96];
        std::snprintf(line, sizeof line, "dev exact_match %.2f f1 %.2f", scores.exact_match, scores.f1);
        e.line = line;
        return e;
    };
    return out;
}

}  // namespace lm
