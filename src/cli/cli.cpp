#include "src/cli/cli.h"

#include "src/models/kv_cache.h"

#include <algorithm>
#include <random>
#include <cstdio>
#include <cstring>
#include <cstdlib>

#include "weights/error.h"
#include "weights/files.h"

namespace lm {

Args::Args(int argc, char** argv) : command_(argc > 0 ? argv[0] : "lm") {
    for (int i = 1; i < argc; ++i) args_.emplace_back(argv[i]);
    used_.assign(args_.size(), false);
}

const std::string* Args::value(std::initializer_list<const char*> names) {
    for (size_t i = 0; i < args_.size(); ++i) {
        if (used_[i]) continue;
        for (const char* name : names) {
            const std::string n = name;
            if (args_[i] == n) {
                if (i + 1 >= args_.size()) fail(n, ": missing value");
                used_[i] = used_[i + 1] = true;
                return &args_[i + 1];
            }
            if (args_[i].rfind(n + "=", 0) == 0) {
                used_[i] = true;
                args_[i] = args_[i].substr(n.size() + 1);
                return &args_[i];
            }
        }
    }
    return nullptr;
}

bool Args::flag(std::initializer_list<const char*> names) {
    for (size_t i = 0; i < args_.size(); ++i)
        for (const char* name : names)
            if (!used_[i] && args_[i] == name) return used_[i] = true;
    return false;
}

std::string Args::text(std::initializer_list<const char*> names, const std::string& fallback) {
    const std::string* v = value(names);
    return v ? *v : fallback;
}

int64_t Args::integer(std::initializer_list<const char*> names, int64_t fallback, int64_t min, int64_t max) {
    const std::string* v = value(names);
    if (!v) return fallback;
    const char* name = *names.begin();
    char* end = nullptr;
    errno = 0;
    long long x = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end || errno) fail(name, ": '", *v, "' is not an integer");
    if (x < min || x > max) fail(name, ": ", x, " is out of range (", min, "..", max, ")");
    return x;
}

double Args::number(std::initializer_list<const char*> names, double fallback, double min, double max) {
    const std::string* v = value(names);
    if (!v) return fallback;
    const char* name = *names.begin();
    char* end = nullptr;
    double x = std::strtod(v->c_str(), &end);
    if (v->empty() || *end || x != x) fail(name, ": '", *v, "' is not a number");
    if (x < min || x > max) fail(name, ": ", x, " is out of range (", min, "..", max, ")");
    return x;
}

std::vector<std::string> Args::positional(size_t min, size_t max, const char* usage) {
    std::vector<std::string> rest;
    bool options_done = false;
    for (size_t i = 0; i < args_.size(); ++i) {
        if (used_[i]) continue;
        const std::string& a = args_[i];
        if (!options_done && a == "--") {
            options_done = true;
            continue;
        }
        if (!options_done && a.size() > 1 && a[0] == '-' && !(a[1] >= '0' && a[1] <= '9'))
            fail(command_, ": unknown option ", a, " (usage: ", usage, ")");
        rest.push_back(a);
    }
    if (rest.size() < min || rest.size() > max) fail(command_, ": wrong arguments (usage: ", usage, ")");
    return rest;
}

// Physical cores this process may run on: hyperthreads of one core share its FMA units, so
// more threads than cores only adds contention.
SamplerParams read_sampler_params(Args& args) {
    SamplerParams sp;
    sp.temperature = static_cast<float>(args.number({"--temp"}, 0.8, 0, 100));
    sp.top_k = static_cast<int>(args.integer({"--top-k"}, 40, 0, 1 << 30));
    sp.top_p = static_cast<float>(args.number({"--top-p"}, 0.95, 0, 1));
    sp.min_p = static_cast<float>(args.number({"--min-p"}, 0.05, 0, 1));
    sp.repeat_penalty = static_cast<float>(args.number({"--repeat-penalty"}, 1.0, 0.01, 100));
    sp.repeat_last_n = static_cast<int>(args.integer({"--repeat-last-n"}, 64, 0, 1 << 20));
    const int64_t seed = args.integer({"-s", "--seed"}, -1, -1, INT64_MAX);
    sp.seed = seed >= 0 ? static_cast<uint64_t>(seed) : std::random_device{}();
    return sp;
}

void read_cache_types(Args& args, DecoderOptions& options) {
    options.k_type = kv_type_named(args.text({"-ctk", "--cache-type-k"}, "f16"), "-ctk");
    options.v_type = kv_type_named(args.text({"-ctv", "--cache-type-v"}, "f16"), "-ctv");
}

std::string read_text(const std::string& path) {
    if (path == "-") {
        std::string text;
        char buf[1 << 16];
        while (const size_t n = std::fread(buf, 1, sizeof buf, stdin)) text.append(buf, n);
        if (std::ferror(stdin)) fail("standard input: cannot read");
        return text;
    }
    std::string text;
    if (!files::read(path, text)) fail(path, ": cannot open");
    return text;
}

bool read_line(std::FILE* f, std::string& line) {
    line.clear();
    int c;
    while ((c = std::getc(f)) != EOF && c != '\n') line += static_cast<char>(c);
    return c == '\n' || !line.empty();
}

std::string unescape(const std::string& text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i], next = i + 1 < text.size() ? text[i + 1] : 0;
        if (c != '\\' || !next || !std::strchr("ntr\\", next)) {
            out += c;
            continue;
        }
        out += next == 'n' ? '\n' : next == 't' ? '\t' : next == 'r' ? '\r' : '\\';
        ++i;
    }
    return out;
}

}  // namespace lm
