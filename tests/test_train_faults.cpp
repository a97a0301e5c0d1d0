// lm train under faults, through the binary: SIGKILL at random moments (during checkpoint
// writes too) with --resume after each gives the uninterrupted run's model, checkpoint and log
// bit for bit, and every checkpoint left behind loads; a full disk while a checkpoint (or the
// corpus's ids) is written is one error line and the previous checkpoint stays as it was; the
// corpus and its ids are streamed from disk, not held in memory.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "src/train/checkpoint.h"
#include "tests/lm_process.h"

namespace {

namespace fs = std::filesystem;
using lm::testing::read_file_bytes;
using lm::testing::run_lm;
using lm::testing::temp_path;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The CSV log without its timing columns (tokens/s and seconds differ from run to run).
std::string log_without_timing(const std::string& csv) {
    std::istringstream in(csv);
    std::string out;
    for (std::string line; std::getline(in, line);) {
        size_t cut = line.size();
        for (int commas = 0; commas < 2 && cut != std::string::npos; ++commas) cut = line.rfind(',', cut - 1);
        out += line.substr(0, cut) + "\n";
    }
    return out;
}

// The inode `path` names now (0 when absent): a checkpoint renamed into place gets a new one.
ino_t inode_of(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// When `path` was last written, in ns (0 when absent).
int64_t written_at(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? st.st_mtim.tv_sec * int64_t{1000000000} + st.st_mtim.tv_nsec : 0;
}

// Waits until `ready()` holds or the process `pid` exits (then false), polling every 100 us.
template <typename Ready>
bool wait_for(pid_t pid, Ready ready) {
    const auto start = Clock::now();
    while (!ready()) {
        siginfo_t info = {};
        if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != 0) return false;
        if (seconds_since(start) > 300) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return true;
}

// A tiny GPT-2 on characters that saves a checkpoint after every step (its fsync most of a
// step's time here), so kills often land inside a checkpoint write.
const std::string kRun = " --arch gpt2 --dim 32 --layers 1 --heads 2 --ctx 16 --batch 2 --eval-every 20"
                         " --eval-batches 2 --save-every 1 --seed 5 -t 1 -q";
const std::string kFlags = " --tokenizer char" + kRun;
constexpr int kB = 2, kT = 16;

}  // namespace

TEST_SUITE("train") {
TEST_CASE("lm train killed with SIGKILL at 20 random moments, resumed after each: bit for bit the uninterrupted run") {
    const std::string corpus = lm::testing::corpus_slice("faults_kill.txt", 20000);
    if (corpus.empty()) return;
    const int iters = 60;
    const std::string flags = kFlags + " --iters " + std::to_string(iters);
    const std::string ref = temp_path("faults_ref.gguf");
    const auto ref_start = Clock::now();
    const auto r = run_lm("train " + corpus + " -o " + ref + flags);
    const double step_seconds = seconds_since(ref_start) / iters;  // start-up included
    INFO(r.out, r.err);
    REQUIRE(r.status == 0);

    const std::string out = temp_path("faults_kill.gguf"), ckpt = temp_path("faults_kill.ckpt");
    const std::string tmp = ckpt + ".tmp", log = temp_path("faults_kill.out");
    for (const std::string& f : {out, ckpt, tmp, temp_path("faults_kill.csv")}) fs::remove(f);
    const unsigned seed = std::random_device{}();
    INFO("random seed ", seed);
    std::mt19937 rng(seed);
    auto uniform = [&](double hi) { return std::uniform_real_distribution<double>(0, hi)(rng); };
    auto command = [&] {
        return "train " + corpus + " -o " + out + (fs::exists(ckpt) ? " --resume " + ckpt + " -t 1 -q" : flags);
    };
    int kills = 0, during_writes = 0, before_first_checkpoint = 0;
    int64_t last_step = 0;
    while (kills < 20) {
        const int64_t tmp_before = written_at(tmp);  // a write cut short by an earlier kill
        const pid_t pid = lm::testing::start_lm(command(), log);
        REQUIRE(pid > 0);
        // A third of the kills at any moment of a run's start (start-up, tokenizing, the first
        // steps); a third after 0 to 3 checkpoints, as soon as the next one is being written; a
        // third after 1 to 4 checkpoints, anywhere in the step that follows. About 2 steps a run.
        const int how = kills % 3, checkpoints = how + static_cast<int>(rng() % 4) - 1;
        bool running = true;
        ino_t seen = inode_of(ckpt);
        for (int saved = 0; running && how > 0 && saved < checkpoints; ++saved)
            running = wait_for(pid, [&] { return inode_of(ckpt) != seen; }), seen = inode_of(ckpt);
        if (how == 0) std::this_thread::sleep_for(std::chrono::duration<double>(uniform(4 * step_seconds)));
        if (how == 1 && running) wait_for(pid, [&] { return fs::exists(tmp); });
        if (how == 2) std::this_thread::sleep_for(std::chrono::duration<double>(uniform(step_seconds)));
        kill(pid, SIGKILL);
        int status = 0;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        INFO("kill ", kills + 1, ": ", read_file_bytes(log));
        REQUIRE(!WIFEXITED(status));  // the run neither finished nor failed before its kill
        REQUIRE(WTERMSIG(status) == SIGKILL);
        ++kills;
        during_writes += written_at(tmp) != tmp_before;
        if (!fs::exists(ckpt)) {
            ++before_first_checkpoint;
            continue;
        }
        lm::TrainModel model;
        lm::Metadata state;
        CHECK_NOTHROW(state = lm::train_load_checkpoint(ckpt, model, kB, kT));
        const int64_t step = state.get_int("train.step", -1);
        CHECK(step >= last_step);  // a checkpoint is replaced only by a later one
        CHECK(step <= iters);
        last_step = step;
    }
    const auto finished = run_lm(command());
    INFO(finished.out, finished.err);
    REQUIRE(finished.status == 0);
    if (std::getenv("LM_VERBOSE"))
        std::printf("  SIGKILL x%d: %d during checkpoint writes, %d before the first checkpoint; last at step %lld\n",
                    kills, during_writes, before_first_checkpoint, static_cast<long long>(last_step));
    CHECK(during_writes >= 1);
    CHECK(last_step < iters);  // the last run had steps left to train
    const std::string model_ref = read_file_bytes(ref), model_killed = read_file_bytes(out);
    CHECK(model_ref.size() > 10000);
    CHECK(model_ref == model_killed);
    CHECK(read_file_bytes(temp_path("faults_ref.ckpt")) == read_file_bytes(ckpt));
    const std::string csv_ref = log_without_timing(read_file_bytes(temp_path("faults_ref.csv")));
    CHECK(std::count(csv_ref.begin(), csv_ref.end(), '\n') == 2 + iters);  // header, step 0, 1..iters
    CHECK(csv_ref == log_without_timing(read_file_bytes(temp_path("faults_kill.csv"))));
    CHECK(!fs::exists(temp_path("faults_kill.tokens")));  // the ids' file is never left behind
}

TEST_CASE("lm train on a full disk: one error line, the previous checkpoint stays whole") {
    const std::string corpus = lm::testing::corpus_slice("faults_full.txt", 20000);
    if (corpus.empty()) return;
    const std::string out = temp_path("faults_full.gguf"), ckpt = temp_path("faults_full.ckpt");
    const std::string flags = kFlags + " --iters 20";
    fs::remove(ckpt);
    REQUIRE(run_lm("train " + corpus + " -o " + out + flags + " --stop-after 3").status == 0);
    const std::string saved = read_file_bytes(ckpt);

    // Writes to /dev/full fail as on a full disk (ENOSPC): it stands in for the checkpoint's
    // temporary file, then for the file of the corpus's ids.
    fs::create_symlink("/dev/full", ckpt + ".tmp");
    lm::testing::expect_lm_error("train " + corpus + " -o " + out + " --resume " + ckpt,
                                 "step 4: " + ckpt + ": write failed: No space left on device; " + ckpt +
                                     " still holds step 3");
    CHECK(!fs::exists(fs::symlink_status(ckpt + ".tmp")));  // the temporary file is removed
    CHECK(read_file_bytes(ckpt) == saved);
    lm::TrainModel model;
    CHECK(lm::train_load_checkpoint(ckpt, model, kB, kT).get_int("train.step") == 3);

    const std::string tokens = temp_path("faults_full.tokens");
    fs::create_symlink("/dev/full", tokens);
    lm::testing::expect_lm_error("train " + corpus + " -o " + out + " --resume " + ckpt,
                                 tokens + ": cannot write the corpus's token ids: No space left on device");
    CHECK(!fs::exists(fs::symlink_status(tokens)));
    CHECK(read_file_bytes(ckpt) == saved);
    const auto resumed = run_lm("train " + corpus + " -o " + out + " --resume " + ckpt);
    INFO(resumed.out, resumed.err);
    CHECK(resumed.status == 0);
}

TEST_CASE("lm train streams its corpus: peak memory does not grow with the corpus or its ids") {
    // 1 MiB of Tiny Shakespeare, and 4 MiB of it repeated, trained on with the character
    // vocabulary of a first run: the ids of 4 MiB take 16 MiB, once held in memory (with
    // copies) they added over 50 MiB. Mapped and encoded a piece at a time, both runs peak alike.
    // Under qemu-user the child's peak is the emulator's, which may not honour madvise(DONTNEED).
    if (const char* bin = std::getenv("LM_BIN"); bin && std::strstr(bin, "qemu")) return;
    const std::string small = lm::testing::corpus_slice("faults_stream_small.txt", 1 << 20);
    if (small.empty()) return;
    const std::string big = temp_path("faults_stream_big.txt");
    {
        const std::string piece = read_file_bytes(small);
        std::ofstream f(big, std::ios::binary);
        for (int i = 0; i < 4; ++i) f << piece;
    }
    const std::string out = temp_path("faults_stream.gguf"), vocab = temp_path("faults_stream_vocab.gguf");
    // Peak resident memory (KiB) of one short run; a small ASan quarantine keeps the freed
    // blocks of the sanitizer build from counting.
    auto peak_kib = [&](const std::string& corpus, const std::string& tokenizer) {
        const pid_t pid = lm::testing::start_lm("train " + corpus + " -o " + out + " --tokenizer " + tokenizer +
                                                    kRun + " --iters 1",
                                                temp_path("faults_stream.out"));
        int status = 0;
        struct rusage usage = {};
        REQUIRE(wait4(pid, &status, 0, &usage) == pid);
        INFO(read_file_bytes(temp_path("faults_stream.out")));
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == 0);
        return static_cast<double>(usage.ru_maxrss);
    };
    const char* asan = std::getenv("ASAN_OPTIONS");
    const std::string asan_options = asan ? asan : "";
    setenv("ASAN_OPTIONS", (asan_options + ":quarantine_size_mb=4").c_str(), 1);
    peak_kib(small, "char");
    fs::copy_file(out, vocab, fs::copy_options::overwrite_existing);
    const double peak_small = peak_kib(small, vocab), peak_big = peak_kib(big, vocab);
    asan ? setenv("ASAN_OPTIONS", asan_options.c_str(), 1) : unsetenv("ASAN_OPTIONS");
    INFO("peak RSS ", peak_small, " KiB for 1 MiB of text, ", peak_big, " KiB for 4 MiB");
    CHECK(peak_big - peak_small < 2048);  // less than half the corpus's growth
}
}
