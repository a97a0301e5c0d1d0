#include "weights/limits.h"

#include <unistd.h>

#include "weights/error.h"

namespace lm::limits {

void check_fits_in_memory(uint64_t bytes, const std::string& what, const std::string& hint) {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0) return;  // unknown: let the allocation decide
    const uint64_t memory = static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
    if (bytes > memory) fail(what, " needs ", bytes >> 20, " MiB, more than this machine's ", memory >> 20, " MiB", hint);
}

}  // namespace lm::limits
