// lm chat MODEL: multi-turn chat with an instruct model through its chat template
// (src/models/chat_template.h). The KV cache holds the conversation so far; each turn re-formats the
// whole conversation, and only the tokens after the longest prefix the cache already holds
// are processed. When the context fills, the oldest turns are dropped and the rest is
// processed again.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <random>
#include <unistd.h>

#include "simd/matmul.h"
#include "src/cli/cli.h"
#include "src/models/chat_template.h"
#include "src/models/generate.h"
#include "src/models/model.h"
#include "src/models/sampler.h"
#include "tokenizer/tokenizer.h"
#include "weights/error.h"

namespace lm {

namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_interrupt(int) { g_interrupted = true; }

constexpr const char* kUsage = "lm chat MODEL [options] (lm chat --help)";

ChatTemplate choose_template(const ModelFile& file, const std::string& name) {
    if (!name.empty()) return chat_template_named(name);
    const std::string jinja = file.meta.get_string("tokenizer.chat_template", "");
    ChatTemplate t = ChatTemplate::chatml;
    if (jinja.empty()) {
        std::fprintf(stderr, "lm: note: %s has no tokenizer.chat_template; using chatml (see --chat-template)\n",
                     file.path.c_str());
    } else if (!detect_chat_template(jinja, &t)) {
        fail(file.path, ": tokenizer.chat_template is not a format lm knows; pass --chat-template NAME (",
             chat_template_names(), ")");
    }
    return t;
}

// Ids of the conversation as the template writes it, with BOS when the model adds one.
std::vector<int> conversation_ids(const Tokenizer& tok, ChatTemplate t, const std::vector<ChatMessage>& messages) {
    std::vector<int> ids;
    if (tok.add_bos() && tok.bos() >= 0) ids.push_back(tok.bos());
    for (int32_t id : tok.encode(format_chat(t, messages, true), false, true)) ids.push_back(id);
    return ids;
}

}  // namespace

const char* const kChatHelp =
    "usage: lm chat MODEL [options]\n"
    "Chats with an instruct model: each line read from standard input is a user turn, the answer\n"
    "is streamed to stdout. /exit or the end of input leaves; Ctrl-C stops the current answer.\n"
    "The conversation stays in the KV cache: a turn processes only its new tokens; when the\n"
    "context is full, the oldest turns are dropped (said on stderr) and the rest re-processed.\n"
    "  -p, --prompt TEXT      answer TEXT once and exit\n"
    "  -sys, --system-prompt TEXT  the system turn that opens the conversation\n"
    "  --chat-template NAME   the format, instead of the one detected from the model's\n"
    "                         tokenizer.chat_template (chatml when it has none): chatml, llama2,\n"
    "                         llama2-sys, llama2-sys-bos, llama2-sys-strip, mistral-v1,\n"
    "                         mistral-v3, mistral-v3-tekken, mistral-v7, phi3, zephyr, gemma,\n"
    "                         llama3\n"
    "  -n, --n-predict N      at most N tokens per answer (-1 = until end of turn)\n"
    "  -c, --ctx-size N       context length in tokens (0 = the model's)\n" LM_CACHE_TYPES_HELP
    "  --temp T               temperature (0.8; 0 = greedy)\n"
    "  --top-k K              sample from the K most likely tokens (40; 0 = all)\n"
    "  --top-p P              ... from the most likely ones that add up to P (0.95)\n"
    "  --min-p P              leave out tokens less likely than P x the most likely (0.05)\n"
    "  --repeat-penalty R     penalize recent tokens (1.0 = off)\n"
    "  --repeat-last-n N      tokens the penalty looks back over (64)\n"
    "  -s, --seed S           sampler seed (-1 = random)\n"
    "  -t, --threads N        threads (this machine's physical cores)\n"
    "  --show-tokens          each turn, the position and ids of the tokens processed, on stderr\n"
    "examples:\n"
    "  lm chat qwen2.5-0.5b-instruct-q8_0.gguf -sys \"You are terse.\"\n"
    "  lm chat model.gguf -p \"What is the capital of France?\" --temp 0\n";

int cmd_chat(Args& args) {
    const std::string once = args.text({"-p", "--prompt"}, "");
    const bool one_shot = !once.empty();
    const std::string system = args.text({"-sys", "--system-prompt"}, "");
    const std::string template_name = args.text({"--chat-template"}, "");
    const int64_t n_predict = args.integer({"-n", "--n-predict"}, -1, -1, 1 << 30);
    const int64_t ctx = args.integer({"-c", "--ctx-size"}, 0, 0, 1 << 22);
    const SamplerParams sp = read_sampler_params(args);
    const int threads = static_cast<int>(args.integer({"-t", "--threads"}, default_threads(), 1, 1024));
    const bool show_tokens = args.flag({"--show-tokens"});
    DecoderOptions decoder_options{static_cast<int>(ctx), 512};
    read_cache_types(args, decoder_options);
    const std::vector<std::string> pos = args.positional(1, 1, kUsage);

    ModelFile file = open_model(pos[0]);
    Tokenizer tok(file.meta);
    const ChatTemplate tmpl = choose_template(file, template_name);
    auto model = load_decoder(file, decoder_options);
    if (tok.n_vocab() > model->vocab_size())
        fail(pos[0], ": tokenizer has ", tok.n_vocab(), " tokens but the model only ", model->vocab_size());
    const int context = model->context();
    Sampler sampler(sp, model->vocab_size());

    std::vector<ChatMessage> messages;
    if (!system.empty()) messages.push_back({"system", system});
    std::vector<int> cache;  // the tokens the KV cache holds, in order from position 0
    const bool interactive = !one_shot && isatty(STDIN_FILENO);
    for (int turn = 1;; ++turn) {
        std::string line;
        if (one_shot) {
            if (turn > 1) break;
            line = once;
        } else {
            if (interactive) std::fputs("> ", stderr);
            if (!read_line(stdin, line) || line == "/exit") break;
            if (line.empty()) continue;
        }
        messages.push_back({"user", line});
        std::vector<int> ids = conversation_ids(tok, tmpl, messages);
        // Room for the answer: drop the oldest exchanges (the system turn stays) until the
        // conversation fits with space to spare, as long as more than this question is left.
        const size_t first = !system.empty() ? 1 : 0;
        int dropped = 0;
        while (ids.size() + 16 > static_cast<size_t>(context) && messages.size() > first + 1) {
            messages.erase(messages.begin() + first);
            if (messages.size() > first + 1 && messages[first].role == "assistant")
                messages.erase(messages.begin() + first);
            ++dropped;
            ids = conversation_ids(tok, tmpl, messages);
        }
        if (dropped) std::fprintf(stderr, "lm: context full: dropped the %d oldest turns, re-processing the rest\n", dropped);
        if (ids.size() >= static_cast<size_t>(context))
            fail("the conversation is ", ids.size(), " tokens, longer than the context of ", context, " (see -c)");
        // Only what the cache does not hold yet; the last token again at least, for its logits.
        size_t keep = 0;
        while (keep < cache.size() && keep < ids.size() && cache[keep] == ids[keep]) ++keep;
        keep = std::min(keep, ids.size() - 1);
        if (show_tokens) {
            std::string list;
            for (size_t i = keep; i < ids.size(); ++i) {
                if (i > keep) list += ' ';
                list += std::to_string(ids[i]);
            }
            std::fprintf(stderr, "lm: turn %d: tokens %zu..%zu: %s\n", turn, keep, ids.size(), list.c_str());
        }
        // The answer, as lm run generates (a full context ends it: the next turn drops old ones).
        std::string reply;
        GenerateOptions options;
        options.n_predict = n_predict;
        options.threads = threads;
        options.cached = static_cast<int>(keep);
        options.cancel = &g_interrupted;
        g_interrupted = false;
        std::signal(SIGINT, on_interrupt);
        cache = ids;
        generate(*model, sampler, tok, cache, options, [&](int, const std::string& text) {
            reply += text;
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fflush(stdout);
            return true;
        });
        std::signal(SIGINT, SIG_DFL);
        std::fputs("\n", stdout);
        std::fflush(stdout);
        messages.push_back({"assistant", reply});
    }
    return 0;
}

}  // namespace lm
