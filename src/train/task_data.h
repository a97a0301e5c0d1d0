// Fine-tuning and evaluation data: labelled text tables (GLUE-style TSV, or CSV) for sequence
// classification, SQuAD v1.1 JSON for extractive question answering, and the predictions
// files `lm eval --task qa` writes and scores ({"question id": "answer", ...}).
// Every error names the file and the line (tables) or the question id (SQuAD).
#pragma once
#include <map>
#include <string>
#include <vector>

namespace lm {

// Which columns hold the text and the label. text: "" picks `sentence`, or `sentence1` and
// `sentence2` (a pair) when there is no `sentence`; "a,b" names a pair, "a" one column.
struct TextColumns {
    std::string text;
    std::string label = "label";
};

struct TextRow {
    std::string text_a, text_b;  // text_b is empty unless the table holds pairs
    std::string label;
    int line = 0;  // 1-based line of the file where the row starts
};

struct TextTable {
    std::string path;
    bool pairs = false;
    std::vector<TextRow> rows;
};

// Reads a table with a header row: tab-separated (.tsv, or a first line holding a tab; no
// quoting, as GLUE) or comma-separated (.csv, or otherwise; RFC 4180: quoted fields, doubled
// quotes, commas and newlines inside quotes). Fields are stripped of surrounding whitespace
// (GLUE keeps a space before each tab); a UTF-8 byte order mark and blank lines are skipped.
// Throws lm::Error naming the file (and line) for: no header, no rows, a named column not in
// the header, a row with more or fewer fields than the header, an empty label, an unclosed
// quote, bytes that are not UTF-8.
TextTable read_text_table(const std::string& path, const TextColumns& columns = {});

// The distinct labels of a table, sorted (numerically when all are integers: "2" < "10").
std::vector<std::string> label_names(const TextTable& table);
// Throws naming table.path and the line of the first row whose label is not in `known`
// (e.g. a dev label never seen in training; `what` says where the known labels come from).
void check_labels_known(const TextTable& table, const std::vector<std::string>& known, const std::string& what);

struct SquadAnswer {
    std::string text;
    int answer_start = 0;     // in code points of the context, as the file gives it
    size_t byte_start = 0;    // the same in bytes of the UTF-8 context
};

struct SquadExample {
    std::string id, question, context;
    int paragraph = 0;  // index of the context in file order, shared by its questions
    std::vector<SquadAnswer> answers;
};

// SQuAD v1.1: {"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question",
// "answers": [{"text", "answer_start"}]}]}]}]}. Checks that every answer is the context's text
// at answer_start (counted in code points) and that ids are unique; errors name the id.
std::vector<SquadExample> read_squad(const std::string& path);

// A predictions file: one JSON object mapping question ids to answer strings.
std::map<std::string, std::string> read_predictions(const std::string& path);
// Writes one, ids in the given order, through a temporary file renamed into place.
void write_predictions(const std::string& path, const std::vector<std::pair<std::string, std::string>>& answers);
// `s` as a JSON string literal, quotes included (non-ASCII stays UTF-8).
std::string json_quote(const std::string& s);

}  // namespace lm
