// Hugging Face vocabulary files -> the tokenizer.ggml.* metadata llama.cpp's converter
// would write for the same model, so one code path (and `lm convert`) serves both sources.
#include "tokenizer/tokenizer.h"
#include "weights/error.h"
#include "weights/files.h"
#include "weights/json.h"

namespace lm {

namespace {

std::vector<std::string> read_lines(const std::string& path) {
    std::string text;
    if (!files::read(path, text)) fail(path, ": cannot open");
    std::vector<std::string> lines = files::split(text, '\n');
    for (std::string& line : lines)
        if (!line.empty() && line.back() == '\r') line.pop_back();
    return lines;
}

// llama.cpp's GGUF spelling of WordPiece ("phantom space"): "##x" -> "x", "x" -> "▁x",
// bracketed tokens such as "[CLS]" unchanged.
std::string phantom_space(const std::string& token) {
    if (token.size() >= 2 && token.front() == '[' && token.back() == ']') return token;
    if (token.compare(0, 2, "##") == 0) return token.substr(2);
    return "\xE2\x96\x81" + token;
}

void set_id(Metadata& meta, const char* key, const std::vector<std::string>& tokens, const char* text) {
    for (size_t i = 0; i < tokens.size(); ++i)
        if (tokens[i] == text) return meta.set(key, Value::of_int(ValueType::U32, static_cast<int64_t>(i)));
}

// tokens in Hugging Face spelling; special marks the added special tokens.
void set_bert(Metadata& meta, const std::vector<std::string>& tokens, std::vector<bool> special) {
    static const char* names[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    std::vector<std::string> spelled;
    std::vector<int64_t> types;
    for (size_t i = 0; i < tokens.size(); ++i) {
        bool control = special[i];
        for (const char* name : names) control = control || tokens[i] == name;
        spelled.push_back(phantom_space(tokens[i]));
        types.push_back(static_cast<int64_t>(control ? TokenType::control : TokenType::normal));
    }
    meta.set("tokenizer.ggml.model", Value::of_string("bert"));
    meta.set("tokenizer.ggml.tokens", Value::of_strings(std::move(spelled)));
    meta.set("tokenizer.ggml.token_type", Value::of_ints(ValueType::I32, std::move(types)));
    set_id(meta, "tokenizer.ggml.unknown_token_id", tokens, "[UNK]");
    set_id(meta, "tokenizer.ggml.seperator_token_id", tokens, "[SEP]");
    set_id(meta, "tokenizer.ggml.padding_token_id", tokens, "[PAD]");
    set_id(meta, "tokenizer.ggml.cls_token_id", tokens, "[CLS]");
    set_id(meta, "tokenizer.ggml.mask_token_id", tokens, "[MASK]");
}

void set_gpt2(Metadata& meta, std::vector<std::string> tokens, const std::vector<int>& special_kind,
              std::vector<std::string> merges) {
    std::vector<int64_t> types;
    for (size_t i = 0; i < tokens.size(); ++i) {
        TokenType t = special_kind[i] == 2 ? TokenType::control
                    : special_kind[i] == 1 ? TokenType::user_defined
                    : tokens[i] == "<|endoftext|>" ? TokenType::control : TokenType::normal;
        types.push_back(static_cast<int64_t>(t));
    }
    set_id(meta, "tokenizer.ggml.bos_token_id", tokens, "<|endoftext|>");
    set_id(meta, "tokenizer.ggml.eos_token_id", tokens, "<|endoftext|>");
    meta.set("tokenizer.ggml.model", Value::of_string("gpt2"));
    meta.set("tokenizer.ggml.pre", Value::of_string("gpt-2"));
    meta.set("tokenizer.ggml.tokens", Value::of_strings(std::move(tokens)));
    meta.set("tokenizer.ggml.token_type", Value::of_ints(ValueType::I32, std::move(types)));
    meta.set("tokenizer.ggml.merges", Value::of_strings(std::move(merges)));
}

// Places each token at its id; the ids must be exactly 0..n-1.
class TokenTable {
public:
    TokenTable(const std::string& path, size_t n) : path_(path), tokens_(n), filled_(n, false) {}
    void put(const Json& id, const std::string& token) {
        if (!id.is_number() || !id.integral || id.integer < 0 || static_cast<uint64_t>(id.integer) >= tokens_.size())
            fail(path_, ": token \"", token, "\" has an id that is not an integer in 0..", tokens_.size() - 1);
        auto i = static_cast<size_t>(id.integer);
        if (filled_[i] && tokens_[i] != token) fail(path_, ": two tokens have id ", i);
        tokens_[i] = token;
        filled_[i] = true;
    }
    std::vector<std::string> take() {
        for (size_t i = 0; i < filled_.size(); ++i)
            if (!filled_[i]) fail(path_, ": no token has id ", i, " (ids must be contiguous)");
        return std::move(tokens_);
    }

private:
    std::string path_;
    std::vector<std::string> tokens_;
    std::vector<bool> filled_;
};

std::vector<std::string> vocab_json_tokens(const std::string& path) {
    Json vocab = read_json_file(path);
    if (!vocab.is_object() || vocab.members.empty()) fail(path, ": expected a non-empty object of token ids");
    TokenTable table(path, vocab.members.size());
    for (const auto& [token, id] : vocab.members) table.put(id, token);
    return table.take();
}

std::vector<std::string> merges_txt(const std::string& path) {
    std::vector<std::string> merges;
    for (std::string& line : read_lines(path)) {
        if (line.empty() || (merges.empty() && line.compare(0, 8, "#version") == 0)) continue;
        merges.push_back(std::move(line));
    }
    return merges;
}

const Json& member(const Json& obj, const char* key, const std::string& path) {
    const Json* v = obj.is_object() ? obj.find(key) : nullptr;
    if (!v) fail(path, ": missing \"", key, "\"");
    return *v;
}

bool mentions_byte_level(const Json* j) {
    if (!j || !j->is_object()) return false;
    const Json* type = j->find("type");
    if (type && type->is_string() && type->str == "ByteLevel") return true;
    const Json* parts = j->find("pretokenizers");
    if (parts && parts->is_array())
        for (const Json& p : parts->items)
            if (mentions_byte_level(&p)) return true;
    return false;
}

// The Split regexes and the single-digit Digits step of a tokenizer.json pre_tokenizer.
void pre_tokenizer_steps(const Json* j, std::vector<std::string>& regexes, bool& digits) {
    if (!j || !j->is_object()) return;
    const Json* type = j->find("type");
    if (type && type->is_string() && type->str == "Split") {
        const Json* pattern = j->find("pattern");
        const Json* regex = pattern && pattern->is_object() ? pattern->find("Regex") : nullptr;
        if (regex && regex->is_string()) regexes.push_back(regex->str);
    }
    if (type && type->is_string() && type->str == "Digits") {
        const Json* single = j->find("individual_digits");
        digits = digits || (single && single->boolean);
    }
    if (const Json* parts = j->find("pretokenizers"); parts && parts->is_array())
        for (const Json& part : parts->items) pre_tokenizer_steps(&part, regexes, digits);
}

// llama.cpp's tokenizer.ggml.pre name for a byte-level tokenizer.json, from its split regex:
// Llama 3's (digits in threes) or Qwen2's (single digits), the case-aware ones of Tekken and
// GPT-4o, SmolLM's single digits before GPT-2's split; otherwise GPT-2's. (llama.cpp's
// converter tells them apart by hashing a test text's tokens; the regexes are what differ.)
std::string pre_tokenizer_name(const Json& root) {
    std::vector<std::string> regexes;
    bool digits = false;
    pre_tokenizer_steps(root.find("pre_tokenizer"), regexes, digits);
    for (const std::string& r : regexes) {
        const bool digit_groups = r.find(R"(\p{N}{1,3})") != std::string::npos;
        if (r.find(R"([\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*)") != std::string::npos) return digit_groups ? "gpt-4o" : "tekken";
        if (r.find(R"([^\r\n\p{L}\p{N}]?\p{L}+)") != std::string::npos) return digit_groups ? "llama-bpe" : "qwen2";
    }
    return digits ? "smollm" : "gpt-2";
}

void read_tokenizer_json(const std::string& path, Metadata& meta) {
    Json root = read_json_file(path);
    const Json& model = member(root, "model", path);
    const Json& vocab = member(model, "vocab", path);
    if (!vocab.is_object()) fail(path, ": model.vocab is not an object");
    const Json* added = root.find("added_tokens");
    size_t n_added = added && added->is_array() ? added->items.size() : 0;
    // Added tokens may repeat vocabulary entries or extend the id range past them.
    size_t n = vocab.members.size();
    if (n_added) {
        int64_t max_id = static_cast<int64_t>(n) - 1;
        for (const Json& a : added->items) {
            const Json* id = a.is_object() ? a.find("id") : nullptr;
            if (id && id->integral && id->integer > max_id && id->integer < static_cast<int64_t>(n + n_added))
                max_id = id->integer;
        }
        n = static_cast<size_t>(max_id + 1);
    }
    TokenTable table(path, n);
    for (const auto& [token, id] : vocab.members) table.put(id, token);
    std::vector<int> kind(n, 0);  // 1 user-defined, 2 special
    for (size_t i = 0; i < n_added; ++i) {
        const Json& a = added->items[i];
        const Json& content = member(a, "content", path);
        if (!content.is_string()) fail(path, ": added_tokens[", i, "].content is not a string");
        const Json& id = member(a, "id", path);
        table.put(id, content.str);
        const Json* special = a.find("special");
        kind[static_cast<size_t>(id.integer)] = (special && special->boolean) ? 2 : 1;
    }
    std::vector<std::string> tokens = table.take();
    const Json* type = model.find("type");
    std::string type_name = type && type->is_string() ? type->str : (model.find("merges") ? "BPE" : "");
    if (type_name == "WordPiece") {
        std::vector<bool> special(n);
        for (size_t i = 0; i < n; ++i) special[i] = kind[i] == 2;
        return set_bert(meta, tokens, special);
    }
    if (type_name != "BPE") fail(path, ": unsupported tokenizer model type \"", type_name, "\"");
    if (!mentions_byte_level(root.find("pre_tokenizer")) && !mentions_byte_level(root.find("decoder")))
        fail(path, ": only byte-level (GPT-2 style) BPE tokenizer.json files are supported");
    const Json& merges_json = member(model, "merges", path);
    if (!merges_json.is_array()) fail(path, ": model.merges is not an array");
    std::vector<std::string> merges;
    for (const Json& m : merges_json.items) {
        if (m.is_string()) merges.push_back(m.str);  // "a b"
        else if (m.is_array() && m.items.size() == 2 && m.items[0].is_string() && m.items[1].is_string())
            merges.push_back(m.items[0].str + " " + m.items[1].str);  // ["a", "b"]
        else fail(path, ": merge ", merges.size(), " is neither \"a b\" nor [\"a\", \"b\"]");
    }
    set_gpt2(meta, std::move(tokens), kind, std::move(merges));
    meta.set("tokenizer.ggml.pre", Value::of_string(pre_tokenizer_name(root)));
}

// tokenizer_config.json's chat_template (a string, or named templates: "default" or the first)
// as tokenizer.chat_template, which lm chat matches to its formats.
void read_tokenizer_config(const std::string& dir, Metadata& meta) {
    const std::string path = files::join(dir, "tokenizer_config.json");
    if (!files::exists(path)) return;
    const Json config = read_json_file(path);
    const Json* chat = config.is_object() ? config.find("chat_template") : nullptr;
    if (!chat) return;
    std::string text = chat->is_string() ? chat->str : "";
    if (chat->is_array())
        for (const Json& named : chat->items) {
            const Json* name = named.is_object() ? named.find("name") : nullptr;
            const Json* body = named.is_object() ? named.find("template") : nullptr;
            if (!body || !body->is_string()) continue;
            if (text.empty() || (name && name->is_string() && name->str == "default")) text = body->str;
        }
    if (!text.empty()) meta.set("tokenizer.chat_template", Value::of_string(text));
}

std::string first_existing(const std::string& dir, std::initializer_list<const char*> names) {
    for (const char* name : names)
        if (files::exists(files::join(dir, name))) return files::join(dir, name);
    return "";
}

}  // namespace

void read_hf_tokenizer(const std::string& path, Metadata& meta) {
    if (meta.source.empty()) meta.source = path;
    const bool is_dir = files::is_directory(path);
    if (!is_dir && !files::exists(path)) fail(path, ": no such file or directory");
    const std::string dir = is_dir ? path : files::parent(path);
    const std::string name = is_dir ? "" : files::filename(path);
    const std::string ext = is_dir ? "" : files::extension(path);

    // A file names its kind by its name; a directory is searched in this order.
    std::string vocab_txt = (ext == ".txt" && name != "merges.txt") ? path : "";
    if (is_dir) vocab_txt = first_existing(dir, {"vocab.txt"});
    if (!vocab_txt.empty()) {
        std::vector<std::string> tokens = read_lines(vocab_txt);
        if (tokens.empty()) fail(vocab_txt, ": empty vocabulary");
        return set_bert(meta, tokens, std::vector<bool>(tokens.size(), false));
    }
    if (name == "tokenizer.json") return read_tokenizer_json(path, meta);
    if (ext == ".model") return read_sentencepiece_model(path, meta);
    std::string vocab = ext == ".json" ? path : first_existing(dir, {"vocab.json", "encoder.json"});
    std::string merges = (name == "merges.txt" || ext == ".bpe") ? path
                                                                 : first_existing(dir, {"merges.txt", "vocab.bpe"});
    if (!vocab.empty() && !merges.empty()) {
        std::vector<std::string> tokens = vocab_json_tokens(vocab);
        std::vector<int> kind(tokens.size(), 0);
        set_gpt2(meta, std::move(tokens), kind, merges_txt(merges));
        // A tokenizer.json beside them names the split (Qwen2, Llama 3 and SmolLM ship both).
        if (is_dir) {
            if (const std::string json = first_existing(dir, {"tokenizer.json"}); !json.empty())
                meta.set("tokenizer.ggml.pre", Value::of_string(pre_tokenizer_name(read_json_file(json))));
            read_tokenizer_config(dir, meta);
        }
        return;
    }
    std::string sentencepiece = is_dir ? first_existing(dir, {"tokenizer.model"}) : "";
    if (!sentencepiece.empty()) return read_sentencepiece_model(sentencepiece, meta);
    std::string json = is_dir ? first_existing(dir, {"tokenizer.json"}) : "";
    if (!json.empty()) {
        read_tokenizer_json(json, meta);
        return read_tokenizer_config(dir, meta);
    }
    fail(path, ": found no vocab.txt, vocab.json/encoder.json with merges.txt/vocab.bpe, tokenizer.model "
               "or tokenizer.json");
}

Tokenizer Tokenizer::from_files(const std::string& path) {
    Metadata meta;
    meta.source = path;
    read_hf_tokenizer(path, meta);
    return Tokenizer(meta);
}

}  // namespace lm
