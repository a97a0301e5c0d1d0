// src/train/task_data.h: TSV/CSV tables, SQuAD JSON and predictions files, and their bad inputs.
#include "src/train/task_data.h"

#include <fstream>

#include "tests/lm_process.h"
#include "weights/error.h"

using namespace lm;

namespace {

using testing::write_temp;

// The message read_text_table throws for a file holding `bytes`.
std::string table_error(const std::string& name, const std::string& bytes, const TextColumns& columns = {}) {
    const std::string path = write_temp(name, bytes);
    try {
        read_text_table(path, columns);
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

std::string squad_error(const std::string& json) {
    const std::string path = write_temp("bad-squad.json", json);
    try {
        read_squad(path);
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

std::string squad(const std::string& context, const std::string& answers, const std::string& id = "q1") {
    return R"({"data": [{"title": "t", "paragraphs": [{"context": ")" + context + R"(", "qas": [{"id": ")" + id +
           R"(", "question": "what?", "answers": )" + answers + "}]}]}]}";
}

}  // namespace

TEST_SUITE("task data") {

TEST_CASE("GLUE TSV: header, stripped fields, single sentences and pairs") {
    const std::string path = write_temp("sst.tsv", "sentence\tlabel\nit 's a charming journey . \t1\n\nbleak \t0\n");
    const TextTable t = read_text_table(path);
    CHECK(!t.pairs);
    REQUIRE(t.rows.size() == 2);
    CHECK(t.rows[0].text_a == "it 's a charming journey .");
    CHECK(t.rows[0].label == "1");
    CHECK(t.rows[0].line == 2);
    CHECK(t.rows[1].line == 4);  // the blank line is skipped, still counted
    CHECK(label_names(t) == std::vector<std::string>{"0", "1"});

    const std::string pairs = write_temp("pairs.tsv", "idx\tsentence1\tsentence2\tlabel\n0\ta b\tc d\tentailment\n1\te\tf\tneutral\n");
    const TextTable p = read_text_table(pairs);
    CHECK(p.pairs);
    CHECK((p.rows[1].text_a == "e" && p.rows[1].text_b == "f" && p.rows[1].label == "neutral"));
    // Columns named on the command line; a pair as "a,b".
    const TextTable q = read_text_table(pairs, {"sentence2, sentence1", "idx"});
    CHECK((q.rows[0].text_a == "c d" && q.rows[0].text_b == "a b" && q.rows[0].label == "0"));
    const TextTable r = read_text_table(pairs, {"sentence2", "label"});
    CHECK((!r.pairs && r.rows[0].text_a == "c d"));
}

TEST_CASE("CSV: RFC 4180 quoting, CRLF, a byte order mark; labels sorted numerically") {
    const std::string path = write_temp("t.csv",
                                        "\xEF\xBB\xBFtext,label\r\n"
                                        "\"hello, world\",10\r\n"
                                        "\"she said \"\"hi\"\"\",2\r\n"
                                        "\"two\nlines\",2\r\n"
                                        "plain,-1\r\n");
    const TextTable t = read_text_table(path, {"text", "label"});
    REQUIRE(t.rows.size() == 4);
    CHECK(t.rows[0].text_a == "hello, world");
    CHECK(t.rows[1].text_a == "she said \"hi\"");
    CHECK(t.rows[2].text_a == "two\nlines");
    CHECK(t.rows[3].line == 6);  // after the two-line record
    CHECK(t.rows[3].text_a == "plain");
    CHECK(label_names(t) == std::vector<std::string>{"-1", "2", "10"});
    // No extension: a tab in the first line means TSV, else CSV.
    CHECK(read_text_table(write_temp("noext1", "sentence\tlabel\na,b\tx\n")).rows[0].text_a == "a,b");
    CHECK(read_text_table(write_temp("noext2", "sentence,label\n\"a\tb\",x\n")).rows[0].text_a == "a\tb");
}

TEST_CASE("bad tables: one message naming the file and line") {
    CHECK(table_error("empty.tsv", "").find("empty.tsv: the file is empty") != std::string::npos);
    CHECK(table_error("header-only.tsv", "sentence\tlabel\n").find("header-only.tsv: no rows after the header") != std::string::npos);
    CHECK(table_error("nocol.tsv", "text\tlabel\na\t1\n").find("nocol.tsv:1: no column 'sentence'") != std::string::npos);
    CHECK(table_error("nolabel.tsv", "sentence\tgold\na\t1\n").find("nolabel.tsv:1: no label column 'label' in the header (sentence, gold)") !=
          std::string::npos);
    CHECK(table_error("named.tsv", "sentence\tlabel\na\t1\n", {"review", "label"}).find("named.tsv:1: no text column 'review'") !=
          std::string::npos);
    CHECK(table_error("ragged.tsv", "sentence\tlabel\na\t1\nb\t0\textra\n").find("ragged.tsv:3: 3 fields, but the header has 2") !=
          std::string::npos);
    CHECK(table_error("short.csv", "sentence,label\n\"a\nb\",1\nc\n").find("short.csv:4: 1 fields, but the header has 2") !=
          std::string::npos);
    CHECK(table_error("utf8.tsv", "sentence\tlabel\nok\t1\ncr\xE8me\t1\n").find("utf8.tsv:3: not UTF-8 text (byte 0xE8)") !=
          std::string::npos);
    CHECK(table_error("quote.csv", "sentence,label\n\"open,1\n").find("quote.csv:2: a quoted field is not closed") != std::string::npos);
    CHECK(table_error("after.csv", "sentence,label\n\"a\"b,1\n").find("after.csv:2: text after the closing quote") != std::string::npos);
    CHECK(table_error("nolabelvalue.tsv", "sentence\tlabel\na\t \n").find("nolabelvalue.tsv:2: the label ('label') is empty") !=
          std::string::npos);
    CHECK(table_error("missing.tsv", "").find("missing.tsv") != std::string::npos);

    const TextTable train = read_text_table(write_temp("train.tsv", "sentence\tlabel\na\tpos\nb\tneg\n"));
    const TextTable dev = read_text_table(write_temp("dev.tsv", "sentence\tlabel\na\tpos\nb\tneutral\n"));
    CHECK_NOTHROW(check_labels_known(train, label_names(train), "the training labels"));
    CHECK_THROWS_WITH_AS(check_labels_known(dev, label_names(train), "the training labels"),
                         doctest::Contains("dev.tsv:3: label 'neutral' is not one of the training labels (neg, pos)"), Error);
}

TEST_CASE("SQuAD: answers at code-point offsets; ids unique") {
    // "Ünïcode café is here": é is 2 bytes, the answer starts at character 13 (byte 16).
    const std::string path = write_temp("s.json", squad("\\u00dcn\\u00efcode caf\\u00e9 is here",
                                                        R"([{"text": "is", "answer_start": 13}, {"text": "caf\u00e9", "answer_start": 8}])"));
    const std::vector<SquadExample> ex = read_squad(path);
    REQUIRE(ex.size() == 1);
    CHECK(ex[0].id == "q1");
    CHECK(ex[0].question == "what?");
    REQUIRE(ex[0].answers.size() == 2);
    CHECK(ex[0].answers[0].answer_start == 13);
    CHECK(ex[0].answers[0].byte_start == 16);
    CHECK(ex[0].context.substr(ex[0].answers[1].byte_start, 5) == "caf\xC3\xA9");

    CHECK(squad_error(squad("the capital is paris", R"([{"text": "paris", "answer_start": 14}])", "q7")).find(
              "bad-squad.json: question q7: answer \"paris\" is not the context's text at answer_start 14 (there: \" pari\")") !=
          std::string::npos);
    CHECK(squad_error(squad("paris", R"([{"text": "paris", "answer_start": 9}])")).find("question q1: answer_start 9 is not a character offset") !=
          std::string::npos);
    const std::string two = R"({"data": [{"paragraphs": [{"context": "a b", "qas": [)"
                            R"({"id": "x", "question": "?", "answers": [{"text": "a", "answer_start": 0}]},)"
                            R"({"id": "x", "question": "?", "answers": [{"text": "b", "answer_start": 2}]}]}]}]})";
    CHECK(squad_error(two).find("bad-squad.json: duplicate question id x") != std::string::npos);
    CHECK(squad_error(R"({"version": "1.1"})").find("bad-squad.json: top level: missing \"data\"") != std::string::npos);
    CHECK(squad_error(squad("a", R"([{"text": "a"}])")).find("question q1: missing \"answer_start\"") != std::string::npos);
}

TEST_CASE("the SQuAD v1.1 dev file reads whole") {
    const std::string path = testing::shared_file("datasets/squad/dev-v1.1.json");
    if (path.empty()) return;
    const std::vector<SquadExample> ex = read_squad(path);
    CHECK(ex.size() == 10570);
    size_t answers = 0;
    for (const SquadExample& e : ex) answers += e.answers.size();
    CHECK(answers == 34726);
    CHECK(ex.back().paragraph == 2066);
}

TEST_CASE("SST-2 reads whole") {
    const std::string path = testing::shared_file("datasets/sst2/dev.tsv");
    if (path.empty()) return;
    const TextTable t = read_text_table(path);
    CHECK(t.rows.size() == 872);
    CHECK(label_names(t) == std::vector<std::string>{"0", "1"});
    CHECK(t.rows[0].text_a == "it 's a charming and often affecting journey .");
}

TEST_CASE("predictions files round trip through JSON") {
    const std::string path = testing::temp_path("pred.json");
    write_predictions(path, {{"a", "say \"hi\"\n"}, {"b", "caf\xC3\xA9 \\ \x01"}});
    const std::map<std::string, std::string> p = read_predictions(path);
    CHECK(p.at("a") == "say \"hi\"\n");
    CHECK(p.at("b") == "caf\xC3\xA9 \\ \x01");
    CHECK(!std::filesystem::exists(path + ".tmp"));
    CHECK_THROWS_WITH_AS(read_predictions(write_temp("p2.json", R"({"a": 1})")), doctest::Contains("the prediction for a is a number"), Error);
}

}  // TEST_SUITE
