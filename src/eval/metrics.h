// The numbers papers report for the fine-tuning tasks, computed as the reference
// implementations do so that results compare:
// - classification: accuracy, per-label precision / recall / F1, macro F1, confusion matrix;
// - SQuAD v1.1 exact match and F1, as the official evaluate-v1.1.py;
// - corpus BLEU-4 as NLTK's corpus_bleu (default weights, no smoothing);
// - ROUGE-1, ROUGE-2 and ROUGE-L F1: token level over whitespace tokens as written (no
//   lowercasing, no stemming, no stopword removal), ROUGE-L from the longest common
//   subsequence of the whole segment (not the summary-level ROUGE-Lsum), each F1 computed per
//   segment and averaged over segments.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "src/train/task_data.h"

namespace lm {

// --- classification
struct ClassScores {
    std::vector<std::string> labels;
    std::vector<std::vector<int64_t>> confusion;  // [gold][predicted] counts
    int64_t correct = 0, total = 0;
    double accuracy = 0;
    std::vector<double> precision, recall, f1;  // per label; 0 where undefined (nothing predicted / no gold)
    std::vector<int64_t> support;                // gold count per label
    double macro_f1 = 0;  // mean F1 over the labels that occur in gold or predictions (as scikit-learn)
};
// gold and predicted hold label indices into `labels`.
ClassScores classification_scores(const std::vector<int>& gold, const std::vector<int>& predicted,
                                  const std::vector<std::string>& labels);
// The report lm eval --task classify prints: "accuracy 0.XXXX (N/M)", a per-label table, the
// macro F1 and the confusion matrix.
std::string format_classification(const ClassScores& s);

// --- SQuAD v1.1
// Python's str.split(): runs of whitespace as Python's str.isspace() sees it (including U+00A0,
// U+2000..U+200A, U+3000 and the ASCII separators U+001C..U+001F) separate the tokens.
std::vector<std::string> split_whitespace(std::string_view text);
// The official normalization: lowercase, drop ASCII punctuation (string.punctuation), replace
// the words a / an / the (between regex \b word boundaries, Unicode word characters) by a
// space, and join the whitespace-split tokens with single spaces.
std::string squad_normalize(std::string_view text);
bool squad_exact(std::string_view prediction, std::string_view gold);
// Harmonic mean of precision and recall over the multisets of normalized tokens (0 when no
// token is shared, including when either side is empty).
double squad_f1(std::string_view prediction, std::string_view gold);

struct SquadScores {
    double exact_match = 0, f1 = 0;  // x100, averaged over all questions
    int64_t total = 0, answered = 0;  // questions, and those with a prediction
};
// Best EM and F1 over each question's gold answers; a question without a prediction scores 0.
SquadScores squad_scores(const std::vector<SquadExample>& examples, const std::map<std::string, std::string>& predictions);

// --- BLEU and ROUGE, one segment per line, tokens split as split_whitespace
struct BleuScores {
    double bleu = 0;                     // in [0, 1]
    double brevity_penalty = 0;
    std::array<int64_t, 4> matches{}, totals{};  // clipped n-gram matches and hypothesis n-grams (totals >= 1 per segment)
    int64_t hyp_length = 0, ref_length = 0;
};
// NLTK corpus_bleu with one reference per hypothesis: per-order clipped counts summed over
// the corpus, geometric mean of the four precisions times the brevity penalty. As NLTK without
// smoothing: 0 when no unigram matches; a higher order with no match counts as precision
// 2.2250738585072014e-308 (DBL_MIN), which makes the score tiny but not 0.
BleuScores corpus_bleu(const std::vector<std::vector<std::string>>& references,
                       const std::vector<std::vector<std::string>>& hypotheses);

struct RougeScores {
    double rouge1 = 0, rouge2 = 0, rougeL = 0;  // mean F1 over segments, in [0, 1]
};
RougeScores rouge(const std::vector<std::vector<std::string>>& references,
                  const std::vector<std::vector<std::string>>& hypotheses);

}  // namespace lm
