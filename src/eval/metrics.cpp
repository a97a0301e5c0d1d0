#include "src/eval/metrics.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "tokenizer/unicode.h"
#include "weights/error.h"

namespace lm {

// --- classification

ClassScores classification_scores(const std::vector<int>& gold, const std::vector<int>& predicted,
                                  const std::vector<std::string>& labels) {
    if (gold.size() != predicted.size()) fail("classification_scores: ", gold.size(), " gold labels but ", predicted.size(), " predictions");
    const size_t n = labels.size();
    ClassScores s;
    s.labels = labels;
    s.confusion.assign(n, std::vector<int64_t>(n, 0));
    for (size_t i = 0; i < gold.size(); ++i) {
        if (gold[i] < 0 || static_cast<size_t>(gold[i]) >= n || predicted[i] < 0 || static_cast<size_t>(predicted[i]) >= n)
            fail("classification_scores: label index out of range at example ", i);
        ++s.confusion[gold[i]][predicted[i]];
        s.correct += gold[i] == predicted[i];
    }
    s.total = static_cast<int64_t>(gold.size());
    s.accuracy = s.total ? static_cast<double>(s.correct) / s.total : 0;
    int present = 0;
    double f1_sum = 0;
    for (size_t c = 0; c < n; ++c) {
        int64_t tp = s.confusion[c][c], gold_c = 0, pred_c = 0;
        for (size_t o = 0; o < n; ++o) gold_c += s.confusion[c][o], pred_c += s.confusion[o][c];
        const double p = pred_c ? static_cast<double>(tp) / pred_c : 0, r = gold_c ? static_cast<double>(tp) / gold_c : 0;
        s.precision.push_back(p);
        s.recall.push_back(r);
        s.f1.push_back(p + r > 0 ? 2 * p * r / (p + r) : 0);
        s.support.push_back(gold_c);
        if (gold_c || pred_c) ++present, f1_sum += s.f1.back();
    }
    s.macro_f1 = present ? f1_sum / present : 0;
    return s;
}

std::string format_classification(const ClassScores& s) {
    size_t width = 5;  // "label"
    for (const std::string& l : s.labels) width = std::max(width, l.size());
    std::string out;
    char buf[256];
    std::snprintf(buf, sizeof buf, "accuracy %.4f (%lld/%lld)\n", s.accuracy, static_cast<long long>(s.correct),
                  static_cast<long long>(s.total));
    out += buf;
    std::snprintf(buf, sizeof buf, "%-*s  precision  recall  f1      support\n", static_cast<int>(width), "label");
    out += buf;
    for (size_t c = 0; c < s.labels.size(); ++c) {
        std::snprintf(buf, sizeof buf, "%-*s  %.4f     %.4f  %.4f  %lld\n", static_cast<int>(width), s.labels[c].c_str(),
                      s.precision[c], s.recall[c], s.f1[c], static_cast<long long>(s.support[c]));
        out += buf;
    }
    std::snprintf(buf, sizeof buf, "macro f1 %.4f\n", s.macro_f1);
    out += buf;
    out += "confusion matrix (rows: gold, columns: predicted)\n";
    int cell = 1;
    for (const auto& row : s.confusion)
        for (int64_t v : row) cell = std::max(cell, static_cast<int>(std::to_string(v).size()));
    for (const std::string& l : s.labels) cell = std::max(cell, static_cast<int>(l.size()));
    out += std::string(width, ' ');
    for (const std::string& l : s.labels) out += "  " + std::string(cell - l.size(), ' ') + l;
    out += "\n";
    for (size_t g = 0; g < s.labels.size(); ++g) {
        out += s.labels[g] + std::string(width - s.labels[g].size(), ' ');
        for (int64_t v : s.confusion[g]) {
            const std::string x = std::to_string(v);
            out += "  " + std::string(cell - x.size(), ' ') + x;
        }
        out += "\n";
    }
    return out;
}

// --- SQuAD v1.1

namespace {

// Python's str.isspace(): Unicode White_Space plus the ASCII information separators.
bool python_space(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Python's regex \w on str: letters and numbers (str.isalnum()) and the underscore.
bool word_char(uint32_t cp) {
    if (cp == '_') return true;
    const CharClass c = char_class(cp);
    return c == CharClass::L || c == CharClass::N;
}

std::vector<uint32_t> code_points(std::string_view text) {
    std::vector<uint32_t> cps;
    for (size_t pos = 0; pos < text.size();) {
        const Decoded d = decode_utf8(text, pos);
        cps.push_back(d.cp);
        pos += d.len;
    }
    return cps;
}

void append(std::string& out, uint32_t cp) {
    if (cp >= invalid_codepoint) out += static_cast<char>(cp - invalid_codepoint);  // an invalid byte, kept
    else append_utf8(out, cp);
}

// str.lower() then the removal of string.punctuation. Python lowers with the full case
// mapping: U+0130 becomes "i" + U+0307, and a capital sigma ending a word becomes final sigma.
std::vector<uint32_t> lower_without_punctuation(const std::vector<uint32_t>& in) {
    static const char* punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    std::vector<uint32_t> out;
    for (size_t i = 0; i < in.size(); ++i) {
        const uint32_t cp = in[i];
        if (cp < 0x80 && cp != 0 && std::strchr(punctuation, static_cast<int>(cp))) continue;
        if (cp == 0x130) {
            out.push_back('i');
            out.push_back(0x307);
        } else if (cp == 0x3A3) {
            const bool after_letter = i > 0 && char_class(in[i - 1]) == CharClass::L;
            const bool before_letter = i + 1 < in.size() && char_class(in[i + 1]) == CharClass::L;
            out.push_back(after_letter && !before_letter ? 0x3C2 : 0x3C3);
        } else {
            out.push_back(to_lower(cp));
        }
    }
    return out;
}

bool is_article_at(const std::vector<uint32_t>& s, size_t i, size_t& len) {
    for (const char* word : {"a", "an", "the"}) {  // the regex's alternation order
        const size_t n = std::strlen(word);
        if (i + n > s.size()) continue;
        bool same = true;
        for (size_t k = 0; k < n && same; ++k) same = s[i + k] == static_cast<uint32_t>(word[k]);
        if (same && (i + n == s.size() || !word_char(s[i + n]))) {
            len = n;
            return true;
        }
    }
    return false;
}

}  // namespace

std::vector<std::string> split_whitespace(std::string_view text) {
    std::vector<std::string> tokens;
    std::string current;
    bool in_token = false;
    for (uint32_t cp : code_points(text)) {
        if (python_space(cp)) {
            if (in_token) tokens.push_back(current), current.clear();
            in_token = false;
        } else {
            append(current, cp);
            in_token = true;
        }
    }
    if (in_token) tokens.push_back(current);
    return tokens;
}

std::string squad_normalize(std::string_view text) {
    const std::vector<uint32_t> s = lower_without_punctuation(code_points(text));
    // re.sub(r"\b(a|an|the)\b", " ", s): a match starts where the previous character is not a
    // word character and ends before one that is not.
    std::string replaced;
    for (size_t i = 0; i < s.size();) {
        size_t len = 0;
        if ((i == 0 || !word_char(s[i - 1])) && is_article_at(s, i, len)) {
            replaced += ' ';
            i += len;
        } else {
            append(replaced, s[i++]);
        }
    }
    std::string out;
    for (const std::string& token : split_whitespace(replaced)) out += (out.empty() ? "" : " ") + token;
    return out;
}

bool squad_exact(std::string_view prediction, std::string_view gold) {
    return squad_normalize(prediction) == squad_normalize(gold);
}

double squad_f1(std::string_view prediction, std::string_view gold) {
    std::vector<std::string> p = split_whitespace(squad_normalize(prediction)), g = split_whitespace(squad_normalize(gold));
    std::sort(p.begin(), p.end());
    std::sort(g.begin(), g.end());
    std::vector<std::string> common;
    std::set_intersection(p.begin(), p.end(), g.begin(), g.end(), std::back_inserter(common));  // multiset: min counts
    if (common.empty()) return 0;
    const double precision = static_cast<double>(common.size()) / p.size(), recall = static_cast<double>(common.size()) / g.size();
    return 2 * precision * recall / (precision + recall);
}

SquadScores squad_scores(const std::vector<SquadExample>& examples, const std::map<std::string, std::string>& predictions) {
    SquadScores s;
    double exact = 0, f1 = 0;
    for (const SquadExample& ex : examples) {
        ++s.total;
        const auto it = predictions.find(ex.id);
        if (it == predictions.end()) continue;
        ++s.answered;
        double best_exact = 0, best_f1 = 0;
        for (const SquadAnswer& a : ex.answers) {
            best_exact = std::max(best_exact, squad_exact(it->second, a.text) ? 1.0 : 0.0);
            best_f1 = std::max(best_f1, squad_f1(it->second, a.text));
        }
        exact += best_exact;
        f1 += best_f1;
    }
    if (s.total) s.exact_match = 100.0 * exact / s.total, s.f1 = 100.0 * f1 / s.total;
    return s;
}

// --- BLEU and ROUGE

namespace {

using Ngrams = std::map<std::vector<std::string>, int64_t>;

Ngrams ngram_counts(const std::vector<std::string>& tokens, size_t n) {
    Ngrams counts;
    for (size_t i = 0; i + n <= tokens.size(); ++i) ++counts[std::vector<std::string>(tokens.begin() + i, tokens.begin() + i + n)];
    return counts;
}

// Sum over the hypothesis n-grams of min(count in hypothesis, count in reference).
int64_t clipped_matches(const Ngrams& hyp, const Ngrams& ref) {
    int64_t m = 0;
    for (const auto& [gram, count] : hyp) {
        const auto it = ref.find(gram);
        if (it != ref.end()) m += std::min(count, it->second);
    }
    return m;
}

int64_t total(const Ngrams& counts) {
    int64_t t = 0;
    for (const auto& [gram, count] : counts) t += count;
    return t;
}

void check_segments(size_t refs, size_t hyps) {
    if (refs != hyps) fail(refs, " reference segments but ", hyps, " hypotheses");
}

double f1_of(int64_t overlap, int64_t hyp_total, int64_t ref_total) {
    if (overlap == 0 || hyp_total == 0 || ref_total == 0) return 0;
    const double p = static_cast<double>(overlap) / hyp_total, r = static_cast<double>(overlap) / ref_total;
    return 2 * p * r / (p + r);
}

size_t lcs_length(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    std::vector<size_t> prev(b.size() + 1, 0), row(b.size() + 1, 0);
    for (size_t i = 1; i <= a.size(); ++i) {
        for (size_t j = 1; j <= b.size(); ++j) row[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], row[j - 1]);
        std::swap(prev, row);
    }
    return prev[b.size()];
}

}  // namespace

BleuScores corpus_bleu(const std::vector<std::vector<std::string>>& references,
                       const std::vector<std::vector<std::string>>& hypotheses) {
    check_segments(references.size(), hypotheses.size());
    BleuScores s;
    for (size_t i = 0; i < hypotheses.size(); ++i) {
        for (size_t n = 1; n <= 4; ++n) {
            const Ngrams hyp = ngram_counts(hypotheses[i], n);
            s.matches[n - 1] += clipped_matches(hyp, ngram_counts(references[i], n));
            s.totals[n - 1] += std::max<int64_t>(1, total(hyp));  // NLTK: a denominator of at least 1
        }
        s.hyp_length += static_cast<int64_t>(hypotheses[i].size());
        s.ref_length += static_cast<int64_t>(references[i].size());
    }
    // Brevity penalty: 1 when longer than the references, 0 for an empty hypothesis corpus.
    if (s.hyp_length > s.ref_length) s.brevity_penalty = 1;
    else if (s.hyp_length == 0) s.brevity_penalty = 0;
    else s.brevity_penalty = std::exp(1 - static_cast<double>(s.ref_length) / static_cast<double>(s.hyp_length));
    if (s.matches[0] == 0) return s;  // bleu 0
    double log_sum = 0;
    for (int n = 0; n < 4; ++n) {
        const double p = s.matches[n] ? static_cast<double>(s.matches[n]) / static_cast<double>(s.totals[n]) : DBL_MIN;
        log_sum += 0.25 * std::log(p);
    }
    s.bleu = s.brevity_penalty * std::exp(log_sum);
    return s;
}

RougeScores rouge(const std::vector<std::vector<std::string>>& references,
                  const std::vector<std::vector<std::string>>& hypotheses) {
    check_segments(references.size(), hypotheses.size());
    RougeScores s;
    if (hypotheses.empty()) return s;
    for (size_t i = 0; i < hypotheses.size(); ++i) {
        const std::vector<std::string>& h = hypotheses[i];
        const std::vector<std::string>& r = references[i];
        for (size_t n = 1; n <= 2; ++n) {
            const Ngrams hn = ngram_counts(h, n), rn = ngram_counts(r, n);
            (n == 1 ? s.rouge1 : s.rouge2) += f1_of(clipped_matches(hn, rn), total(hn), total(rn));
        }
        s.rougeL += f1_of(static_cast<int64_t>(lcs_length(h, r)), static_cast<int64_t>(h.size()), static_cast<int64_t>(r.size()));
    }
    const double n = static_cast<double>(hypotheses.size());
    s.rouge1 /= n, s.rouge2 /= n, s.rougeL /= n;
    return s;
}

}  // namespace lm
