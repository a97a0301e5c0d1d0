// The vocabulary every tokenizer model shares, and the pair-merging loop of the two BPEs.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lm {

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
    undefined = 0, normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6,
};

struct StringHash {
    using is_transparent = void;  // lets maps be searched with a string_view
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

struct Vocab {
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<TokenType> types;
    StringMap<int32_t> ids;  // text -> id; a later duplicate wins, as in llama.cpp
    size_t max_len = 0;      // bytes in the longest token (0: not computed, no limit)

    int32_t size() const { return static_cast<int32_t>(tokens.size()); }
    int32_t find(std::string_view text) const {
        auto it = ids.find(text);
        return it == ids.end() ? -1 : it->second;
    }
};

// Bytes [begin, end) of the input text a token came from.
struct ByteSpan {
    uint32_t begin, end;
};

// A piece of the text being merged: bytes [start, start+len), in a doubly linked list.
struct MergeSymbol {
    uint32_t start, len;
    int32_t prev, next;
};

// Repeatedly merges the adjacent pair with the highest priority, the leftmost pair on ties,
// as llama.cpp's SPM and BPE sessions do. priority(left, right) returns nothing for a pair
// that may not merge. Merged-away symbols are left with len 0.
template <typename Priority>
void merge_pairs(std::string_view text, std::vector<MergeSymbol>& symbols, Priority priority) {
    struct Candidate {
        double priority;
        int32_t left, right;
        uint32_t len;
    };
    auto lower = [](const Candidate& a, const Candidate& b) {
        return a.priority < b.priority || (a.priority == b.priority && a.left > b.left);
    };
    std::priority_queue<Candidate, std::vector<Candidate>, decltype(lower)> queue(lower);
    auto view = [&](int32_t i) { return text.substr(symbols[i].start, symbols[i].len); };
    auto consider = [&](int32_t left, int32_t right) {
        if (left < 0 || right < 0) return;
        std::optional<double> p = priority(view(left), view(right));
        if (p) queue.push({*p, left, right, symbols[left].len + symbols[right].len});
    };
    for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) consider(i - 1, i);
    while (!queue.empty()) {
        Candidate c = queue.top();
        queue.pop();
        MergeSymbol& left = symbols[c.left];
        MergeSymbol& right = symbols[c.right];
        // Stale candidates: one side was merged away or grew since this pair was queued.
        if (left.len == 0 || right.len == 0 || left.len + right.len != c.len) continue;
        left.len += right.len;
        right.len = 0;
        left.next = right.next;
        if (right.next >= 0) symbols[right.next].prev = c.left;
        consider(left.prev, c.left);
        consider(c.left, left.next);
    }
}

}  // namespace lm
