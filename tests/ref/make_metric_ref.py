#!/usr/bin/python3
"""Reference numbers for src/eval/metrics.cpp, written to tests/ref/metrics/metric_ref.json.

Run from the project root with Debian's python3 (python3-nltk installed):
    /usr/bin/python3 tests/ref/make_metric_ref.py
- BLEU: NLTK's corpus_bleu (default weights, no smoothing) over tests/ref/metrics/{ref,hyp}*.txt,
  one segment a line, tokens from str.split().
- ROUGE-1/2/L F1 and the SQuAD v1.1 EM/F1: small implementations written here from their
  definitions (for SQuAD: the normalization described in ../shared/datasets/squad/README.md),
  independent of the C++ ones.
- The whole SQuAD dev file against predictions made from it by a fixed rule (perturbed(),
  which tests/test_metrics.cpp repeats), when ../shared/datasets/squad/dev-v1.1.json exists.
"""
import collections
import json
import os
import re
import string
import sys
import warnings

from nltk.translate.bleu_score import corpus_bleu

HERE = os.path.join("tests", "ref", "metrics")


def lines(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return f.read().split("\n")[:-1]  # one segment a line, the file ends with a newline


def bleu(ref_name, hyp_name):
    refs = [[r.split()] for r in lines(ref_name)]
    hyps = [h.split() for h in lines(hyp_name)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return corpus_bleu(refs, hyps)


def ngrams(tokens, n):
    return collections.Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def f1(overlap, n_hyp, n_ref):
    if overlap == 0 or n_hyp == 0 or n_ref == 0:
        return 0.0
    p, r = overlap / n_hyp, overlap / n_ref
    return 2 * p * r / (p + r)


def lcs(a, b):
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a)):
        for j in range(len(b)):
            table[i + 1][j + 1] = table[i][j] + 1 if a[i] == b[j] else max(table[i][j + 1], table[i + 1][j])
    return table[len(a)][len(b)]


def rouge(ref_name, hyp_name):
    totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    pairs = list(zip(lines(ref_name), lines(hyp_name)))
    for ref, hyp in pairs:
        r, h = ref.split(), hyp.split()
        for n in (1, 2):
            hn, rn = ngrams(h, n), ngrams(r, n)
            totals["rouge%d" % n] += f1(sum((hn & rn).values()), sum(hn.values()), sum(rn.values()))
        totals["rougeL"] += f1(lcs(h, r), len(h), len(r))
    return {k: v / len(pairs) for k, v in totals.items()}


def normalize(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def squad_em(pred, gold):
    return 1.0 if normalize(pred) == normalize(gold) else 0.0


def squad_f1(pred, gold):
    p, g = normalize(pred).split(), normalize(gold).split()
    same = sum((collections.Counter(p) & collections.Counter(g)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


# Prediction / gold pairs exercising every step of the normalization.
SQUAD_PAIRS = [
    ("Denver Broncos", "Denver Broncos"),
    ("the Denver Broncos", "Denver Broncos"),
    ("Broncos", "Denver Broncos"),
    ("An apple a day", "apple day"),
    ("anapple", "apple"),
    ("The The the", ""),
    ("", ""),
    ("", "something"),
    ("Saint-Denis, France.", "saint denis france"),
    ("U.S.A.", "usa"),
    ("1,000 (one thousand)", "1000 one thousand"),
    ("the\u00a0cat", "cat"),                # non-breaking space splits
    ("a\u2009b\u3000c", "b c"),             # thin space, ideographic space
    ("\u201cquoted\u201d", "quoted"),        # curly quotes are not ASCII punctuation
    ("1990\u20131995", "1990 1995"),         # en dash stays
    ("the\u2019s", "s"),                    # \b before a right single quote: "the" goes
    ("th\u00e9 the\u00e9 a\u00e9 \u00e9a", "th\u00e9"),  # \b is Unicode: "the" before é is no word
    ("\u00c9COLE Normale", "\u00e9cole normale"),
    ("\u039f\u0394\u039f\u03a3 \u03a3\u039f\u03a6\u0399\u0391", "\u03bf\u03b4\u03bf\u03c2 \u03c3\u03bf\u03c6\u03b9\u03b1"),
    ("\u0130stanbul", "i\u0307stanbul"),
    ("a_b the_c", "a_b the_c"),
    ("cat cat dog", "cat dog dog"),
    ("in the 19th century", "19th century"),
    ("\tmany   spaces \n here ", "many spaces here"),
    ("x\x1cy", "x y"),                       # an ASCII separator is whitespace for str.split
    ("caf\u00e9 au lait", "cafe au lait"),
]


def perturbed(examples):
    """Predictions made from the gold answers by a fixed rule (tests/test_metrics.cpp repeats it)."""
    predictions = {}
    for i, (qid, answers) in enumerate(examples):
        first = answers[0]
        if i % 13 == 0:
            continue  # no prediction: scores 0
        if i % 4 == 0:
            predictions[qid] = first
        elif i % 4 == 1:
            predictions[qid] = first + " extra words"
        elif i % 4 == 2:
            predictions[qid] = first[first.find(" ") + 1:] if " " in first else ""
        else:
            predictions[qid] = examples[i - 1][1][0]
    return predictions


def squad_dev():
    path = os.path.join("..", "shared", "datasets", "squad", "dev-v1.1.json")
    if not os.path.exists(path):
        print("skipping the SQuAD dev file: missing", path, file=sys.stderr)
        return None
    with open(path, encoding="utf-8") as f:
        data = json.load(f)["data"]
    examples = [(q["id"], [a["text"] for a in q["answers"]]) for article in data for p in article["paragraphs"]
                for q in p["qas"]]
    predictions = perturbed(examples)
    em = sum(max(squad_em(predictions[qid], g) for g in golds) for qid, golds in examples if qid in predictions)
    f = sum(max(squad_f1(predictions[qid], g) for g in golds) for qid, golds in examples if qid in predictions)
    return {"exact_match": 100.0 * em / len(examples), "f1": 100.0 * f / len(examples),
            "questions": len(examples), "answered": len(predictions)}


def main():
    out = {
        "bleu": bleu("ref.txt", "hyp.txt"),
        "bleu_short": bleu("ref_short.txt", "hyp_short.txt"),
        "rouge": rouge("ref.txt", "hyp.txt"),
        "rouge_short": rouge("ref_short.txt", "hyp_short.txt"),
        "squad_pairs": [[p, g, squad_em(p, g), squad_f1(p, g)] for p, g in SQUAD_PAIRS],
    }
    dev = squad_dev()
    if dev:
        out["squad_dev_perturbed"] = dev
    with open(os.path.join(HERE, "metric_ref.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
