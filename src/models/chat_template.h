// Chat templates: a conversation as the text an instruct model was trained on, in the
// built-in formats llama.cpp recognizes (llama_chat_apply_template's), chosen by name or
// detected from the model's Jinja tokenizer.chat_template by the same marker strings. Not
// a Jinja interpreter: each format is written out in format_chat.
#pragma once
#include <string>
#include <vector>

namespace lm {

struct ChatMessage {
    std::string role;  // system, user or assistant
    std::string content;
};

enum class ChatTemplate {
    chatml, llama2, llama2_sys, llama2_sys_bos, llama2_sys_strip, mistral_v1, mistral_v3, mistral_v3_tekken,
    mistral_v7, phi3, zephyr, gemma, llama3
};

// Throws "unknown chat template 'X' (lm knows: ...)".
ChatTemplate chat_template_named(const std::string& name);
const char* chat_template_name(ChatTemplate t);
std::string chat_template_names();  // comma-separated
// The format a Jinja template (or a template name) is; false when lm knows none that fits.
bool detect_chat_template(const std::string& jinja, ChatTemplate* out);
// The conversation as text; with add_assistant, the opening of the assistant's next turn.
std::string format_chat(ChatTemplate t, const std::vector<ChatMessage>& messages, bool add_assistant);

}  // namespace lm
