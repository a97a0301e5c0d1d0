// The Unicode pieces under the tokenizers, and the pre-tokenizers on hand-checked cases.
#include <string>
#include <vector>

#include "tests/testing.h"
#include "tokenizer/models.h"
#include "tokenizer/unicode.h"
#include "weights/error.h"

using namespace lm;

namespace {

std::vector<std::string> strings(const std::vector<std::string_view>& views) {
    return std::vector<std::string>(views.begin(), views.end());
}

std::string stripped(uint32_t cp) {
    std::string out;
    append_stripped(out, cp);
    return out;
}

}  // namespace

TEST_SUITE("tokenizer-unicode") {

TEST_CASE("UTF-8 decoding keeps every byte") {
    CHECK(decode_utf8("A", 0).cp == 'A');
    Decoded euro = decode_utf8("\xE2\x82\xAC", 0);
    CHECK(euro.cp == 0x20AC);
    CHECK(euro.len == 3);
    CHECK(decode_utf8("\xF0\x9F\x98\x80", 0).cp == 0x1F600);
    // Invalid: lone continuation, overlong, surrogate, above U+10FFFF, truncated.
    for (std::string_view bad : {"\x80", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82", "\xFF"}) {
        Decoded d = decode_utf8(bad, 0);
        CHECK(d.len == 1);
        CHECK(d.cp == invalid_codepoint + static_cast<uint8_t>(bad[0]));
        std::string back;
        append_utf8(back, d.cp);
        CHECK(back == bad.substr(0, 1));
    }
    std::string s;
    for (uint32_t cp : {0x41u, 0xE9u, 0x20ACu, 0x1F600u}) append_utf8(s, cp);
    CHECK(s == "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}

TEST_CASE("character classes") {
    CHECK(char_class('a') == CharClass::L);
    CHECK(char_class(0x436) == CharClass::L);   // ж
    CHECK(char_class(0x4E2D) == CharClass::L);  // 中
    CHECK(char_class('7') == CharClass::N);
    CHECK(char_class(0xBD) == CharClass::N);    // ½
    CHECK(char_class(0x301) == CharClass::Mn);  // combining acute
    CHECK(char_class(0x17B6) == CharClass::M);  // Khmer vowel sign aa (Mc)
    CHECK(char_class('!') == CharClass::P);
    CHECK(char_class('$') == CharClass::S);
    CHECK(char_class(0x1F600) == CharClass::S);  // 😀
    CHECK(char_class(' ') == CharClass::Z);
    CHECK(char_class('\n') == CharClass::C);
    CHECK(char_class(0x10FFFF) == CharClass::C);
    CHECK(char_class(invalid_codepoint + 0xFF) == CharClass::C);
    CHECK(is_white_space('\t'));
    CHECK(is_white_space(0x3000));
    CHECK_FALSE(is_white_space(0x200B));  // zero width space is not White_Space
    CHECK(is_cjk_ideograph(0x4E2D));
    CHECK_FALSE(is_cjk_ideograph(0x3042));  // hiragana
}

TEST_CASE("lowercase and accent stripping") {
    CHECK(to_lower('A') == 'a');
    CHECK(to_lower(0xC9) == 0xE9);    // É
    CHECK(to_lower(0x416) == 0x436);  // Ж
    CHECK(to_lower(0x3A3) == 0x3C3);  // Σ
    CHECK(to_lower('1') == '1');
    CHECK(stripped(0xE9) == "e");
    CHECK(stripped(0x1EC7) == "e");   // ệ: two marks
    CHECK(stripped(0x301).empty());   // a bare combining mark
    CHECK(stripped(0x212B) == "A");   // Angstrom sign -> Å -> A
    CHECK(stripped(0xAC00) == "\xE1\x84\x80\xE1\x85\xA1");  // 가 -> jamo
    CHECK(stripped(0xBD) == "\xC2\xBD");  // ½ has no canonical decomposition
}

TEST_CASE("GPT-2 pre-tokenizer") {
    using V = std::vector<std::string>;
    CHECK(strings(gpt2_pretokenize("Hello world")) == V{"Hello", " world"});
    CHECK(strings(gpt2_pretokenize("I'm he's 'RE")) == V{"I", "'m", " he", "'s", " '", "RE"});
    CHECK(strings(gpt2_pretokenize("a   b")) == V{"a", "  ", " b"});
    CHECK(strings(gpt2_pretokenize("a \n b  ")) == V{"a", " \n", " b", "  "});
    CHECK(strings(gpt2_pretokenize("x\tb")) == V{"x", "\t", "b"});
    CHECK(strings(gpt2_pretokenize("3.14 $5!!")) == V{"3", ".", "14", " $", "5", "!!"});
    CHECK(strings(gpt2_pretokenize("abc123")) == V{"abc", "123"});
    CHECK(strings(gpt2_pretokenize("\xFF\xFEx")) == V{"\xFF\xFE", "x"});  // invalid bytes are symbols
    CHECK(gpt2_pretokenize("").empty());
}

TEST_CASE("Llama 3 pre-tokenizer") {
    using V = std::vector<std::string>;
    CHECK(strings(llama3_pretokenize("Hello world")) == V{"Hello", " world"});
    CHECK(strings(llama3_pretokenize("I'M here's")) == V{"I", "'M", " here", "'s"});
    CHECK(strings(llama3_pretokenize("12345 678")) == V{"123", "45", " ", "678"});
    CHECK(strings(llama3_pretokenize("abc123def")) == V{"abc", "123", "def"});
    CHECK(strings(llama3_pretokenize("a\n\nb")) == V{"a", "\n\n", "b"});
    CHECK(strings(llama3_pretokenize("ab\r\ncd")) == V{"ab", "\r\n", "cd"});
    CHECK(strings(llama3_pretokenize("hi  \n  there")) == V{"hi", "  \n", " ", " there"});
    CHECK(strings(llama3_pretokenize("$hello!!\n\nok")) == V{"$hello", "!!\n\n", "ok"});
    CHECK(strings(llama3_pretokenize(" ?! x")) == V{" ?!", " x"});
    CHECK(strings(llama3_pretokenize("\tabc")) == V{"\tabc"});
    CHECK(strings(llama3_pretokenize("x 's")) == V{"x", " '", "s"});
    CHECK(strings(llama3_pretokenize("end  ")) == V{"end", "  "});
    CHECK(llama3_pretokenize("").empty());
}

// GPT-4o is newer than the llama.cpp the vectors come from: its regex, worked by hand.
TEST_CASE("GPT-4o and Tekken pre-tokenizers split at case changes") {
    using V = std::vector<std::string>;
    auto gpt4o = [](std::string_view t) { return strings(pretokenize(PreTokenizer::gpt4o, t)); };
    auto tekken = [](std::string_view t) { return strings(pretokenize(PreTokenizer::tekken, t)); };
    CHECK(gpt4o("HelloWorld") == V{"Hello", "World"});
    CHECK(gpt4o("HTTPServer") == V{"HTTPServer"});  // the upper run is greedy
    CHECK(gpt4o("I'm 12345") == V{"I'm", " ", "123", "45"});
    CHECK(tekken("I'm 12345") == V{"I", "'m", " ", "1", "2", "3", "4", "5"});
    CHECK(gpt4o("a/\n/b") == V{"a", "/\n/", "b"});
    CHECK(gpt4o(" D\xC3\x89J\xC3\x80vu") == V{" D\xC3\x89J\xC3\x80vu"});  // non-ASCII letters are both cases
    CHECK(gpt4o("camelCase") == V{"camel", "Case"});
}

TEST_CASE("pre-tokenizer pieces tile any input") {
    uint32_t state = 77;
    const char* parts[] = {" ", "  ", "\n", "\r\n", "\t", "a", "Zz", "'s", "'LL", "1", "234", "!", "?.",
                           "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", "\xFF", "\xE2\x82", "\xE3\x80\x80",
                           "/", "AbC", "<sentinel:7>", "IMGIMGAZ", "\xEF\xBC\x81", "\xCC\x81"};
    for (int i = 0; i < 2000; ++i) {
        std::string text;
        for (int k = 0; k < 1 + i % 25; ++k) text += parts[((state = state * 1664525u + 1013904223u) >> 24) % std::size(parts)];
        for (int pre = 0; pre <= static_cast<int>(PreTokenizer::gpt4o); ++pre) {
            std::string joined;
            for (std::string_view piece : pretokenize(static_cast<PreTokenizer>(pre), text)) {
                REQUIRE_FALSE(piece.empty());
                joined += piece;
            }
            CAPTURE(text);
            REQUIRE(joined == text);
        }
    }
}

TEST_CASE("pre-tokenizer names") {
    CHECK(pre_tokenizer_named("gpt-2", "x") == PreTokenizer::gpt2);
    CHECK(pre_tokenizer_named("mpt", "x") == PreTokenizer::gpt2);
    CHECK(pre_tokenizer_named("", "x") == PreTokenizer::default_rules);  // llama.cpp's reading
    CHECK(pre_tokenizer_named("default", "x") == PreTokenizer::default_rules);
    CHECK(pre_tokenizer_named("llama-bpe", "x") == PreTokenizer::llama3);
    CHECK(pre_tokenizer_named("dbrx", "x") == PreTokenizer::llama3);
    CHECK(pre_tokenizer_named("qwen2", "x") == PreTokenizer::qwen2);
    CHECK(pre_tokenizer_named("smollm", "x") == PreTokenizer::starcoder);
    CHECK(pre_tokenizer_named("deepseek-coder", "x") == PreTokenizer::deepseek_coder);
    CHECK(pre_tokenizer_named("poro-chat", "x") == PreTokenizer::bloom);
    CHECK(pre_tokenizer_named("gpt-4o", "x") == PreTokenizer::gpt4o);
    CHECK_THROWS_AS(pre_tokenizer_named("qwen", "x"), lm::Error);
    CHECK_THROWS_AS(pre_tokenizer_named("gpt", "x"), lm::Error);  // whole names only
    const std::string all = supported_pre_tokenizers();
    for (const char* name : {"llama-bpe", "deepseek-llm", "deepseek-coder", "falcon", "mpt", "starcoder", "gpt-2",
                             "refact", "command-r", "qwen2", "stablelm2", "olmo", "dbrx", "smaug-bpe", "poro-chat",
                             "jais", "tekken", "smollm", "codeshell", "bloom", "exaone", "chameleon", "minerva-7b",
                             "deepseek-v3", "gpt-4o", "viking", "chatglm-bpe", "gpt3-finnish", "megrez"}) {
        CAPTURE(name);
        CHECK(all.find(name) != std::string::npos);
        CHECK_NOTHROW(pre_tokenizer_named(name, "x"));
    }
}

TEST_CASE("BERT pre-tokenizer") {
    using V = std::vector<std::string>;
    CHECK(bert_pretokenize("Hello, World!", true) == V{"hello", ",", "world", "!"});
    CHECK(bert_pretokenize("  Führer\tCAFÉ ", true) == V{"fuhrer", "cafe"});
    CHECK(bert_pretokenize("ab\xE4\xB8\xAD\xE6\x96\x87" "cd", true) == V{"ab", "\xE4\xB8\xAD", "\xE6\x96\x87", "cd"});
    CHECK(bert_pretokenize("a\x01" "b\xEF\xBF\xBD" "c", true) == V{"abc"});  // controls and U+FFFD dropped
    CHECK(bert_pretokenize("x$y", true) == V{"x", "$", "y"});  // ASCII symbols split like punctuation
    CHECK(bert_pretokenize("Ab", false) == V{"Ab"});
    CHECK(bert_pretokenize(" \n ", true).empty());
}

}  // TEST_SUITE
