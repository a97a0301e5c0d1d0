// Running the ./lm binary from tests: its exit status and output, and the check every bad
// input must pass (exit code 1, exactly one line "lm: error: ..." on stderr).
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/testing.h"

namespace lm::testing {

struct LmResult {
    int status = -1;
    std::string out, err;
};

inline std::string read_file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Runs ./lm with `args` (shell-quoted by the caller where needed) and standard input read from
// the file `input`; $LM_BIN names another binary (the sanitizer build, or the aarch64 one under qemu).
inline LmResult run_lm(const std::string& args, const std::string& input = "/dev/null") {
    const std::string out = temp_path("lm_process.out"), err = temp_path("lm_process.err");
    const char* bin = std::getenv("LM_BIN");
    const std::string cmd = std::string(bin ? bin : "./lm") + " " + args + " >" + out + " 2>" + err + " <" + input;
    const int raw = std::system(cmd.c_str());
    LmResult r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    r.out = read_file_bytes(out);
    r.err = read_file_bytes(err);
    return r;
}

// Starts ./lm (or $LM_BIN) with `args`, stdout and stderr to the file `output`, and returns at
// once: the caller signals and reaps the process (its pid is lm's own, `exec` replaces the shell).
inline pid_t start_lm(const std::string& args, const std::string& output) {
    const char* bin = std::getenv("LM_BIN");
    const std::string cmd =
        std::string("exec ") + (bin ? bin : "./lm") + " " + args + " >" + output + " 2>&1 </dev/null";
    const pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    return pid;
}

// The first `bytes` of Tiny Shakespeare as a scratch corpus for lm train; empty when the corpus
// is missing. Also lets the lm processes' OpenMP threads sleep when idle: beside other suites on
// two cores, spinning threads make these runs 10x slower (an explicit setting is kept).
inline std::string corpus_slice(const std::string& name, size_t bytes) {
    setenv("OMP_WAIT_POLICY", "passive", 0);
    const std::string src = shared_file("corpora/tinyshakespeare.txt");
    if (src.empty()) return "";
    const std::string path = temp_path(name);
    std::ofstream(path, std::ios::binary) << read_file_bytes(src).substr(0, bytes);
    return path;
}

inline void expect_lm_error(const std::string& args, const std::string& needle) {
    const LmResult r = run_lm(args);
    INFO("lm ", args, "\nstderr: ", r.err);
    CHECK(r.status == 1);
    CHECK(r.err.rfind("lm: error: ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(needle) != std::string::npos);
}

}  // namespace lm::testing
