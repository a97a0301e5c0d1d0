#include "src/train/task_data.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "src/models/qa.h"
#include "tokenizer/unicode.h"
#include "weights/error.h"
#include "weights/files.h"
#include "weights/json.h"

namespace lm {

namespace {

std::string read_bytes(const std::string& path) {
    std::string bytes;
    if (!files::read(path, bytes)) fail(path, ": cannot open");
    return bytes;
}

// Fails naming the line of the first byte that does not start a valid UTF-8 character.
void check_utf8(const std::string& path, const std::string& text) {
    int line = 1;
    for (size_t pos = 0; pos < text.size();) {
        const Decoded d = decode_utf8(text, pos);
        if (d.cp >= invalid_codepoint) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[pos]));
            fail(path, ":", line, ": not UTF-8 text (byte ", hex, ")");
        }
        if (d.cp == '\n') ++line;
        pos += d.len;
    }
}

std::string strip(const std::string& s) {
    const char* ws = " \t\r\n\v\f";
    const size_t first = s.find_first_not_of(ws);
    if (first == std::string::npos) return "";
    return s.substr(first, s.find_last_not_of(ws) - first + 1);
}

struct Record {
    std::vector<std::string> fields;
    int line = 0;
};

// Tab-separated: one record a line, no quoting.
std::vector<Record> split_tsv(const std::string& text) {
    std::vector<Record> records;
    int line = 0;
    for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        ++line;
        const std::string row = text.substr(pos, end - pos);
        pos = end + 1;
        if (strip(row).empty()) continue;
        Record r{{}, line};
        for (size_t from = 0;;) {
            const size_t tab = row.find('\t', from);
            r.fields.push_back(row.substr(from, tab == std::string::npos ? std::string::npos : tab - from));
            if (tab == std::string::npos) break;
            from = tab + 1;
        }
        records.push_back(std::move(r));
    }
    return records;
}

// RFC 4180: fields separated by commas, records by CRLF or LF; a field starting with a quote
// runs to the next lone quote, "" standing for one quote, and may hold commas and newlines.
std::vector<Record> split_csv(const std::string& path, const std::string& text) {
    std::vector<Record> records;
    int line = 1;
    size_t pos = 0;
    while (pos < text.size()) {
        Record r{{}, line};
        bool blank = true;  // the record is one empty, unquoted field
        for (;;) {
            std::string field;
            if (pos < text.size() && text[pos] == '"') {
                blank = false;
                const int opened = line;
                for (++pos;; ++pos) {
                    if (pos >= text.size()) fail(path, ":", opened, ": a quoted field is not closed");
                    if (text[pos] == '"') {
                        if (pos + 1 < text.size() && text[pos + 1] == '"') {
                            field += '"';
                            ++pos;
                            continue;
                        }
                        ++pos;
                        break;
                    }
                    if (text[pos] == '\n') ++line;
                    field += text[pos];
                }
                while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\r')) ++pos;
                if (pos < text.size() && text[pos] != ',' && text[pos] != '\n')
                    fail(path, ":", line, ": text after the closing quote of a field");
            } else {
                while (pos < text.size() && text[pos] != ',' && text[pos] != '\n') field += text[pos++];
                if (!strip(field).empty()) blank = false;
            }
            r.fields.push_back(field);
            if (pos < text.size() && text[pos] == ',') {
                blank = false;
                ++pos;
                continue;
            }
            if (pos < text.size()) ++pos, ++line;  // the newline
            break;
        }
        if (!blank) records.push_back(std::move(r));
    }
    return records;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int column_of(const std::vector<std::string>& header, const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : static_cast<int>(it - header.begin());
}

std::string joined(const std::vector<std::string>& names) {
    std::string s;
    for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
    return s;
}

bool is_integer(const std::string& s) {
    if (s.empty() || s.size() > 18) return false;
    for (size_t i = 0; i < s.size(); ++i)
        if (!(std::isdigit(static_cast<unsigned char>(s[i])) || (i == 0 && s[i] == '-' && s.size() > 1))) return false;
    return true;
}

}  // namespace

TextTable read_text_table(const std::string& path, const TextColumns& columns) {
    std::string text = read_bytes(path);
    if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
    if (strip(text).empty()) fail(path, ": the file is empty (a header row is needed)");
    check_utf8(path, text);
    const std::string first_line = text.substr(0, text.find('\n'));
    const bool tsv = ends_with(path, ".tsv") || (!ends_with(path, ".csv") && first_line.find('\t') != std::string::npos);
    const std::vector<Record> records = tsv ? split_tsv(text) : split_csv(path, text);

    std::vector<std::string> header;
    for (const std::string& f : records[0].fields) header.push_back(strip(f));
    std::vector<std::string> text_names;
    if (columns.text.empty()) {
        if (column_of(header, "sentence") >= 0) text_names = {"sentence"};
        else if (column_of(header, "sentence1") >= 0 && column_of(header, "sentence2") >= 0) text_names = {"sentence1", "sentence2"};
        else
            fail(path, ":", records[0].line, ": no column 'sentence' (or 'sentence1' and 'sentence2') in the header (",
                 joined(header), "): name the text column (--text-column)");
    } else {
        const size_t comma = columns.text.find(',');
        text_names = {strip(columns.text.substr(0, comma))};
        if (comma != std::string::npos) text_names.push_back(strip(columns.text.substr(comma + 1)));
    }
    std::vector<int> text_at;
    for (const std::string& name : text_names) {
        text_at.push_back(column_of(header, name));
        if (text_at.back() < 0) fail(path, ":", records[0].line, ": no text column '", name, "' in the header (", joined(header), ")");
    }
    const int label_at = column_of(header, columns.label);
    if (label_at < 0) fail(path, ":", records[0].line, ": no label column '", columns.label, "' in the header (", joined(header), ")");

    TextTable table;
    table.path = path;
    table.pairs = text_at.size() == 2;
    for (size_t r = 1; r < records.size(); ++r) {
        const Record& rec = records[r];
        if (rec.fields.size() != header.size())
            fail(path, ":", rec.line, ": ", rec.fields.size(), " fields, but the header has ", header.size());
        TextRow row;
        row.text_a = strip(rec.fields[text_at[0]]);
        if (table.pairs) row.text_b = strip(rec.fields[text_at[1]]);
        row.label = strip(rec.fields[label_at]);
        row.line = rec.line;
        if (row.label.empty()) fail(path, ":", rec.line, ": the label ('", columns.label, "') is empty");
        table.rows.push_back(std::move(row));
    }
    if (table.rows.empty()) fail(path, ": no rows after the header");
    return table;
}

std::vector<std::string> label_names(const TextTable& table) {
    std::set<std::string> seen;
    for (const TextRow& row : table.rows) seen.insert(row.label);
    std::vector<std::string> names(seen.begin(), seen.end());
    if (std::all_of(names.begin(), names.end(), is_integer))
        std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) { return std::stoll(a) < std::stoll(b); });
    return names;
}

void check_labels_known(const TextTable& table, const std::vector<std::string>& known, const std::string& what) {
    for (const TextRow& row : table.rows)
        if (std::find(known.begin(), known.end(), row.label) == known.end())
            fail(table.path, ":", row.line, ": label '", row.label, "' is not one of ", what, " (", joined(known), ")");
}

namespace {

const Json& member(const Json& object, const char* key, Json::Type type, const std::string& path, const std::string& where) {
    const Json* v = object.is_object() ? object.find(key) : nullptr;
    if (!v) fail(path, ": ", where, ": missing \"", key, "\"");
    if (v->type != type) fail(path, ": ", where, ": \"", key, "\" is a ", json_type_name(v->type), ", expected a ", json_type_name(type));
    return *v;
}

}  // namespace

std::vector<SquadExample> read_squad(const std::string& path) {
    const Json root = read_json_file(path);
    const Json& data = member(root, "data", Json::Type::array, path, "top level");
    std::vector<SquadExample> examples;
    std::set<std::string> ids;
    int paragraph = 0;
    for (size_t a = 0; a < data.items.size(); ++a) {
        const std::string article = "data[" + std::to_string(a) + "]";
        for (const Json& p : member(data.items[a], "paragraphs", Json::Type::array, path, article).items) {
            const std::string where = article + ".paragraphs[" + std::to_string(paragraph) + "]";
            const std::string& context = member(p, "context", Json::Type::string, path, where).str;
            const size_t n_chars = char_count(context);
            for (const Json& q : member(p, "qas", Json::Type::array, path, where).items) {
                SquadExample ex;
                ex.id = member(q, "id", Json::Type::string, path, where + ".qas").str;
                const std::string name = "question " + ex.id;
                if (!ids.insert(ex.id).second) fail(path, ": duplicate question id ", ex.id);
                ex.question = member(q, "question", Json::Type::string, path, name).str;
                ex.context = context;
                ex.paragraph = paragraph;
                for (const Json& ans : member(q, "answers", Json::Type::array, path, name).items) {
                    SquadAnswer answer;
                    answer.text = member(ans, "text", Json::Type::string, path, name).str;
                    const Json& start = member(ans, "answer_start", Json::Type::number, path, name);
                    if (!start.integral || start.integer < 0 || static_cast<size_t>(start.integer) > n_chars)
                        fail(path, ": question ", ex.id, ": answer_start ", start.number, " is not a character offset in its ",
                             n_chars, "-character context");
                    answer.answer_start = static_cast<int>(start.integer);
                    answer.byte_start = byte_offset_of_char(context, answer.answer_start);
                    if (context.compare(answer.byte_start, answer.text.size(), answer.text) != 0)
                        fail(path, ": question ", ex.id, ": answer \"", answer.text, "\" is not the context's text at answer_start ",
                             answer.answer_start, " (there: \"", context.substr(answer.byte_start, answer.text.size()), "\")");
                    ex.answers.push_back(std::move(answer));
                }
                examples.push_back(std::move(ex));
            }
            ++paragraph;
        }
    }
    if (examples.empty()) fail(path, ": no questions");
    return examples;
}

std::map<std::string, std::string> read_predictions(const std::string& path) {
    const Json root = read_json_file(path);
    if (!root.is_object()) fail(path, ": a predictions file is one JSON object mapping question ids to answers");
    std::map<std::string, std::string> answers;
    for (const auto& [id, value] : root.members) {
        if (!value.is_string()) fail(path, ": the prediction for ", id, " is a ", json_type_name(value.type), ", expected a string");
        answers[id] = value.str;
    }
    return answers;
}

std::string json_quote(const std::string& s) {
    std::string out = "\"";
    for (char ch : s) {
        const unsigned char c = static_cast<unsigned char>(ch);
        if (c == '"') out += "\\\"";
        else if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '\r') out += "\\r";
        else if (c < 0x20) {
            char u[8];
            std::snprintf(u, sizeof u, "\\u%04x", c);
            out += u;
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

void write_predictions(const std::string& path, const std::vector<std::pair<std::string, std::string>>& answers) {
    const std::string tmp = path + ".tmp";
    std::string text = "{";
    for (size_t i = 0; i < answers.size(); ++i)
        text += concat(i ? ",\n " : "", json_quote(answers[i].first), ": ", json_quote(answers[i].second));
    text += "}\n";
    if (!files::write(tmp, text)) {
        std::remove(tmp.c_str());
        fail(path, ": cannot write (", tmp, ")");
    }
    if (const std::string error = files::rename(tmp, path); !error.empty()) {
        std::remove(tmp.c_str());
        fail(path, ": cannot write: ", error);
    }
}

}  // namespace lm
