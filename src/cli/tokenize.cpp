// lm tokenize MODEL TEXT | -f FILE: token ids on one line, one token a line with its piece
// (--show-pieces), or their number (--count). Works on vocabulary-only GGUF files.
#include <cstdio>

#include "src/cli/cli.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"
#include "weights/error.h"

namespace lm {

namespace {

// A piece on one line: control bytes, backslashes and bytes that are not (yet) whole UTF-8
// characters as C escapes.
std::string printable(std::string_view bytes) {
    std::string out;
    for (size_t pos = 0; pos < bytes.size();) {
        const unsigned char c = static_cast<unsigned char>(bytes[pos]);
        const Decoded d = decode_utf8(bytes, pos);
        if (c >= 0x20 && c != 0x7f && c != '\\' && d.cp < invalid_codepoint) {
            out.append(bytes.substr(pos, d.len));
            pos += d.len;
            continue;
        }
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02x", c);
        out += c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\\' ? "\\\\" : hex;
        ++pos;
    }
    return out;
}

}  // namespace

const char* const kTokenizeHelp =
    "usage: lm tokenize MODEL TEXT [options]\n"
    "       lm tokenize MODEL -f FILE [options]\n"
    "Prints the token ids of TEXT, space separated, on one line. Works on vocabulary-only GGUF\n"
    "files.\n"
    "  -f, --file FILE        tokenize FILE's text (- = standard input) instead of TEXT\n"
    "  --no-bos               leave out BOS (added when the model's tokenizer adds one)\n"
    "  --show-pieces          one token a line: its id -> 'the text it stands for' (control\n"
    "                         tokens as their name; newlines, tabs and partial UTF-8 escaped)\n"
    "  --count                print only the number of tokens\n"
    "  --tokenizer PATH       a llama2.c checkpoint's tokenizer.bin (default: one beside it)\n"
    "examples:\n"
    "  lm tokenize model.gguf \"Hello world\" --show-pieces\n"
    "  lm tokenize model.gguf -f big.txt --count\n";

int cmd_tokenize(Args& args) {
    const bool no_bos = args.flag({"--no-bos"});
    const bool show_pieces = args.flag({"--show-pieces"});
    const bool count = args.flag({"--count"});
    const std::string tokenizer_path = args.text({"--tokenizer"}, "");
    const std::string text_file = args.text({"-f", "--file"}, "");
    const size_t n_args = text_file.empty() ? 2 : 1;
    const auto pos =
        args.positional(n_args, n_args, "lm tokenize MODEL TEXT (or -f FILE) [options] (lm tokenize --help)");
    if (show_pieces && count) fail("tokenize: --show-pieces and --count: give one of them");
    const std::string text = text_file.empty() ? pos[1] : read_text(text_file);
    ModelFile file = open_model(pos[0], tokenizer_path);
    Tokenizer tok(file.meta);
    const std::vector<int32_t> ids = tok.encode(text, !no_bos);
    if (count) {
        std::printf("%zu\n", ids.size());
        return 0;
    }
    std::string out;
    for (size_t i = 0; i < ids.size(); ++i) {
        if (show_pieces) {
            const bool control = tok.token_type(ids[i]) == TokenType::control;
            const std::string piece = control ? tok.token_text(ids[i]) : tok.decode_token(-1, ids[i]);
            char id[24];
            std::snprintf(id, sizeof id, "%6d -> '", ids[i]);
            out += id;
            out += printable(piece);
            out += "'\n";
        } else {
            if (i) out += ' ';
            out += std::to_string(ids[i]);
        }
    }
    if (!show_pieces) out += '\n';
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}

}  // namespace lm
