// lm chat (issue 18, item 3): the built-in chat templates against the outputs llama.cpp
// publishes for one conversation (its tests/test-chat-template.cpp), template detection from
// tokenizer.chat_template markers, and scripted conversations through a tiny model checking
// the exact tokens each turn processes.
#include <sstream>

#include "src/models/chat_template.h"
#include "tests/lm_process.h"
#include "tokenizer/tokenizer.h"
#include "weights/error.h"
#include "weights/model_file.h"

using namespace lm;

namespace {

const std::vector<ChatMessage> kConversation = {
    {"system", "You are a helpful assistant"}, {"user", "Hello"},
    {"assistant", "Hi there"},                 {"user", "Who are you"},
    {"assistant", "   I am an assistant   "}, {"user", "Another question"},
};

// "lm: turn N: tokens A..B: ids" lines of --show-tokens: (A, ids) per turn.
std::vector<std::pair<size_t, std::vector<int>>> turns_of(const std::string& err) {
    std::vector<std::pair<size_t, std::vector<int>>> turns;
    std::istringstream lines(err);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("lm: turn ", 0) != 0) continue;
        const size_t at = line.find("tokens ");
        const size_t colon = line.find(": ", at);
        REQUIRE(at != std::string::npos);
        REQUIRE(colon != std::string::npos);
        std::istringstream ids(line.substr(colon + 2));
        turns.emplace_back(std::stoul(line.substr(at + 7)), std::vector<int>{});
        for (int id; ids >> id;) turns.back().second.push_back(id);
    }
    return turns;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

}  // namespace

TEST_SUITE("chat") {

TEST_CASE("every built-in template formats llama.cpp's published conversation exactly") {
    const std::pair<const char*, const char*> cases[] = {
        {"chatml",
         "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>"
         "assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n<|im_start|>assistant\n   I am an "
         "assistant   <|im_end|>\n<|im_start|>user\nAnother question<|im_end|>\n<|im_start|>assistant\n"},
        {"llama2",
         "[INST] You are a helpful assistant\nHello [/INST]Hi there</s>[INST] Who are you [/INST]   I am an assistant "
         "  </s>[INST] Another question [/INST]"},
        {"llama2-sys-bos",
         "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST]Hi there</s><s>[INST] Who are you "
         "[/INST]   I am an assistant   </s><s>[INST] Another question [/INST]"},
        {"llama2-sys-strip",
         "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST]Hi there</s>[INST] Who are you "
         "[/INST]I am an assistant</s>[INST] Another question [/INST]"},
        {"gemma",
         "<start_of_turn>user\nYou are a helpful assistant\n\nHello<end_of_turn>\n<start_of_turn>model\nHi "
         "there<end_of_turn>\n<start_of_turn>user\nWho are you<end_of_turn>\n<start_of_turn>model\nI am an "
         "assistant<end_of_turn>\n<start_of_turn>user\nAnother question<end_of_turn>\n<start_of_turn>model\n"},
        {"llama3",
         "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|><|start_header_id|>user<|"
         "end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHi "
         "there<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWho are "
         "you<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nI am an "
         "assistant<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAnother "
         "question<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
        {"phi3",
         "<|system|>\nYou are a helpful assistant<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHi "
         "there<|end|>\n<|user|>\nWho are you<|end|>\n<|assistant|>\n   I am an assistant   "
         "<|end|>\n<|user|>\nAnother question<|end|>\n<|assistant|>\n"},
        {"mistral-v1",
         " [INST] You are a helpful assistant\n\nHello [/INST] Hi there</s> [INST] Who are you [/INST]    I am an "
         "assistant   </s> [INST] Another question [/INST]"},
        {"mistral-v3",
         "[INST] You are a helpful assistant\n\nHello[/INST] Hi there</s>[INST] Who are you[/INST] I am an "
         "assistant</s>[INST] Another question[/INST]"},
        {"mistral-v3-tekken",
         "[INST]You are a helpful assistant\n\nHello[/INST]Hi there</s>[INST]Who are you[/INST]   I am an assistant  "
         " </s>[INST]Another question[/INST]"},
        {"mistral-v7",
         "[SYSTEM_PROMPT] You are a helpful assistant[/SYSTEM_PROMPT][INST] Hello[/INST] Hi there</s>[INST] Who are "
         "you[/INST]    I am an assistant   </s>[INST] Another question[/INST]"},
        // Zephyr has no published output there: its turns are <|role|>\n...<|endoftext|>\n.
        {"zephyr",
         "<|system|>\nYou are a helpful assistant<|endoftext|>\n<|user|>\nHello<|endoftext|>\n<|assistant|>\nHi "
         "there<|endoftext|>\n<|user|>\nWho are you<|endoftext|>\n<|assistant|>\n   I am an assistant   "
         "<|endoftext|>\n<|user|>\nAnother question<|endoftext|>\n<|assistant|>\n"},
    };
    for (const auto& [name, want] : cases) {
        CAPTURE(std::string(name));
        CHECK(format_chat(chat_template_named(name), kConversation, true) == want);
    }
    // llama2-sys differs from llama2-sys-bos only in the BOS before later turns.
    CHECK(format_chat(ChatTemplate::llama2_sys, {{"system", "S"}, {"user", "U"}, {"assistant", "A"}, {"user", "V"}},
                      true) == "[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST]A</s>[INST] V [/INST]");
    CHECK(format_chat(ChatTemplate::chatml, {{"user", "How are you"}}, false) ==
          "<|im_start|>user\nHow are you<|im_end|>\n");
    CHECK_THROWS_AS(chat_template_named("jinja"), Error);
}

TEST_CASE("chat templates are detected from tokenizer.chat_template by llama.cpp's markers") {
    const std::pair<const char*, ChatTemplate> cases[] = {
        {"{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n'}}", ChatTemplate::chatml},
        {"{{ '[INST] ' + content + ' [/INST]' }}", ChatTemplate::llama2},
        {"{{ '<<SYS>>\\n' + system }}[INST]", ChatTemplate::llama2_sys},
        {"{{ bos_token + '[INST] ' + content.strip() }}<<SYS>>", ChatTemplate::llama2_sys_strip},
        {"{{ bos_token + '[INST] ' }}<<SYS>>", ChatTemplate::llama2_sys_bos},
        {"[SYSTEM_PROMPT][INST]", ChatTemplate::mistral_v7},
        {"' [INST] ' + system_message", ChatTemplate::mistral_v1},
        {"[AVAILABLE_TOOLS]{{\"[INST]\"}}", ChatTemplate::mistral_v3_tekken},
        {"[AVAILABLE_TOOLS][INST]", ChatTemplate::mistral_v3},
        {"{{'<|user|>\\n' + m + '<|end|>\\n<|assistant|>\\n'}}", ChatTemplate::phi3},
        {"{{'<|user|>\\n' + m + '<|endoftext|>'}}", ChatTemplate::zephyr},
        {"{{'<start_of_turn>' + role + '\\n'}}", ChatTemplate::gemma},
        {"{{'<|start_header_id|>' + role + '<|end_header_id|>\\n\\n'}}", ChatTemplate::llama3},
        {"gemma", ChatTemplate::gemma},  // a name is taken as itself
    };
    for (const auto& [jinja, want] : cases) {
        CAPTURE(std::string(jinja));
        ChatTemplate got = ChatTemplate::chatml;
        CHECK(detect_chat_template(jinja, &got));
        CHECK(chat_template_name(got) == std::string(chat_template_name(want)));
    }
    ChatTemplate t;
    CHECK_FALSE(detect_chat_template("{{ messages }}", &t));
    CHECK_FALSE(detect_chat_template("<|im_start|><|im_sep|>", &t));  // Phi-4: not built in
}

// Three scripted turns through stories260K (SentencePiece, BOS): turn 1 processes BOS and
// the whole formatted conversation; later turns only what follows the longest prefix the
// cache already holds, and that is exactly the re-formatted conversation's tail.
TEST_CASE("a scripted conversation processes exactly each turn's new tokens") {
    const std::string model = testing::shared_file("models/stories260K/stories260K-F32.gguf");
    if (model.empty()) return;
    const Tokenizer tok(load_model(model).meta);
    const std::string input = testing::temp_path("chat-input.txt");
    std::ofstream(input) << "Hello\nWho are you\n\n/exit\nnot read\n";
    for (const char* name : {"chatml", "llama3", "gemma", "llama2-sys"}) {
        CAPTURE(std::string(name));
        const testing::LmResult r = testing::run_lm("chat " + model + " -sys 'Be brief' -n 6 --temp 0 --show-tokens " +
                                                    "--chat-template " + name, input);
        REQUIRE(r.status == 0);
        const auto turns = turns_of(r.err);
        const std::vector<std::string> replies = lines_of(r.out);
        REQUIRE(turns.size() == 2);  // the empty line is skipped, /exit leaves
        REQUIRE(replies.size() == 2);
        const ChatTemplate t = chat_template_named(name);
        std::vector<ChatMessage> messages = {{"system", "Be brief"}, {"user", "Hello"}};
        auto ids_of = [&] {
            std::vector<int> ids = {tok.bos()};
            for (int32_t id : tok.encode(format_chat(t, messages, true), false, true)) ids.push_back(id);
            return ids;
        };
        const std::vector<int> first = ids_of();
        CHECK(turns[0].first == 0);
        CHECK(turns[0].second == first);
        messages.push_back({"assistant", replies[0]});
        messages.push_back({"user", "Who are you"});
        const std::vector<int> second = ids_of();
        const size_t keep = turns[1].first;
        CHECK(keep >= first.size());  // the first turn's prompt is not processed again
        CHECK(std::vector<int>(second.begin() + static_cast<std::ptrdiff_t>(keep), second.end()) == turns[1].second);
    }
}

TEST_CASE("chat: one-shot -p, a full context drops the oldest turns, unknown templates") {
    const std::string model = testing::shared_file("models/stories260K/stories260K-F32.gguf");
    if (model.empty()) return;
    const testing::LmResult once = testing::run_lm("chat " + model + " -p 'Hello' -n 4 --temp 0", "/dev/null");
    CHECK(once.status == 0);
    CHECK(once.out.size() > 1);
    CHECK(once.out.back() == '\n');
    CHECK(once.err.find("has no tokenizer.chat_template; using chatml") != std::string::npos);

    const std::string input = testing::temp_path("chat-long.txt");
    std::ofstream(input) << "Tell me a story about a cat\nAnd then what happened next\nWhy did it go\n";
    const testing::LmResult full = testing::run_lm(
        "chat " + model + " -sys 'Be brief' -n 20 --temp 0 -c 110 --show-tokens --chat-template chatml", input);
    CHECK(full.status == 0);
    CHECK(full.err.find("lm: context full: dropped the 1 oldest turns, re-processing the rest") != std::string::npos);
    const auto turns = turns_of(full.err);
    REQUIRE(turns.size() == 3);
    CHECK(turns[2].first < turns[1].first + turns[1].second.size());  // re-processed after the drop

    testing::expect_lm_error("chat " + model + " --chat-template vicuna", "unknown chat template 'vicuna' (lm knows: chatml, llama2,");
}

}  // TEST_SUITE
