#include "weights/error.h"

#include <charconv>
#include <cstdio>

namespace lm::concat_detail {

std::string join(std::initializer_list<Part> parts) {
    std::string out;
    char buf[32];
    for (const Part& p : parts) {
        switch (p.kind) {
        case Part::TEXT: out.append(p.text.data, p.text.size); break;
        case Part::CHAR: out.push_back(p.c); break;
        case Part::SIGNED: out.append(buf, std::to_chars(buf, buf + sizeof buf, p.i).ptr); break;
        case Part::UNSIGNED: out.append(buf, std::to_chars(buf, buf + sizeof buf, p.u).ptr); break;
        case Part::FLOAT: out.append(buf, static_cast<size_t>(std::snprintf(buf, sizeof buf, "%g", p.f))); break;
        }
    }
    return out;
}

void throw_error(std::initializer_list<Part> parts) {
    throw Error(join(parts));
}

}  // namespace lm::concat_detail
