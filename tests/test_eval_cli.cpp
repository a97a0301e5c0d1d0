// lm eval --task: classify and qa on the tiny random BERT models (consistent with lm classify
// and lm qa), qa --score, bleu and rouge through the CLI.
#include <cstdio>
#include <fstream>

#include "src/eval/metrics.h"
#include "src/train/task_data.h"
#include "tests/lm_process.h"

using namespace lm;

namespace {

using testing::write_temp;

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string two_decimals(const char* key, double em, double f1) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s %.2f f1 %.2f", key, em, f1);
    return buf;
}

}  // namespace

TEST_SUITE("eval cli") {

TEST_CASE("eval --task classify: gold labels = lm classify's predictions give accuracy 1 (padded batches)") {
    const std::vector<std::string> texts = {"the movie was great", "awful", "it was ok , i guess , but the ending was long",
                                            "the eiffel tower is in paris", "great great great film", "no"};
    std::string args = "classify tests/ref/bert -t 1";
    for (const std::string& t : texts) args += " '" + t + "'";
    const testing::LmResult c = testing::run_lm(args);
    REQUIRE(c.status == 0);
    std::string table = "sentence\tlabel\n";
    size_t pos = 0;
    for (const std::string& t : texts) {
        const size_t tab = c.out.find('\t', pos);
        table += t + " \t" + c.out.substr(pos, tab - pos) + "\n";
        pos = c.out.find('\n', tab) + 1;
    }
    const std::string path = write_temp("eval-classify.tsv", table);
    const testing::LmResult r = testing::run_lm("eval tests/ref/bert " + path + " --task classify -t 1 --batch 4");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.rfind("accuracy 1.0000 (6/6)\n", 0) == 0);
    CHECK(r.out.find("macro f1 1.0000\n") != std::string::npos);
    CHECK(r.out.find("confusion matrix (rows: gold, columns: predicted)\n") != std::string::npos);
    // The same rows one at a time: the same report.
    CHECK(testing::run_lm("eval tests/ref/bert " + path + " --task classify -t 1 --batch 1").out == r.out);
    // CSV and pairs run too (sentence1 [SEP] sentence2 with token types).
    const std::string csv = write_temp("eval-pairs.csv", "sentence1,sentence2,label\n\"good, very\",bad,negative\nfine,\"ok \"\"so\"\"\",positive\n");
    const testing::LmResult p = testing::run_lm("eval tests/ref/bert " + csv + " --task classify -t 1");
    INFO(p.err);
    CHECK(p.status == 0);
    CHECK(p.out.find("/2)\n") != std::string::npos);
}

TEST_CASE("eval --task qa: the answers lm qa gives, in one window and in many; --score agrees") {
    std::string long_context;
    for (int i = 0; i < 8; ++i) long_context += "the big city has a river . ";
    const size_t at = long_context.size();
    long_context += "the eiffel tower is there .";
    const std::string dev = write_temp("eval-qa.json",
        R"({"data": [{"title": "t", "paragraphs": [{"context": "the eiffel tower is in paris .", "qas": [)"
        R"({"id": "a1", "question": "what is in paris ?", "answers": [{"text": "eiffel tower", "answer_start": 4}, {"text": "the eiffel tower", "answer_start": 0}]},)"
        R"({"id": "a2", "question": "where ?", "answers": [{"text": "paris", "answer_start": 23}]}]},)"
        R"({"context": ")" + long_context + R"(", "qas": [{"id": "b1", "question": "what is there ?", "answers": [{"text": "eiffel tower", "answer_start": )" +
        std::to_string(at + 4) + "}]}]}]}]}");
    const std::string pred = testing::temp_path("eval-qa-pred.json");
    std::remove(pred.c_str());
    const testing::LmResult r = testing::run_lm("eval tests/ref/bert-qa " + dev + " --task qa -t 1 --predictions " + pred);
    INFO(r.err);
    REQUIRE(r.status == 0);
    const std::map<std::string, std::string> p = read_predictions(pred);
    REQUIRE(p.size() == 3);
    const std::pair<const char*, std::string> asked[] = {{"a1", " --question 'what is in paris ?' --context 'the eiffel tower is in paris .'"},
                                                         {"a2", " --question 'where ?' --context 'the eiffel tower is in paris .'"},
                                                         {"b1", " --question 'what is there ?' --context '" + long_context + "'"}};
    for (const auto& [id, question] : asked) {
        const testing::LmResult qa = testing::run_lm("qa tests/ref/bert-qa -t 1" + question);
        CHECK(p.at(id) == first_line(qa.out));
    }
    const SquadScores want = squad_scores(read_squad(dev), p);
    CHECK(first_line(r.out) == two_decimals("exact_match", want.exact_match, want.f1));
    const testing::LmResult s = testing::run_lm("eval --task qa " + dev + " --score " + pred);
    CHECK(s.out == r.out);
    // Other batch sizes and overlaps: the same answers (each window is scored on its own).
    CHECK(testing::run_lm("eval tests/ref/bert-qa " + dev + " --task qa -t 1 --batch 1 --stride 3").out == r.out);
}

TEST_CASE("eval --task qa --score on the SQuAD dev file: its own answers 100, a missing id an error") {
    const std::string path = testing::shared_file("datasets/squad/dev-v1.1.json");
    if (path.empty()) return;
    const std::vector<SquadExample> ex = read_squad(path);
    std::vector<std::pair<std::string, std::string>> answers;
    for (const SquadExample& e : ex) answers.emplace_back(e.id, e.answers[0].text);
    const std::string pred = testing::temp_path("squad-self.json");
    write_predictions(pred, answers);
    const testing::LmResult r = testing::run_lm("eval --task qa " + path + " --score " + pred);
    INFO(r.err);
    CHECK(r.out == "exact_match 100.00 f1 100.00\n");
    answers.erase(answers.begin() + 5);
    write_predictions(pred, answers);
    testing::expect_lm_error("eval --task qa " + path + " --score " + pred, "no prediction for question " + ex[5].id);
}

TEST_CASE("eval --task bleu|rouge print the numbers of src/eval/metrics.h; --help") {
    const std::string ref = "tests/ref/metrics/ref.txt", hyp = "tests/ref/metrics/hyp.txt";
    const testing::LmResult b = testing::run_lm("eval --task bleu --ref " + ref + " --hyp " + hyp);
    REQUIRE(b.status == 0);
    CHECK(b.out.rfind("bleu 0.3809 (n-gram precisions 50/65 32/58 18/51 9/44, brevity penalty 0.9105", 0) == 0);
    const testing::LmResult r = testing::run_lm("eval --task rouge --ref " + ref + " --hyp " + hyp);
    CHECK(r.out == "rouge1 0.7131 rouge2 0.5408 rougeL 0.6563 (F1, mean of 8 segments)\n");
    const testing::LmResult h = testing::run_lm("eval --help");
    CHECK(h.status == 0);
    CHECK(h.out.find("--task classify") != std::string::npos);
    CHECK(h.out.find("--score PRED.json") != std::string::npos);
    testing::expect_lm_error("eval --task bleu --ref " + ref, "--ref and --hyp are required");
}

}  // TEST_SUITE
