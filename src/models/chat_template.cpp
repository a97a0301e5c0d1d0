#include "src/models/chat_template.h"

#include "weights/error.h"

namespace lm {

namespace {

struct Named {
    const char* name;
    ChatTemplate t;
};

// llama.cpp's names for the formats.
constexpr Named kTemplates[] = {
    {"chatml", ChatTemplate::chatml},
    {"llama2", ChatTemplate::llama2},
    {"llama2-sys", ChatTemplate::llama2_sys},
    {"llama2-sys-bos", ChatTemplate::llama2_sys_bos},
    {"llama2-sys-strip", ChatTemplate::llama2_sys_strip},
    {"mistral-v1", ChatTemplate::mistral_v1},
    {"mistral-v3", ChatTemplate::mistral_v3},
    {"mistral-v3-tekken", ChatTemplate::mistral_v3_tekken},
    {"mistral-v7", ChatTemplate::mistral_v7},
    {"phi3", ChatTemplate::phi3},
    {"zephyr", ChatTemplate::zephyr},
    {"gemma", ChatTemplate::gemma},
    {"llama3", ChatTemplate::llama3},
};

std::string trim(const std::string& s) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
    size_t begin = 0, end = s.size();
    while (begin < end && space(s[begin])) ++begin;
    while (end > begin && space(s[end - 1])) --end;
    return s.substr(begin, end - begin);
}

// [INST] formats: Llama 2's with its variants, and Mistral's v1/v3/v3-tekken.
std::string format_inst(ChatTemplate t, const std::vector<ChatMessage>& messages) {
    std::string out;
    if (t == ChatTemplate::mistral_v1 || t == ChatTemplate::mistral_v3 || t == ChatTemplate::mistral_v3_tekken) {
        const std::string lead = t == ChatTemplate::mistral_v1 ? " " : "";
        const std::string trail = t == ChatTemplate::mistral_v3_tekken ? "" : " ";
        bool in_turn = false;
        for (const ChatMessage& m : messages) {
            if (!in_turn) out += lead + "[INST]" + trail, in_turn = true;
            if (m.role == "system") {
                out += m.content + "\n\n";
            } else if (m.role == "user") {
                out += m.content + lead + "[/INST]";
            } else {
                out += trail + (t == ChatTemplate::mistral_v3 ? trim(m.content) : m.content) + "</s>";
                in_turn = false;
            }
        }
        return out;
    }
    const bool system = t != ChatTemplate::llama2, strip = t == ChatTemplate::llama2_sys_strip;
    bool in_turn = true;  // the first [INST] opens without BOS
    out += "[INST] ";
    for (const ChatMessage& m : messages) {
        const std::string content = strip ? trim(m.content) : m.content;
        if (!in_turn) {
            out += t == ChatTemplate::llama2_sys_bos ? "<s>[INST] " : "[INST] ";
            in_turn = true;
        }
        if (m.role == "system") {
            out += system ? "<<SYS>>\n" + content + "\n<</SYS>>\n\n" : content + "\n";
        } else if (m.role == "user") {
            out += content + " [/INST]";
        } else {
            out += content + "</s>";
            in_turn = false;
        }
    }
    return out;
}

}  // namespace

ChatTemplate chat_template_named(const std::string& name) {
    for (const Named& n : kTemplates)
        if (name == n.name) return n.t;
    fail("unknown chat template '", name, "' (lm knows: ", chat_template_names(), ")");
}

const char* chat_template_name(ChatTemplate t) {
    for (const Named& n : kTemplates)
        if (n.t == t) return n.name;
    return "?";
}

std::string chat_template_names() {
    std::string all;
    for (const Named& n : kTemplates) all += std::string(all.empty() ? "" : ", ") + n.name;
    return all;
}

bool detect_chat_template(const std::string& jinja, ChatTemplate* out) {
    for (const Named& n : kTemplates)
        if (jinja == n.name) return *out = n.t, true;
    auto has = [&](const char* marker) { return jinja.find(marker) != std::string::npos; };
    // The marker strings and their order are llama.cpp's (llm_chat_detect_template).
    if (has("<|im_start|>")) {
        if (has("<|im_sep|>")) return false;  // Phi-4's variant
        return *out = ChatTemplate::chatml, true;
    }
    if (jinja.rfind("mistral", 0) == 0 || has("[INST]")) {
        if (has("[SYSTEM_PROMPT]")) *out = ChatTemplate::mistral_v7;
        else if (has("' [INST] ' + system_message") || has("[AVAILABLE_TOOLS]"))
            *out = has(" [INST]") ? ChatTemplate::mistral_v1
                   : has("\"[INST]\"") ? ChatTemplate::mistral_v3_tekken
                                       : ChatTemplate::mistral_v3;
        else if (has("content.strip()")) *out = ChatTemplate::llama2_sys_strip;
        else if (has("bos_token + '[INST]")) *out = ChatTemplate::llama2_sys_bos;
        else if (has("<<SYS>>")) *out = ChatTemplate::llama2_sys;
        else *out = ChatTemplate::llama2;
        return true;
    }
    if (has("<|assistant|>") && has("<|end|>")) return *out = ChatTemplate::phi3, true;
    if (has("<|assistant|>") && has("<|user|>")) return false;  // Falcon 3, GLM-Edge
    if (has("<|user|>") && has("<|endoftext|>")) return *out = ChatTemplate::zephyr, true;
    if (has("bos_token + message['role']")) return false;  // Monarch
    if (has("<start_of_turn>")) return *out = ChatTemplate::gemma, true;
    if (has("<|start_header_id|>") && has("<|end_header_id|>")) return *out = ChatTemplate::llama3, true;
    return false;
}

std::string format_chat(ChatTemplate t, const std::vector<ChatMessage>& messages, bool add_assistant) {
    std::string out;
    switch (t) {
        case ChatTemplate::chatml:
            for (const ChatMessage& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
            if (add_assistant) out += "<|im_start|>assistant\n";
            return out;
        case ChatTemplate::mistral_v7:
            for (const ChatMessage& m : messages) {
                if (m.role == "system") out += "[SYSTEM_PROMPT] " + m.content + "[/SYSTEM_PROMPT]";
                else if (m.role == "user") out += "[INST] " + m.content + "[/INST]";
                else out += " " + m.content + "</s>";
            }
            return out;
        case ChatTemplate::phi3:
            for (const ChatMessage& m : messages) out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
            if (add_assistant) out += "<|assistant|>\n";
            return out;
        case ChatTemplate::zephyr:
            for (const ChatMessage& m : messages) out += "<|" + m.role + "|>\n" + m.content + "<|endoftext|>\n";
            if (add_assistant) out += "<|assistant|>\n";
            return out;
        case ChatTemplate::gemma: {
            // Gemma has no system turn: the system text opens the next user turn.
            std::string system;
            for (const ChatMessage& m : messages) {
                if (m.role == "system") {
                    system = trim(m.content);
                    continue;
                }
                const std::string role = m.role == "assistant" ? "model" : m.role;
                out += "<start_of_turn>" + role + "\n";
                if (!system.empty() && role != "model") out += system + "\n\n", system.clear();
                out += trim(m.content) + "<end_of_turn>\n";
            }
            if (add_assistant) out += "<start_of_turn>model\n";
            return out;
        }
        case ChatTemplate::llama3:
            for (const ChatMessage& m : messages)
                out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + trim(m.content) + "<|eot_id|>";
            if (add_assistant) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
            return out;
        default:
            return format_inst(t, messages);  // the [INST] formats end each user turn ready for the answer
    }
}

}  // namespace lm
