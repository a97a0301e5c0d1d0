// `lm train` end to end, through the binary: a tiny model trains on a slice of Tiny Shakespeare
// (val loss goes down, `lm run` loads the result), --resume is bit-exact, SIGINT writes a
// checkpoint that resumes, the CSV log and SVG plot, and each bad input gives one error line, exit
// 1 and loses nothing. Tiny models and a few dozen steps keep it fast.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "src/train/checkpoint.h"
#include "src/train/log.h"
#include "tests/lm_process.h"
#include "weights/model_file.h"

namespace {

using lm::testing::corpus_slice;
using lm::testing::run_lm;
using lm::testing::temp_path;

// Every "val loss X" printed, in order.
std::vector<double> val_losses(const std::string& out) {
    std::vector<double> v;
    for (size_t pos = 0; (pos = out.find("val loss ", pos)) != std::string::npos; pos += 9)
        v.push_back(std::strtod(out.c_str() + pos + 9, nullptr));
    return v;
}

size_t count_lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

// A small, fast run: tiny shape, char tokens, short context.
const std::string kTiny = " --size tiny --tokenizer char --ctx 32 --batch 4 --eval-batches 4 -t 2";

}  // namespace

TEST_SUITE("train") {
TEST_CASE("lm train: val loss goes down, lm run loads the result, log and plot beside it") {
    const std::string corpus = corpus_slice("train_cli_corpus.txt", 50000);
    if (corpus.empty()) return;
    struct Case {
        const char* name;
        std::string flags;
        double min_drop;  // val loss after 20 steps must be at least this much below step 0's
        bool gguf;        // the RNN's output is its checkpoint, which lm run does not load
    };
    const std::string pretrained = lm::testing::shared_file("models/stories260K/stories260K-F32.gguf");
    const Case cases[] = {
        {"llama, byte-level BPE (default tokenizer)",
         " --size tiny --vocab 300 --ctx 32 --batch 4 --eval-batches 4 -t 2", 0.4, true},
        {"gpt2, char, f16", " --arch gpt2" + kTiny + " --type f16", 0.4, true},
        {"fine-tune stories260K (--init)", " --init " + pretrained + " --ctx 32 --batch 4 --eval-batches 4 -t 2",
         0.5, true},
        {"rnn, char",
         " --arch rnn --tokenizer char --dim 32 --hidden 64 --ctx 32 --batch 4 --eval-batches 4 -t 2",
         0.2, false},
    };
    for (const Case& c : cases) {
        INFO(c.name);
        if (pretrained.empty() && std::string(c.name).find("--init") != std::string::npos) continue;
        const std::string out = temp_path("train_cli_model.gguf");
        const auto r = run_lm("train " + corpus + " -o " + out + c.flags + " --iters 20 --eval-every 10");
        INFO(r.out, r.err);
        REQUIRE(r.status == 0);
        const std::vector<double> val = val_losses(r.out);
        REQUIRE(val.size() == 4);  // steps 0, 10, 20 and the final line
        if (std::getenv("LM_VERBOSE")) std::printf("  %s: val loss %.4f -> %.4f\n", c.name, val[0], val.back());
        CHECK(val.back() == val[2]);
        CHECK(val[1] < val[0]);
        CHECK(val.back() < val[0] - c.min_drop);
        if (!c.gguf) {
            CHECK(r.out.find("the checkpoint is the model") != std::string::npos);
            continue;
        }

        const auto gen = run_lm("run " + out + " \"ROMEO:\" -n 12 --seed 1 -t 1");
        INFO(gen.err);
        CHECK(gen.status == 0);
        CHECK(gen.out.size() > std::string("ROMEO:").size());

        const std::string csv = lm::testing::read_file_bytes(temp_path("train_cli_model.csv"));
        CHECK(csv.rfind("step,loss,val_loss,lr,tokens_per_second,seconds\n", 0) == 0);
        CHECK(count_lines(csv) == 1 + 21);  // header, step 0, steps 1..20
        const std::string svg = lm::testing::read_file_bytes(temp_path("train_cli_model.svg"));
        CHECK(svg.rfind("<svg ", 0) == 0);
        CHECK(svg.find("</svg>") != std::string::npos);
        size_t polylines = 0;
        for (size_t p = 0; (p = svg.find("<polyline", p)) != std::string::npos; ++p) ++polylines;
        CHECK(polylines == 2);  // train and validation curves
    }
}

TEST_CASE("lm train --tokenizer PATH: GPT-2's 50257-token vocabulary from a vocab-only GGUF") {
    const std::string corpus = corpus_slice("train_cli_vocab.txt", 20000);
    const std::string vocab = lm::testing::shared_file("models/gguf-vocab/ggml-vocab-gpt-2.gguf");
    if (corpus.empty() || vocab.empty()) return;
    const std::string out = temp_path("train_vocab.gguf");
    const auto r = run_lm("train " + corpus + " -o " + out + " --arch gpt2 --dim 16 --layers 1 --heads 2 --ctx 16" +
                          " --batch 2 --iters 2 --eval-batches 1 -t 2 --tokenizer " + vocab);
    INFO(r.out, r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("vocab 50257") != std::string::npos);
    const auto info = run_lm("info " + out);
    CHECK(info.out.find("tokenizer: gpt2, 50257 tokens") != std::string::npos);
}

TEST_CASE("lm train --separator: documents end with end-of-text, lm run stops there, lm eval scores it") {
    setenv("OMP_WAIT_POLICY", "passive", 0);
    std::string text;
    for (int i = 0; i < 300; ++i) text += i % 2 ? "a cat sat on a mat.\n\n" : "a dog ran to a log.\n\n";
    const std::string corpus = lm::testing::write_temp("train_separator.txt", text);
    const std::string out = temp_path("train_separator.gguf");
    const auto r =
        run_lm("train " + corpus + " -o " + out + " --separator '\\n\\n'" + kTiny + " --iters 150 --lr 3e-3 -q");
    INFO(r.out, r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find(", 300 documents, each ending with end-of-text") != std::string::npos);
    CHECK(lm::load_model(temp_path("train_separator.ckpt")).meta.get_string("train.separator") == "\n\n");
    // The model ends a story where the corpus did, without running into the next one.
    const auto story = run_lm("run " + out + " 'a cat' --temp 0 -n 100 -t 1");
    INFO(story.err);
    CHECK(story.out == "a cat sat on a mat.");
    CHECK(story.err.find("decode 14 tokens") != std::string::npos);
    CHECK(story.err.find("| stop: end of text\n") != std::string::npos);
    // Scored as it was trained (end-of-text, not the blank line), the corpus is far more likely.
    auto nll = [&](const std::string& flags) {
        const auto e = run_lm("eval " + out + " " + corpus + " -t 1" + flags);
        REQUIRE(e.status == 0);
        const size_t at = e.out.find("nll per token ");
        REQUIRE(at != std::string::npos);
        return std::strtod(e.out.c_str() + at + 14, nullptr);
    };
    const double as_trained = nll(" --separator '\\n\\n'"), raw = nll("");
    CHECK(as_trained < 0.5);
    CHECK(raw > as_trained + 0.1);
}

TEST_CASE("lm train --resume: 40 steps straight = 20 + 20 resumed, bit for bit") {
    const std::string corpus = corpus_slice("train_cli_resume.txt", 60000);
    if (corpus.empty()) return;
    const std::string straight = temp_path("train_straight.gguf"), split = temp_path("train_split.gguf");
    const std::string common = " --arch gpt2" + kTiny + " --iters 40 --eval-every 10 --save-every 0 --seed 7";
    const auto a = run_lm("train " + corpus + " -o " + straight + common);
    REQUIRE(a.status == 0);
    const auto b1 = run_lm("train " + corpus + " -o " + split + common + " --stop-after 20");
    INFO(b1.out, b1.err);
    REQUIRE(b1.status == 0);
    CHECK(b1.out.find("stopped at step 20") != std::string::npos);
    CHECK(!std::filesystem::exists(split));
    // Options come from the checkpoint; -t differs on purpose (results do not depend on it).
    const auto b2 =
        run_lm("train " + corpus + " -o " + split + " --resume " + temp_path("train_split.ckpt") + " -t 1");
    INFO(b2.out, b2.err);
    REQUIRE(b2.status == 0);
    const std::string bytes_a = lm::testing::read_file_bytes(straight),
                      bytes_b = lm::testing::read_file_bytes(split);
    CHECK(bytes_a.size() > 100000);
    CHECK(bytes_a == bytes_b);
    CHECK(val_losses(a.out).back() == val_losses(b2.out).back());
    // The resumed log continues the first one: header, step 0, 1..40.
    CHECK(count_lines(lm::testing::read_file_bytes(temp_path("train_split.csv"))) == 42);
}

TEST_CASE("lm train --arch bert: masked-LM with a WordPiece vocabulary trained on the corpus; lm embed loads it") {
    const std::string corpus = corpus_slice("train_cli_bert.txt", 60000);
    if (corpus.empty()) return;
    const std::string out = temp_path("train_bert.gguf");
    const std::string flags = " --arch bert --size tiny --vocab 400 --ctx 32 --batch 8 --eval-batches 4 -t 2";
    const auto r = run_lm("train " + corpus + " -o " + out + flags + " --iters 40 --eval-every 20 --lr 3e-3");
    INFO(r.out, r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("vocab 400 (WordPiece trained on the corpus)") != std::string::npos);
    CHECK(r.out.find("model bert (masked-LM):") != std::string::npos);
    const std::vector<double> val = val_losses(r.out);
    REQUIRE(val.size() == 4);  // steps 0, 20, 40 and the final line
    CHECK(val[0] > std::log(400.0) - 1);  // about uniform over the vocabulary at the start
    CHECK(val.back() < val[0] - 0.5);
    const auto info = run_lm("info " + out);
    CHECK(info.out.find("architecture: bert") != std::string::npos);
    CHECK(info.out.find("bert.attention.causal") != std::string::npos);
    CHECK(info.out.find("tokenizer.ggml.token_type_count") != std::string::npos);
    const auto embed = run_lm("embed " + out + " \"first citizen\" \"we are accounted poor citizens\"");
    INFO(embed.err);
    REQUIRE(embed.status == 0);
    REQUIRE(count_lines(embed.out) == 2);
    std::istringstream first(embed.out.substr(0, embed.out.find('\n')));
    double x, norm = 0;
    int dims = 0;
    while (first >> x) norm += x * x, ++dims;
    CHECK(dims == 64);
    CHECK(std::abs(norm - 1) < 1e-4);

    // --resume continues the masking generator: 40 straight = 20 + 20 resumed, bit for bit.
    const std::string split = temp_path("train_bert_split.gguf");
    const auto b1 = run_lm("train " + corpus + " -o " + split + flags + " --iters 40 --eval-every 20 --lr 3e-3" +
                           " --stop-after 20 --save-every 0");
    REQUIRE(b1.status == 0);
    const auto b2 = run_lm("train " + corpus + " -o " + split + " --resume " + temp_path("train_bert_split.ckpt"));
    INFO(b2.out, b2.err);
    REQUIRE(b2.status == 0);
    CHECK(lm::testing::read_file_bytes(out) == lm::testing::read_file_bytes(split));
}

// Every "KEY X" number printed, in order (e.g. "dev accuracy 0.5000").
std::vector<double> numbers_after(const std::string& out, const std::string& key) {
    std::vector<double> v;
    for (size_t pos = 0; (pos = out.find(key, pos)) != std::string::npos; pos += key.size())
        v.push_back(std::strtod(out.c_str() + pos + key.size(), nullptr));
    return v;
}

// A made-up sentiment table: filler words around one word that decides the label, so a tiny
// model learns it in a few hundred steps (SST-2 itself is make bench-bert's).
std::string sentiment_table(int rows, unsigned seed) {
    const char* fillers[] = {"the", "film", "plot", "was", "a", "story", "with", "actors", "and", "its", "music",
                             "scenes", "of", "very", "quite", "director", "ending", "in", "this", "movie"};
    const char* pos[] = {"great", "wonderful", "moving", "brilliant"};
    const char* neg[] = {"awful", "boring", "dull", "terrible"};
    std::string table = "sentence\tlabel\n";
    for (int r = 0; r < rows; ++r) {
        const bool positive = (seed = seed * 1103515245u + 12345u) >> 16 & 1;
        const int n = 4 + (seed >> 8) % 8, at = (seed >> 4) % n;
        for (int i = 0; i < n; ++i) {
            seed = seed * 1103515245u + 12345u;
            table += i == at ? (positive ? pos : neg)[(seed >> 16) % 4] : fillers[(seed >> 16) % 20];
            table += i + 1 < n ? " " : " \t";
        }
        table += positive ? "pos\n" : "neg\n";
    }
    return table;
}

TEST_CASE("lm train --task classify: dev accuracy rises, --keep-best, labels by name in the model") {
    setenv("OMP_WAIT_POLICY", "passive", 0);
    const std::string train_path = temp_path("cls_train.tsv"), dev_path = temp_path("cls_dev.tsv");
    std::ofstream(train_path) << sentiment_table(2000, 1);
    std::ofstream(dev_path) << sentiment_table(200, 2);
    const std::string out = temp_path("cls.gguf");
    const auto r = run_lm("train " + train_path + " --task classify --dev " + dev_path + " -o " + out +
                          " --size tiny --ctx 16 --batch 16 --iters 100 --eval-every 25 --lr 3e-3 --keep-best -t 2");
    INFO(r.out, r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("2000 examples") != std::string::npos);
    CHECK(r.out.find("2 labels") != std::string::npos);
    const std::vector<double> acc = numbers_after(r.out, "dev accuracy ");
    REQUIRE(acc.size() == 6);  // steps 0, 25, 50, 75, 100 and the final line
    CHECK(acc[0] < 0.7);
    CHECK(*std::max_element(acc.begin() + 1, acc.end()) > 0.9);
    CHECK(r.out.find("the best on --dev") != std::string::npos);
    const auto cls = run_lm("classify " + out + " \"the plot was brilliant\" \"a very dull film\"");
    INFO(cls.err);
    REQUIRE(cls.status == 0);
    CHECK(cls.out.rfind("pos\t", 0) == 0);
    CHECK(cls.out.find("\nneg\t") != std::string::npos);

    // Stopped at step 60 and resumed (--keep-best and the best so far come from the checkpoint):
    // the same weights are kept as by the straight run.
    const std::string split = temp_path("cls_split.gguf"), ckpt = temp_path("cls_split.ckpt");
    const auto first = run_lm("train " + train_path + " --task classify --dev " + dev_path + " -o " + split +
                              " --size tiny --ctx 16 --batch 16 --iters 100 --eval-every 25 --lr 3e-3 --keep-best" +
                              " -t 2 --stop-after 60");
    REQUIRE(first.status == 0);
    lm::TrainModel model;
    const lm::Metadata state = lm::train_load_checkpoint(ckpt, model, 16, 16);
    const std::vector<double> first_acc = numbers_after(first.out, "dev accuracy ");
    REQUIRE(first_acc.size() == 3);  // steps 0, 25, 50
    CHECK(state.get_bool("train.keep_best", false));
    int best_step = 0;
    for (int i = 1; i < 3; ++i) best_step = first_acc[i] > first_acc[best_step / 25] ? 25 * i : best_step;
    CHECK(state.get_int("train.best_step", -1) == best_step);
    const auto resumed = run_lm("train " + train_path + " -o " + split + " --resume " + ckpt);
    INFO(resumed.out, resumed.err);
    REQUIRE(resumed.status == 0);
    CHECK(lm::testing::read_file_bytes(split) == lm::testing::read_file_bytes(out));

    // A dev label the training never saw: one line naming the file and line.
    std::ofstream(dev_path) << "sentence\tlabel\nfine film\tpos\nodd film\tneutral\n";
    const auto bad = run_lm("train " + train_path + " --task classify --dev " + dev_path + " -o " + out +
                            " --size tiny --iters 1");
    CHECK(bad.status == 1);
    CHECK(bad.err.find(dev_path + ":3") != std::string::npos);
    CHECK(count_lines(bad.err) == 1);
}

// A made-up SQuAD file: a story of filler words holding one colour, and "what colour is there ?"
// (learnt in a few dozen steps, unlike bAbI: make bench-bert's).
std::string colour_squad(int questions, unsigned seed, const char* prefix) {
    const char* fillers[] = {"alice", "bob", "has", "a", "the", "with", "ball", "went", "to", "park", "and", "."};
    const char* colors[] = {"red", "blue", "green", "black", "white", "pink"};
    auto next = [&] { return (seed = seed * 1103515245u + 12345u) >> 16; };
    std::string json = "{\"data\": [";
    for (int q = 0; q < questions; ++q) {
        const int n = 6 + next() % 10, at = next() % n;
        std::string context, answer;
        size_t answer_start = 0;
        for (int i = 0; i < n; ++i) {
            if (i) context += " ";
            if (i == at) answer_start = context.size(), answer = colors[next() % 6], context += answer;
            else context += fillers[next() % 12];
        }
        json += std::string(q ? ", " : "") + "{\"title\": \"t\", \"paragraphs\": [{\"context\": \"" + context +
                "\", \"qas\": [{\"id\": \"" + prefix + std::to_string(q) +
                "\", \"question\": \"what colour is there ?\", \"answers\": [{\"text\": \"" + answer +
                "\", \"answer_start\": " + std::to_string(answer_start) + "}]}]}]}";
    }
    return json + "], \"version\": \"1.1\"}";
}

TEST_CASE("lm train --task qa: exact match rises; lm qa answers with the model") {
    setenv("OMP_WAIT_POLICY", "passive", 0);
    const std::string train = lm::testing::write_temp("qa_train.json", colour_squad(600, 1, "t"));
    const std::string dev = lm::testing::write_temp("qa_dev.json", colour_squad(100, 2, "d"));
    const std::string out = temp_path("qa.gguf");
    const auto r = run_lm("train " + train + " --task qa --dev " + dev + " -o " + out +
                          " --size tiny --ctx 32 --batch 16 --iters 80 --eval-every 40 --lr 3e-3 -t 2");
    INFO(r.out, r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("600 questions") != std::string::npos);
    const std::vector<double> em = numbers_after(r.out, "dev exact_match ");
    REQUIRE(em.size() == 4);  // steps 0, 40, 80 and the final line
    CHECK(em[0] < 20);
    CHECK(em.back() > 90);
    const auto qa = run_lm("qa " + out + " --question \"what colour is there ?\"" +
                           " --context \"bob went to the park with a green ball\"");
    INFO(qa.err);
    CHECK(qa.status == 0);
    CHECK(qa.out.rfind("green\n", 0) == 0);
}

TEST_CASE("lm train: SIGINT finishes the step, writes a checkpoint, exits 130; the checkpoint resumes") {
    const std::string corpus = corpus_slice("train_cli_sigint.txt", 60000);
    if (corpus.empty()) return;
    const std::string out = temp_path("train_sigint.gguf"), csv = temp_path("train_sigint.csv");
    const std::string ckpt = temp_path("train_sigint.ckpt"), stdout_path = temp_path("train_sigint.out");
    std::filesystem::remove(csv);
    std::filesystem::remove(ckpt);
    const pid_t pid = lm::testing::start_lm(
        "train " + corpus + " -o " + out + kTiny + " --iters 1000000 --eval-every 0 --save-every 0", stdout_path);
    REQUIRE(pid > 0);
    // Wait until a few steps are logged (training has started), then interrupt.
    auto waited = [start = std::chrono::steady_clock::now()] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    while (count_lines(lm::testing::read_file_bytes(csv)) < 4 && waited() < 60)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    kill(pid, SIGINT);
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (waited() > 120) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            FAIL("lm train did not exit after SIGINT");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const std::string printed = lm::testing::read_file_bytes(stdout_path);
    INFO(printed);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 130);
    CHECK(printed.find("interrupted at step") != std::string::npos);
    REQUIRE(std::filesystem::exists(ckpt));
    const int step = std::atoi(printed.c_str() + printed.find("interrupted at step") + 20);
    CHECK(step >= 3);

    const auto resumed = run_lm("train " + corpus + " -o " + out + " --resume " + ckpt + " --iters " +
                                std::to_string(step + 2) + " -t 2");
    INFO(resumed.out, resumed.err);
    CHECK(resumed.status == 0);
    CHECK(val_losses(resumed.out).size() == 2);
    CHECK(std::filesystem::exists(out));
}

TEST_CASE("lm train bad input: one line, exit 1, nothing lost") {
    const std::string corpus = corpus_slice("train_cli_bad.txt", 20000);
    if (corpus.empty()) return;
    const std::string out = temp_path("train_bad.gguf");
    std::filesystem::remove(out);

    const std::string empty = temp_path("train_empty.txt");
    std::ofstream(empty, std::ios::binary).flush();
    lm::testing::expect_lm_error("train " + empty + " -o " + out, "the corpus is empty");

    const std::string tiny = temp_path("train_short.txt");
    std::ofstream(tiny, std::ios::binary) << "To be, or not to be: that is the question.";
    lm::testing::expect_lm_error("train " + tiny + " -o " + out + kTiny, "a shorter --ctx");

    // Random bytes: not UTF-8, so char mode refuses them; byte-level BPE trains on them.
    const std::string binary = temp_path("train_binary.txt");
    {
        std::string bytes(20000, '\0');
        uint64_t x = 42;
        for (char& c : bytes)
            c = static_cast<char>((x = x * 6364136223846793005ULL + 1442695040888963407ULL) >> 56);
        std::ofstream(binary, std::ios::binary) << bytes;
    }
    lm::testing::expect_lm_error("train " + binary + " -o " + out + kTiny, "invalid UTF-8");
    const auto bpe =
        run_lm("train " + binary + " -o " + out + " --size tiny --vocab 300 --ctx 16 --batch 2 --iters 2 -t 2");
    INFO(bpe.err);
    CHECK(bpe.status == 0);
    std::filesystem::remove(out);

    lm::testing::expect_lm_error("train " + corpus + " -o build/no-such-dir/x.gguf" + kTiny, "does not exist");
    lm::testing::expect_lm_error("train " + corpus + " -o " + lm::testing::temp_dir() + kTiny, "is a directory");
    lm::testing::expect_lm_error("train " + corpus + " -o " + out + kTiny + " --arch transformer", "--arch");

    // A checkpoint with one flipped byte of weights is refused and left as it was.
    const std::string ckpt = temp_path("train_bad.ckpt");
    REQUIRE(run_lm("train " + corpus + " -o " + out + kTiny + " --iters 10 --eval-every 0 --stop-after 2").status ==
            0);
    std::string bytes = lm::testing::read_file_bytes(ckpt);
    bytes[bytes.size() - 1000] ^= 0x40;
    std::ofstream(ckpt, std::ios::binary) << bytes;
    lm::testing::expect_lm_error("train " + corpus + " -o " + out + " --resume " + ckpt, "checksum mismatch");
    CHECK(lm::testing::read_file_bytes(ckpt) == bytes);
    std::ofstream(ckpt, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    lm::testing::expect_lm_error("train " + corpus + " -o " + out + " --resume " + ckpt, ckpt);
    CHECK(!std::filesystem::exists(out));

    // A learning rate of 1e30 blows up at step 2: the message names the step, and the
    // checkpoint of step 1 is still there, whole, with finite weights.
    std::filesystem::remove(ckpt);
    lm::testing::expect_lm_error("train " + corpus + " -o " + out + kTiny + " --lr 1e30 --warmup 0 --save-every 1 -q",
        "step 2: the loss or its gradient is not finite");
    lm::TrainModel model;
    const lm::Metadata run = lm::train_load_checkpoint(ckpt, model, 4, 32);
    CHECK(run.get_int("train.step") == 1);
    bool finite = true;
    for (float p : model.params) finite = finite && std::isfinite(p);
    CHECK(finite);
    CHECK(!std::filesystem::exists(out));
}

TEST_CASE("loss plot: an SVG with both curves and tick labels, also for a single row") {
    std::vector<lm::TrainLogRow> rows;
    for (int s = 0; s <= 100; ++s) {
        lm::TrainLogRow r;
        r.step = s, r.loss = 4.0 * std::exp(-s / 30.0) + 1.5;
        if (s % 25 == 0) r.val_loss = r.loss + 0.1;
        rows.push_back(r);
    }
    const std::string svg = lm::loss_plot_svg(rows, "a <title> & more");
    CHECK(svg.find("a &lt;title&gt; &amp; more") != std::string::npos);
    CHECK(std::count(svg.begin(), svg.end(), '\n') > 20);
    size_t circles = 0;
    for (size_t p = 0; (p = svg.find("<circle", p)) != std::string::npos; ++p) ++circles;
    CHECK(circles == 5);                            // validation points at steps 0, 25, 50, 75, 100
    CHECK(svg.find(">100<") != std::string::npos);  // last x tick
    CHECK(svg.find("nan") == std::string::npos);
    const std::string one = lm::loss_plot_svg({rows[0]}, "one");
    CHECK(one.find("nan") == std::string::npos);
    CHECK(one.find("inf") == std::string::npos);
}
}
