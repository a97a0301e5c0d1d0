// lm train CORPUS.txt [-o OUT.gguf]: a language model from a text file in one command. Order of a
// run: flags -> corpus -> tokenizer (byte-level BPE trained on the corpus, char, or the one of
// --init / --resume) -> 90/10 token split -> model (fresh, --init weights or a checkpoint) -> steps
// of AdamW with warmup + cosine decay -> OUT.gguf, with OUT.csv (log), OUT.svg (loss plot) and
// OUT.ckpt (checkpoint: weights, AdamW moments, step, generator) beside it. Everything a step
// depends on is in the checkpoint, so --resume is bit-exact, also after a kill -9. The corpus
// and its ids are memory-mapped, so neither needs to fit in memory.
#include <fcntl.h>
#include <omp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <span>

#include "simd/matmul.h"
#include "src/cli/cli.h"
#include "src/train/checkpoint.h"
#include "src/train/data.h"
#include "src/train/export.h"
#include "src/train/log.h"
#include "src/train/model.h"
#include "src/train/tasks.h"
#include "tokenizer/bpe_train.h"
#include "tokenizer/wordpiece_train.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"
#include "weights/error.h"
#include "weights/files.h"
#include "weights/gguf.h"
#include "weights/mmap.h"

namespace lm {

namespace {

constexpr const char* kUsage = "lm train CORPUS.txt [-o OUT.gguf] [options] (lm train --help)";

}  // namespace

const char* const kTrainHelp =
    "usage: lm train CORPUS.txt [-o OUT.gguf] [options]\n"
    "Trains a language model on a text file; writes OUT.gguf (default: CORPUS's name .gguf) that\n"
    "lm run loads, and beside it OUT.csv (log), OUT.svg (loss plot), OUT.ckpt (checkpoint).\n"
    "tokenizer:\n"
    "  --tokenizer bpe|char|PATH   byte-level BPE trained on the corpus (default; bert: WordPiece),\n"
    "                         one token per byte, or the vocabulary of a GGUF / Hugging Face\n"
    "                         tokenizer files (vocab.txt for bert)\n"
    "  --vocab N              BPE / WordPiece vocabulary size (1024; bert 8192)\n"
    "  --init MODEL           start from a llama/gpt2/bert model file: its weights and tokenizer\n"
    "  --separator TEXT       the corpus's documents are separated by TEXT (escapes \\n \\t \\\\; '\\n\\n'\n"
    "                         for blank lines): each ends with the end-of-text token instead, so\n"
    "                         the model learns to end one and lm run stops there\n"
    "model (fresh):\n"
    "  --arch llama|gpt2|rnn|bert  (llama); bert pretrains with masked-LM\n"
    "  --size tiny|small|medium|large   dim/layers/heads/ctx 64/2/4/64, 128/4/4/128 (default),\n"
    "                         288/6/6/256, 512/8/8/512\n"
    "  --dim --layers --heads --kv-heads --hidden   override the preset\n"
    "run:\n"
    "  --ctx N                tokens per sequence (the preset's; --init: min(model's, 256))\n"
    "  --batch N (16)  --accum N (1)  --iters N (1000)  --seed N (1)  -t/--threads N\n"
    "  --lr X (1e-3)  --min-lr X (lr/10)  --warmup N (min(100, iters/10))  cosine decay to min-lr\n"
    "  --weight-decay X (0.1)  --beta1 X (0.9)  --beta2 X (0.99)  --clip X (1.0, 0 = off)\n"
    "  --init-std X (0.02)    standard deviation of fresh weights (BERT's initializer_range)\n"
    "  --dropout X (bert 0.1) of the embeddings', attention and MLP outputs and the pooled [CLS]\n"
    "  --eval-every N (iters/10, 0 = only at the end)  --eval-batches N (20)\n"
    "  --save-every N (1000, and at the end; 0 = never)  --stop-after N (steps this run, then a\n"
    "                         checkpoint)  --resume CKPT (same corpus; options default to the checkpoint's)\n"
    "  --type f32|f16 (f32)   -q/--quiet (no progress bar)\n"
    "BERT tasks (lm train --task classify|qa TRAIN --dev DEV [--init bert.gguf] -o OUT.gguf):\n"
    "  --task mlm|classify|qa masked-LM pretraining on a text file (what --arch bert does),\n"
    "                         sequence classification on a TSV/CSV with a header, or extractive\n"
    "                         question answering on SQuAD v1.1 JSON; without --init a fresh bert\n"
    "  --dev FILE             scored at every evaluation: dev accuracy, or exact_match and f1\n"
    "  --text-column A[,B] (sentence, or sentence1,sentence2)  --label-column L (label)\n"
    "  --keep-best            OUT.gguf keeps the weights of the best dev evaluation\n"
    "  --max-seq N            = --ctx, tokens per sequence  --doc-stride N (QA window overlap)\n"
    "Ctrl-C finishes the current step, writes OUT.ckpt and exits with status 130.\n"
    "examples:\n"
    "  lm train corpus.txt -o model.gguf --size small --iters 2000\n"
    "  lm train stories.txt -o story.gguf --separator '\\n\\n' --dim 192 --layers 6 --heads 6\n";

namespace {

volatile sig_atomic_t g_interrupted = 0;
void on_interrupt(int) { g_interrupted = 1; }

// Model shapes for --size: llama2.c's stories models from small up (ctx is the default --ctx).
struct SizePreset {
    const char* name;
    int dim, layers, heads, ctx;
};
constexpr SizePreset kSizes[] = {
    {"tiny", 64, 2, 4, 64}, {"small", 128, 4, 4, 128}, {"medium", 288, 6, 6, 256}, {"large", 512, 8, 8, 512}};

// Everything about a run but the model's shape. Checkpoints store each as train.KEY, and --resume
// starts from those values, so the resumed run continues the same one.
struct RunOptions {
    int64_t batch, ctx, iters, warmup, accum, eval_every, eval_batches, save_every, seed;
    double lr, min_lr, weight_decay, beta1, beta2, clip;
    double dropout;  // bert only
};

// The model shape flags; zero / empty when not given.
struct ShapeFlags {
    std::string arch, size;
    int64_t dim, layers, heads, kv_heads, hidden;
    bool given() const { return !arch.empty() || !size.empty() || dim || layers || heads || kv_heads || hidden; }
};

// Fails before any work when the output (and the files beside it) could not be written, so hours of
// training are never lost to a typo in -o.
void check_writable(const std::string& out) {
    const std::string parent = files::parent(out), dir = parent.empty() ? "." : parent;
    if (files::is_directory(out)) fail(out, ": is a directory, not an output file");
    if (!files::is_directory(dir)) fail(out, ": cannot write, directory ", dir, " does not exist");
    if (access(dir.c_str(), W_OK) != 0) fail(out, ": cannot write, directory ", dir, " is not writable");
    if (files::exists(out) && access(out.c_str(), W_OK) != 0) fail(out, ": cannot write, the file is read-only");
}

// --tokenizer char counts characters, so the text must be UTF-8 (byte-level BPE takes any bytes).
void check_utf8(const std::string& path, std::string_view text) {
    int64_t line = 1;
    for (size_t pos = 0; pos < text.size();) {
        const Decoded d = decode_utf8(text, pos);
        if (d.cp >= invalid_codepoint)
            fail(path, ": invalid UTF-8 (byte 0x", "0123456789abcdef"[(uint8_t)text[pos] >> 4],
                 "0123456789abcdef"[(uint8_t)text[pos] & 15], " at offset ", pos, ", line ", line,
                 "); --tokenizer char needs UTF-8 text, the default byte-level BPE accepts any bytes");
        if (text[pos] == '\n') ++line;
        pos += d.len;
    }
}

// --tokenizer PATH: the vocabulary of a GGUF or llama2.c model (or a vocabulary-only GGUF), or
// Hugging Face tokenizer files (see Tokenizer::from_files).
void tokenizer_from_file(const std::string& path, Metadata& meta) {
    char magic[4] = {};
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        if (std::fread(magic, 1, 4, f) != 4) magic[0] = 0;
        std::fclose(f);
    }
    if (!files::is_directory(path) && std::string(magic, 4) == "GGUF")
        train_tokenizer_metadata(open_model(path).meta, meta);
    else read_hf_tokenizer(path, meta);
    if (!meta.has("tokenizer.ggml.model")) fail(path, ": has no tokenizer");
}

const SizePreset& find_size(const std::string& name) {
    for (const SizePreset& s : kSizes)
        if (name == s.name) return s;
    fail("--size: '", name, "' is not one of tiny, small, medium, large");
}

// A fresh model's config from the shape flags; hidden sizes as llama2.c (SwiGLU: 2/3 of 4C, rounded
// up to 32) and GPT-2 (4C); the RNN's state size defaults to 4C.
TrainConfig fresh_config(const ShapeFlags& f, int vocab, int ctx) {
    const SizePreset& s = find_size(f.size.empty() ? "small" : f.size);
    TrainConfig c;
    const std::string arch = f.arch.empty() ? "llama" : f.arch;
    if (arch == "llama") c.arch = TrainArch::llama;
    else if (arch == "gpt2") c.arch = TrainArch::gpt2;
    else if (arch == "rnn") c.arch = TrainArch::rnn;
    else if (arch == "bert") c.arch = TrainArch::bert;
    else fail("--arch: '", arch, "' is not one of llama, gpt2, rnn, bert");
    c.vocab_size = vocab;
    c.dim = f.dim ? (int)f.dim : s.dim;
    c.n_layers = c.arch == TrainArch::rnn ? 1 : f.layers ? (int)f.layers : s.layers;
    c.n_heads = f.heads ? (int)f.heads : s.heads;
    const bool mha = c.arch == TrainArch::gpt2 || c.arch == TrainArch::bert;
    c.n_kv_heads = mha ? c.n_heads : f.kv_heads ? (int)f.kv_heads : c.n_heads;
    if (c.arch == TrainArch::llama) c.hidden_dim = (8 * c.dim / 3 + 31) / 32 * 32;
    else c.hidden_dim = 4 * c.dim;
    if (f.hidden) c.hidden_dim = (int)f.hidden;
    c.max_seq_len = ctx;
    c.tied_head = c.arch != TrainArch::rnn;
    if (c.arch == TrainArch::bert) c.norm_eps = 1e-12f;  // BERT's LayerNorm epsilon
    if (c.arch == TrainArch::rnn && (f.layers > 1 || f.heads || f.kv_heads))
        fail("--arch rnn: one tanh layer and no heads (--layers, --heads, --kv-heads do not apply)");
    return c;
}

RunOptions read_options(Args& args, const Metadata* saved, int64_t default_ctx) {
    auto integer = [&](std::initializer_list<const char*> names, const char* key, int64_t fallback, int64_t min,
                       int64_t max) {
        if (saved) fallback = saved->get_int(std::string("train.") + key, fallback);
        return args.integer(names, fallback, min, max);
    };
    auto number = [&](std::initializer_list<const char*> names, const char* key, double fallback, double min,
                      double max) {
        if (saved) fallback = saved->get_float(std::string("train.") + key, fallback);
        return args.number(names, fallback, min, max);
    };
    RunOptions o{};
    o.batch = integer({"--batch", "-b"}, "batch", 16, 1, 1 << 16);
    o.ctx = integer({"--ctx", "-c", "--max-seq"}, "ctx", default_ctx, 1, 1 << 20);
    o.iters = integer({"--iters"}, "iters", 1000, 1, INT_MAX / 2);
    o.warmup = integer({"--warmup"}, "warmup", std::min<int64_t>(100, o.iters / 10), 0, INT_MAX / 2);
    o.accum = integer({"--accum"}, "accum", 1, 1, 1 << 16);
    o.eval_every = integer({"--eval-every"}, "eval_every", std::max<int64_t>(1, o.iters / 10), 0, INT_MAX / 2);
    o.eval_batches = integer({"--eval-batches"}, "eval_batches", 20, 1, 1 << 20);
    o.save_every = integer({"--save-every"}, "save_every", 1000, 0, INT_MAX / 2);
    o.seed = integer({"--seed"}, "seed", 1, 0, INT64_MAX);
    o.lr = number({"--lr"}, "lr", 1e-3, 0, 1e30);
    o.min_lr = number({"--min-lr"}, "min_lr", o.lr / 10, 0, 1e30);
    o.weight_decay = number({"--weight-decay", "--wd"}, "weight_decay", 0.1, 0, 1e6);
    o.beta1 = number({"--beta1"}, "beta1", 0.9, 0, 0.999999);
    o.beta2 = number({"--beta2"}, "beta2", 0.99, 0, 0.999999);
    o.clip = number({"--clip"}, "clip", 1.0, 0, 1e30);
    return o;
}

std::string duration(double seconds) {
    char buf[32];
    const long s = std::lround(std::max(0.0, seconds));
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, s / 60 % 60);
    else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%lds", s);
    return buf;
}

// "step 100/2000 | loss 2.1234 | val loss 2.2345 | lr 1.00e-03 | 12345 tok/s | ETA 3m20s"; `eval` is
// the last evaluation's words ("val loss 2.2345", "dev accuracy 0.8123 ..."), empty before one.
std::string status_line(const TrainLogRow& r, int iters, const std::string& eval, double eta) {
    char buf[384];
    int n = std::snprintf(buf, sizeof buf, "step %d/%d | loss %.4f", r.step, iters, r.loss);
    if (!eval.empty()) n += std::snprintf(buf + n, sizeof buf - n, " | %s", eval.c_str());
    std::snprintf(buf + n, sizeof buf - n, " | lr %.2e | %.0f tok/s | ETA %s", r.lr, r.tokens_per_second,
                  duration(eta).c_str());
    return buf;
}

// The progress bar: one line on a terminal, redrawn in place (nothing when stderr is a file: the
// per-evaluation lines on stdout carry the same numbers).
void draw_progress(const std::string& status, int step, int iters) {
    constexpr int width = 24;
    const int filled = static_cast<int>(static_cast<int64_t>(width) * step / iters);
    std::string bar(filled, '=');
    if (filled < width) bar += '>' + std::string(width - filled - 1, ' ');
    std::fprintf(stderr, "\r[%s] %s\033[K", bar.c_str(), status.c_str());
    std::fflush(stderr);
}

std::string with_extension(const std::string& out, const char* ext) {
    const std::string suffix = ".gguf";
    const bool gguf = out.size() > suffix.size() && out.compare(out.size() - suffix.size(), suffix.size(), suffix) == 0;
    return (gguf ? out.substr(0, out.size() - suffix.size()) : out) + ext;
}

// Everything one run holds, filled in order by parse_flags, prepare_tokens, prepare_model.
struct TrainRun {
    // Flags.
    std::string corpus_path, out_path, ckpt_path, csv_path, svg_path, resume_path, init_path, tokenizer_kind;
    std::string separator;  // between the corpus's documents (unescaped), or empty
    int64_t vocab = 0, stop_after = 0;
    int threads = 1;
    bool quiet = false;
    DType out_type = DType::F32;
    ShapeFlags shape;
    RunOptions opt{};
    ModelFile checkpoint, init_file;  // opened by parse_flags when resuming / fine-tuning
    // Data.
    size_t corpus_bytes = 0, documents = 0;
    Metadata tokenizer_meta;
    int n_vocab = 0;
    std::unique_ptr<MappedFile> token_file;  // the corpus's ids, which `tokens` and `split` view
    std::span<const int> tokens;
    TokenSplit split;
    // BERT tasks.
    std::string task_name, dev_path, text_column, label_column;
    int64_t doc_stride = -1;
    bool keep_best = false;
    float init_std = 0.02f;  // of fresh weights (and of a new head on --init)
    std::unique_ptr<BertTask> task;
    double best_score = -INFINITY;  // --keep-best: the best dev evaluation so far, and its step
    int best_step = -1;
    // classify and qa read labelled examples; lm and mlm a token stream.
    bool fine_tuning() const { return task_name == "classify" || task_name == "qa"; }
    std::vector<std::string> labels;  // classify: names by id
    size_t n_examples = 0;
    // Model and state.
    TrainModel model;
    Rng rng;
    int start_step = 0;
};

// The task: given, or the checkpoint's, or masked-LM for a bert, or language modelling.
void resolve_task(TrainRun& run) {
    std::string& task = run.task_name;
    const Metadata& saved = run.checkpoint.meta;
    if (task.empty() && saved.has("train.task")) task = saved.get_string("train.task");
    if (run.dev_path.empty()) run.dev_path = saved.get_string("train.dev", "");
    if (run.text_column.empty()) run.text_column = saved.get_string("train.text_column", "");
    if (run.label_column.empty()) run.label_column = saved.get_string("train.label_column", "");
    if (run.doc_stride < 0) run.doc_stride = saved.get_int("train.doc_stride", -1);
    run.keep_best = run.keep_best || saved.get_bool("train.keep_best", false);
    const bool bert_init =
        !run.init_path.empty() && run.init_file.meta.get_string("general.architecture", "") == "bert";
    if (task.empty()) task = run.shape.arch == "bert" || bert_init ? "mlm" : "lm";
    if (task != "lm" && task != "mlm" && task != "classify" && task != "qa")
        fail("--task: '", task, "' is not one of mlm, classify, qa");
    const bool bert = task != "lm";
    if (bert && !run.shape.arch.empty() && run.shape.arch != "bert")
        fail("--task ", task, ": trains a bert, not --arch ", run.shape.arch);
    if (bert && !run.init_path.empty() && !bert_init)
        fail("--task ", task, ": ", run.init_path, " is not a bert model");
    if (bert) run.shape.arch = run.init_path.empty() && run.resume_path.empty() ? "bert" : "";
    if (!bert && (!run.dev_path.empty() || run.keep_best)) fail("--dev, --keep-best: only for --task classify and qa");
    if (run.fine_tuning() && !run.separator.empty()) fail("--separator: only for a text corpus, not --task ", task);
    if (run.fine_tuning() && run.dev_path.empty() && run.resume_path.empty())
        fail("--task ", task, ": needs a --dev file to evaluate on");
}

void parse_flags(Args& args, TrainRun& run) {
    const std::string out_flag = args.text({"-o", "--output"}, "");
    run.resume_path = args.text({"--resume"}, "");
    run.init_path = args.text({"--init"}, "");
    run.tokenizer_kind = args.text({"--tokenizer"}, "");
    run.separator = unescape(args.text({"--separator"}, ""));
    run.vocab = args.integer({"--vocab"}, 0, 7, 1 << 20);  // WordPiece: 5 specials and a letter; BPE 257 below
    const std::string type_name = args.text({"--type"}, "f32");
    run.threads = static_cast<int>(args.integer({"-t", "--threads"}, default_threads(), 1, 1024));
    run.stop_after = args.integer({"--stop-after"}, 0, 0, INT_MAX);
    run.quiet = args.flag({"-q", "--quiet"});
    ShapeFlags& shape = run.shape;
    shape.arch = args.text({"--arch"}, "");
    shape.size = args.text({"--size"}, "");
    shape.dim = args.integer({"--dim"}, 0, 1, 1 << 16);
    shape.layers = args.integer({"--layers"}, 0, 1, 1024);
    shape.heads = args.integer({"--heads"}, 0, 1, 1 << 12);
    shape.kv_heads = args.integer({"--kv-heads"}, 0, 1, 1 << 12);
    shape.hidden = args.integer({"--hidden"}, 0, 1, 1 << 18);
    run.task_name = args.text({"--task"}, "");
    run.dev_path = args.text({"--dev"}, "");
    run.text_column = args.text({"--text-column"}, "");
    run.label_column = args.text({"--label-column"}, "");
    run.doc_stride = args.integer({"--doc-stride"}, -1, 0, 1 << 20);
    run.keep_best = args.flag({"--keep-best"});
    run.init_std = static_cast<float>(args.number({"--init-std"}, 0.02, 1e-6, 10));

    const std::string& from = run.resume_path.empty() ? run.init_path : run.resume_path;
    if (!run.resume_path.empty() && !run.init_path.empty())
        fail("--resume continues a checkpoint, --init starts from a model file: give one of them");
    if (shape.given() && !from.empty())
        fail("--arch, --size, --dim, --layers, --heads, --kv-heads, --hidden: the model's shape comes from ", from);
    if ((!run.tokenizer_kind.empty() || run.vocab) && !from.empty())
        fail("--tokenizer, --vocab: the tokenizer comes from ", from);
    if (!parse_dtype(type_name.c_str(), &run.out_type) || (run.out_type != DType::F32 && run.out_type != DType::F16))
        fail("--type: '", type_name, "' is not f32 or f16 (lm convert quantizes the result)");

    // The checkpoint's metadata first: its run options are the defaults of this run.
    const Metadata* saved = nullptr;
    if (!run.resume_path.empty()) {
        run.checkpoint = load_model(run.resume_path);
        if (!run.checkpoint.meta.has("lmtrain.arch") || !run.checkpoint.meta.has("train.step"))
            fail(run.resume_path, ": not an lm train checkpoint");
        saved = &run.checkpoint.meta;
    }
    int64_t default_ctx = find_size(shape.size.empty() ? "small" : shape.size).ctx;
    if (!run.init_path.empty()) {
        run.init_file = open_model(run.init_path);
        default_ctx = std::min<int64_t>(256, train_config_from(run.init_file).max_seq_len);
    }
    run.opt = read_options(args, saved, default_ctx);
    if (saved && run.separator.empty()) run.separator = saved->get_string("train.separator", "");
    resolve_task(run);
    // BERT's hidden_dropout_prob (0.1); the decoders train without dropout.
    const bool bert = run.task_name != "lm";
    double& dropout = run.opt.dropout;
    dropout = args.number({"--dropout"}, saved ? saved->get_float("train.dropout", 0.0) : bert ? 0.1 : 0.0, 0, 0.9);
    if (!bert && dropout > 0) fail("--dropout: only for bert (--arch bert, --task mlm|classify|qa)");
    run.corpus_path = args.positional(1, 1, kUsage)[0];
    run.out_path = !out_flag.empty() ? out_flag : files::stem(run.corpus_path) + ".gguf";
    run.ckpt_path = with_extension(run.out_path, ".ckpt");
    run.csv_path = with_extension(run.out_path, ".csv");
    run.svg_path = with_extension(run.out_path, ".svg");
}

// The tokenizer's metadata for a run that does not inherit one.
void make_tokenizer(const TrainRun& run, std::string_view corpus, Metadata& meta) {
    const std::string& kind = run.tokenizer_kind;
    if (kind == "char") {
        check_utf8(run.corpus_path, corpus);
        char_vocab(corpus, meta);
    } else if (kind.empty() && run.task_name != "lm") {
        WordPieceTrainOptions options;
        options.score = WordPieceScore::frequency;  // as Hugging Face's trainer: ~1 token a word, not 1.6
        if (run.vocab) options.vocab_size = static_cast<int32_t>(run.vocab);
        train_wordpiece(corpus, options, meta);
    } else if (kind.empty() || kind == "bpe") {
        if (run.vocab && run.vocab < 257) fail("--vocab: ", run.vocab, " is out of range (257..1048576)");
        train_bpe(corpus, {static_cast<int32_t>(run.vocab ? run.vocab : 1024), 2}, meta);
    } else if (files::exists(kind)) {
        tokenizer_from_file(kind, meta);
    } else {
        fail("--tokenizer: '", kind, "' is not bpe, char or an existing tokenizer file or directory");
    }
}

// The tokenizer of a run that has one already (from the checkpoint or --init); false otherwise.
bool inherited_tokenizer(TrainRun& run) {
    if (!run.resume_path.empty()) {
        train_tokenizer_metadata(run.checkpoint.meta, run.tokenizer_meta);
    } else if (!run.init_path.empty()) {
        train_tokenizer_metadata(run.init_file.meta, run.tokenizer_meta);
        if (!run.tokenizer_meta.has("tokenizer.ggml.model")) fail(run.init_path, ": has no tokenizer to train with");
    } else {
        return false;
    }
    return true;
}

// Fine-tuning data: the training and dev files -> tokenizer (inherited, or WordPiece trained on
// the training text) -> examples -> the task.
void prepare_examples(TrainRun& run) {
    const int B = static_cast<int>(run.opt.batch), T = static_cast<int>(run.opt.ctx);
    run.tokenizer_meta.source = run.corpus_path;
    if (run.task_name == "classify") {
        TextColumns columns;
        columns.text = run.text_column;
        if (!run.label_column.empty()) columns.label = run.label_column;
        const TextTable train = read_text_table(run.corpus_path, columns), dev = read_text_table(run.dev_path, columns);
        const auto* saved = run.checkpoint.meta.get_strings("train.labels");
        const auto* named = run.init_file.meta.get_strings("bert.classifier.output_labels");
        if (saved) run.labels = *saved;
        else if (named) run.labels = *named;
        if (run.labels.empty() || (!run.init_path.empty() && !run.init_file.find("cls.output.weight")))
            run.labels = label_names(train);
        if (!inherited_tokenizer(run)) {
            std::string text;
            for (const TextRow& row : train.rows) text += row.text_a + "\n" + row.text_b + "\n";
            make_tokenizer(run, text, run.tokenizer_meta);
        }
        const Tokenizer tokenizer(run.tokenizer_meta);
        run.n_vocab = tokenizer.n_vocab();
        run.n_examples = train.rows.size();
        run.task = make_classify_task(classify_examples(train, tokenizer, run.labels, T),
                                      classify_examples(dev, tokenizer, run.labels, T), B);
        return;
    }
    std::vector<SquadExample> train = read_squad(run.corpus_path), dev = read_squad(run.dev_path);
    if (!inherited_tokenizer(run)) {
        std::string text;
        int last_paragraph = -1;
        for (const SquadExample& ex : train) {
            if (ex.paragraph != last_paragraph) text += ex.context + "\n";
            last_paragraph = ex.paragraph;
            text += ex.question + "\n";
        }
        make_tokenizer(run, text, run.tokenizer_meta);
    }
    const Tokenizer tokenizer(run.tokenizer_meta);
    run.n_vocab = tokenizer.n_vocab();
    run.n_examples = train.size();
    const int stride = static_cast<int>(run.doc_stride);
    std::vector<TaskExample> windows;
    QaDev dev_windows;
    try {
        windows = qa_train_examples(train, tokenizer, T, stride);
    } catch (const Error& e) {
        fail(run.corpus_path, ": ", e.what());
    }
    try {
        dev_windows = qa_dev_set(std::move(dev), tokenizer, T, stride, 30);
    } catch (const Error& e) {
        fail(run.dev_path, ": ", e.what());
    }
    run.task = make_qa_task(std::move(windows), std::move(dev_windows), B);
}

void write_all(int fd, const void* data, size_t n, const std::string& path) {
    for (const char* p = static_cast<const char*>(data); n > 0;) {
        const ssize_t written = ::write(fd, p, n);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) fail(path, ": cannot write the corpus's token ids: ", std::strerror(errno));
        p += written, n -= static_cast<size_t>(written);
    }
}

// The corpus's ids, encoded a piece at a time into a file beside the output that is unlinked at
// once (nothing is left behind, even after a kill) and mapped back: memory holds one piece of
// text and its ids at a time, and training reads only the pages it samples.
void tokenize_corpus(TrainRun& run, const Tokenizer& tokenizer, const MappedFile& corpus_file) {
    static_assert(sizeof(int) == sizeof(int32_t));
    const std::string_view corpus(reinterpret_cast<const char*>(corpus_file.data()), corpus_file.size());
    const std::string path = with_extension(run.out_path, ".tokens");
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) fail(path, ": cannot write the corpus's token ids: ", std::strerror(errno));
    ::unlink(path.c_str());
    size_t count = 0, encoded = 0;
    try {
        const auto sink = [&](const std::vector<int32_t>& ids, size_t end) {
            write_all(fd, ids.data(), ids.size() * sizeof(int32_t), path);
            count += ids.size();
            if (!run.separator.empty()) run.documents += std::count(ids.begin(), ids.end(), tokenizer.eos());
            corpus_file.release(corpus.data() + encoded, end - encoded);
            encoded = end;
        };
        encode_documents(tokenizer, corpus, run.separator, size_t{1} << 16, sink);  // with --separator: EOS after each
        if (count) run.token_file = std::make_unique<MappedFile>(path, fd);
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    if (count) run.tokens = {reinterpret_cast<const int*>(run.token_file->data()), count};
}

// Corpus -> tokenizer -> tokens -> 90/10 split.
void prepare_tokens(TrainRun& run) {
    if (run.fine_tuning()) return prepare_examples(run);
    if (files::is_regular(run.corpus_path) && files::size(run.corpus_path) == 0)
        fail(run.corpus_path, ": the corpus is empty");
    const MappedFile corpus_file(run.corpus_path);
    const std::string_view corpus(reinterpret_cast<const char*>(corpus_file.data()), corpus_file.size());
    run.corpus_bytes = corpus.size();
    run.tokenizer_meta.source = run.corpus_path;
    if (!inherited_tokenizer(run)) make_tokenizer(run, corpus, run.tokenizer_meta);
    corpus_file.release(corpus.data(), corpus.size());  // read back piece by piece to encode
    const Tokenizer tokenizer(run.tokenizer_meta);
    run.n_vocab = tokenizer.n_vocab();
    tokenize_corpus(run, tokenizer, corpus_file);
    try {
        run.split = split_tokens(run.tokens, 0.1, static_cast<int>(run.opt.ctx));
    } catch (const Error& e) {
        fail(run.corpus_path, ": ", e.what(), " (a shorter --ctx needs fewer)");
    }
    if (run.task_name == "mlm")
        run.task = make_mlm_task(tokenizer, run.split.train, run.split.val, static_cast<int>(run.opt.batch),
                                 static_cast<int>(run.opt.ctx), static_cast<int>(run.opt.eval_batches));
}

// A BERT's head for the run's task (an encoder from --init may carry another head, or none).
TrainConfig with_task_head(const TrainRun& run, TrainConfig c) {
    if (c.arch != TrainArch::bert) return c;
    c.head = run.task_name == "classify" ? BertHead::classify : run.task_name == "qa" ? BertHead::qa : BertHead::mlm;
    c.n_labels = run.task_name == "classify" ? static_cast<int>(run.labels.size()) : 0;
    return c;
}

// A checkpoint's model and state, a model file's weights, or fresh weights.
void prepare_model(TrainRun& run) {
    const int B = static_cast<int>(run.opt.batch), T = static_cast<int>(run.opt.ctx);
    TrainModel& model = run.model;
    run.rng.state = static_cast<uint64_t>(run.opt.seed);
    if (!run.resume_path.empty()) {
        const Metadata state = train_load_checkpoint(run.resume_path, model, B, T);
        run.start_step = static_cast<int>(state.get_int("train.step"));
        run.rng.state = static_cast<uint64_t>(state.get_int("train.rng"));
        run.best_step = static_cast<int>(state.get_int("train.best_step", -1));
        run.best_score = state.get_float("train.best_score", -INFINITY);
        const int64_t trained_on = state.get_int("train.corpus_tokens", -1);
        const bool examples = run.fine_tuning();
        if (examples && trained_on != static_cast<int64_t>(run.n_examples))
            fail(run.corpus_path, ": has ", run.n_examples, " examples, the run in ", run.resume_path, " trained on ",
                 trained_on, " (resume with the same data; --init starts anew)");
        if (!examples && trained_on != static_cast<int64_t>(run.tokens.size()))
            fail(run.corpus_path, ": has ", run.tokens.size(), " tokens, the run in ", run.resume_path, " trained on ",
                 trained_on, " (resume with the same corpus; --init starts anew)");
    } else if (!run.init_path.empty()) {
        TrainConfig config = train_config_from(run.init_file);
        // A longer --ctx than the model's: its learned positions beyond the old context start
        // from the init below and are learned in this run (rotary positions need nothing).
        const int init_context = config.max_seq_len;
        config.max_seq_len = std::max(config.max_seq_len, T);
        train_model_init(model, with_task_head(run, config), B, T);
        if (T > init_context && model.p.wpe)
            std::printf("--ctx %d is longer than the context %d of %s: positions %d..%d start untrained\n", T,
                        init_context, run.init_path.c_str(), init_context, T - 1);
        train_model_init_weights(model, static_cast<unsigned long>(run.opt.seed), run.init_std);  // a new head keeps these
        train_load_weights(model, run.init_file);
    } else {
        train_model_init(model, with_task_head(run, fresh_config(run.shape, run.n_vocab, T)), B, T);
        train_model_init_weights(model, static_cast<unsigned long>(run.opt.seed), run.init_std);
    }
    if (run.n_vocab > model.config.vocab_size)
        fail("the tokenizer has ", run.n_vocab, " tokens, the model's vocabulary only ", model.config.vocab_size);
}

void print_summary(const TrainRun& run) {
    const TrainConfig& c = run.model.config;
    const RunOptions& o = run.opt;
    const char* arch = train_arch_name(c.arch);
    const std::string& kind = run.tokenizer_kind;
    const std::string tokenizer = !run.resume_path.empty()        ? "from the checkpoint"
                                  : !run.init_path.empty()        ? "from --init"
                                  : kind == "char"                ? "char"
                                  : kind.empty() && run.task_name != "lm" ? "WordPiece trained on the corpus"
                                  : kind.empty() || kind == "bpe" ? "byte-level BPE trained on the corpus"
                                                                  : kind;
    const std::string labels = run.labels.empty() ? "" : ", " + std::to_string(run.labels.size()) + " labels";
    const std::string documents =
        run.separator.empty() ? "" : ", " + std::to_string(run.documents) + " documents, each ending with end-of-text";
    if (run.n_examples)
        std::printf("train %s: %zu %s, dev %s, vocab %d (%s)%s\n", run.corpus_path.c_str(), run.n_examples,
                    run.task_name == "qa" ? "questions" : "examples", run.dev_path.c_str(), run.n_vocab,
                    tokenizer.c_str(), labels.c_str());
    else
        std::printf("corpus %s: %zu bytes, %zu tokens (train %zu, val %zu), vocab %d (%s)%s\n", run.corpus_path.c_str(),
                    run.corpus_bytes, run.tokens.size(), run.split.train.size(), run.split.val.size(), run.n_vocab,
                    tokenizer.c_str(), documents.c_str());
    std::printf(
        "model %s%s: %.3fM parameters, dim %d, layers %d, heads %d/%d, hidden %d, ctx %lld%s\n", arch,
        c.arch != TrainArch::bert          ? ""
        : c.head == BertHead::mlm          ? " (masked-LM)"
        : c.head == BertHead::qa           ? " (span head)"
                                           : " (classifier)",
        run.model.params.size() / 1e6, c.dim, c.n_layers, c.n_heads, c.n_kv_heads, c.hidden_dim, (long long)o.ctx,
        (run.resume_path.empty() ? std::string() : ", resumed at step " + std::to_string(run.start_step)).c_str());
    std::printf(
        "batch %lld x %lld accum, %lld iters, lr %g -> %g, warmup %lld, wd %g, betas %g %g, clip %g, dropout %g, %d "
        "threads\n",
        (long long)o.batch, (long long)o.accum, (long long)o.iters, o.lr, o.min_lr, (long long)o.warmup, o.weight_decay,
        o.beta1, o.beta2, o.clip, o.dropout, run.threads);
    std::fflush(stdout);
}

// The run state a checkpoint carries next to the model: the tokenizer, the options, the step and
// the batch generator.
Metadata run_metadata(const TrainRun& r, int step) {
    const RunOptions& o = r.opt;
    const Rng& rng = r.rng;
    const size_t corpus_tokens = r.fine_tuning() ? r.n_examples : r.tokens.size();
    Metadata run;
    train_tokenizer_metadata(r.tokenizer_meta, run);
    run.set("train.task", Value::of_string(r.task_name));
    if (!r.dev_path.empty()) run.set("train.dev", Value::of_string(r.dev_path));
    if (!r.text_column.empty()) run.set("train.text_column", Value::of_string(r.text_column));
    if (!r.label_column.empty()) run.set("train.label_column", Value::of_string(r.label_column));
    if (r.doc_stride >= 0) run.set("train.doc_stride", Value::of_int(ValueType::I64, r.doc_stride));
    if (!r.separator.empty()) run.set("train.separator", Value::of_string(r.separator));
    if (!r.labels.empty()) run.set("train.labels", Value::of_strings(r.labels));
    if (r.keep_best) run.set("train.keep_best", Value::of_bool(true));
    if (r.best_step >= 0) {
        run.set("train.best_step", Value::of_int(ValueType::I64, r.best_step));
        run.set("train.best_score", Value::of_float(ValueType::F64, r.best_score));
    }
    auto i64 = [](int64_t v) { return Value::of_int(ValueType::I64, v); };
    auto f64 = [](double v) { return Value::of_float(ValueType::F64, v); };
    const std::pair<const char*, int64_t> ints[] = {
        {"batch", o.batch},           {"ctx", o.ctx},   {"iters", o.iters}, {"warmup", o.warmup},
        {"accum", o.accum},           {"eval_every", o.eval_every},         {"eval_batches", o.eval_batches},
        {"save_every", o.save_every}, {"seed", o.seed}, {"step", step},     {"corpus_tokens", (int64_t)corpus_tokens}};
    for (const auto& [key, value] : ints) run.set(std::string("train.") + key, i64(value));
    const std::pair<const char*, double> floats[] = {
        {"lr", o.lr},       {"min_lr", o.min_lr}, {"weight_decay", o.weight_decay},
        {"beta1", o.beta1}, {"beta2", o.beta2},   {"clip", o.clip},     {"dropout", o.dropout}};
    for (const auto& [key, value] : floats) run.set(std::string("train.") + key, f64(value));
    run.set("train.rng", Value::of_int(ValueType::U64, static_cast<int64_t>(rng.state)));
    return run;
}

// The gradient of one step's loss, averaged over --accum micro-batches and clipped; returns the
// loss, and the gradient norm before clipping in `norm`.
// `tokens` counts the positions (padding included) the step ran.
double forward_backward(TrainRun& run, std::vector<int>& inputs, std::vector<int>& targets, float& norm,
                        double& tokens) {
    TrainModel& model = run.model;
    const int64_t accum = run.opt.accum;
    train_zero_grad(model);
    double loss = 0;
    for (int micro = 0; micro < accum; ++micro) {
        if (run.task) {
            BertBatch batch = run.task->next_batch(run.rng);
            batch.dropout = static_cast<float>(run.opt.dropout);
            if (batch.dropout > 0) batch.dropout_seed = run.rng.next();
            loss += bert_forward(model, batch);
            tokens += (double)model.batch_B * model.batch_T;
        } else {
            tokens += (double)model.B * model.T;
            sample_batch(run.split.train, model.B, model.T, run.rng, inputs.data(), targets.data());
            loss += train_forward(model, inputs.data(), targets.data());
        }
        train_backward(model, 1.0f / static_cast<float>(accum));
    }
    norm = train_clip_grad_norm(model, static_cast<float>(run.opt.clip));
    return loss / static_cast<double>(accum);
}

// The steps from run.start_step to the end (or an interruption: returns its exit status).
int train_steps(TrainRun& run) {
    const RunOptions& o = run.opt;
    TrainModel& model = run.model;
    const int B = model.B, T = model.T, iters = static_cast<int>(o.iters);
    const LrSchedule schedule{static_cast<float>(o.lr), static_cast<float>(o.min_lr), static_cast<int>(o.warmup),
                              iters};
    AdamWConfig adam;
    adam.beta1 = static_cast<float>(o.beta1), adam.beta2 = static_cast<float>(o.beta2);
    adam.weight_decay = static_cast<float>(o.weight_decay);
    const std::string title = "lm train " + files::filename(run.corpus_path);
    TrainLog log(run.csv_path, run.start_step);
    const bool progress = !run.quiet && isatty(STDERR_FILENO);
    int last_saved = run.resume_path.empty() ? -1 : run.start_step;
    auto save = [&](int step) {
        try {
            train_save_checkpoint(run.ckpt_path, model, run_metadata(run, step));
        } catch (const Error& e) {
            fail("step ", step, ": ", e.what(), "; ",
                 last_saved >= 0 ? run.ckpt_path + " still holds step " + std::to_string(last_saved)
                                 : std::string("no checkpoint was written"));
        }
        last_saved = step;
    };
    double last_val = -1;
    std::string last_eval;
    const std::vector<std::string>& labels = run.labels;
    // The validation loss (and the task's metric); with --keep-best OUT.gguf follows the best one.
    auto validate = [&](int step) {
        if (!run.task) {
            last_val = evaluate_loss(model, run.split.val, static_cast<int>(o.eval_batches));
            char line[48];
            std::snprintf(line, sizeof line, "val loss %.4f", last_val);
            last_eval = line;
            return last_val;
        }
        const TaskEval e = run.task->evaluate(model);
        last_val = e.loss, last_eval = e.line;
        if (run.keep_best && e.score > run.best_score) {
            run.best_score = e.score, run.best_step = step;
            train_write_gguf(run.out_path, model, run.tokenizer_meta, title, run.out_type, labels);
        }
        return last_val;
    };
    if (run.start_step == 0 && o.eval_every > 0) {
        TrainLogRow row;
        row.loss = run.task ? -1 : evaluate_loss(model, run.split.train, static_cast<int>(o.eval_batches));
        row.val_loss = validate(0);
        if (!run.task) log.add(row);
        write_loss_plot(run.svg_path, log.rows(), title);
        if (run.task) std::printf("step 0/%d | %s\n", iters, last_eval.c_str());
        else std::printf("step 0/%d | loss %.4f | val loss %.4f\n", iters, row.loss, row.val_loss);
        std::fflush(stdout);
    }

    std::vector<int> inputs((size_t)B * T), targets((size_t)B * T);
    const auto started = std::chrono::steady_clock::now();
    double train_seconds = 0, last_draw = -1, tokens = 0;
    for (int step = run.start_step; step < iters; ++step) {
        if (g_interrupted || (run.stop_after && step - run.start_step >= run.stop_after)) {
            if (progress) std::fputs("\r\033[K", stderr);  // clear the bar
            save(step);
            std::printf("%s at step %d: checkpoint %s (continue with --resume %s)\n",
                        g_interrupted ? "interrupted" : "stopped", step, run.ckpt_path.c_str(), run.ckpt_path.c_str());
            return g_interrupted ? 130 : 0;
        }
        const auto t0 = std::chrono::steady_clock::now();
        float norm = 0;
        const double loss = forward_backward(run, inputs, targets, norm, tokens);
        if (!std::isfinite(loss) || !std::isfinite(norm)) {
            if (progress) std::fputs("\r\033[K", stderr);  // clear the bar
            std::fflush(stdout);
            fail("step ", step + 1, ": the loss or its gradient is not finite (loss ", loss, ", gradient norm ", norm,
                 "), training stopped; ",
                 last_saved >= 0
                     ? "the last good checkpoint is " + run.ckpt_path + " at step " + std::to_string(last_saved)
                     : std::string("no checkpoint was written yet (--save-every)"));
        }
        const float lr = learning_rate(schedule, step);
        train_adamw_step(model, adam, lr);
        train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

        const int done = step + 1, steps_run = done - run.start_step;
        TrainLogRow row;
        row.step = done, row.loss = loss, row.lr = lr;
        row.tokens_per_second = tokens / train_seconds;
        row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const double eta = (iters - done) * train_seconds / steps_run;
        const bool eval_now = done == iters || (o.eval_every > 0 && done % o.eval_every == 0);
        if (eval_now) row.val_loss = validate(done);
        log.add(row);
        if (eval_now) {
            write_loss_plot(run.svg_path, log.rows(), title);
            if (progress) std::fputs("\r\033[K", stderr);  // clear the bar
            std::printf("%s\n", status_line(row, iters, last_eval, eta).c_str());
            std::fflush(stdout);
        }
        if (o.save_every > 0 && done % o.save_every == 0) save(done);
        if (progress && (row.seconds - last_draw > 0.1 || done == iters)) {  // at most 10 redraws a second
            draw_progress(status_line(row, iters, last_eval, eta), done, iters);
            last_draw = row.seconds;
        }
    }
    if (progress) std::fputs("\r\033[K", stderr);  // clear the bar
    if (last_eval.empty()) validate(iters);        // a resumed run that had nothing left to do
    std::printf("%s\n", last_eval.c_str());
    if (o.save_every > 0 && last_saved != iters) save(iters);  // to continue with more --iters later
    if (model.config.arch == TrainArch::rnn) {
        if (last_saved != iters) save(iters);
        std::printf("wrote %s (an RNN has no GGUF layout: the checkpoint is the model), %s, %s\n",
                    run.ckpt_path.c_str(), run.csv_path.c_str(), run.svg_path.c_str());
        return 0;
    }
    std::string kept;
    if (run.best_step >= 0)
        kept = " with the weights of step " + std::to_string(run.best_step) + ", the best on --dev";
    else train_write_gguf(run.out_path, model, run.tokenizer_meta, title, run.out_type, labels);
    std::printf("wrote %s (%s%s), %s, %s%s\n", run.out_path.c_str(), dtype_name(run.out_type), kept.c_str(),
                run.csv_path.c_str(), run.svg_path.c_str(), last_saved == iters ? (", " + run.ckpt_path).c_str() : "");
    return 0;
}

}  // namespace

int cmd_train(Args& args) {
    g_interrupted = 0;
    struct sigaction action = {};
    action.sa_handler = on_interrupt;
    action.sa_flags = SA_RESETHAND;  // a second Ctrl-C stops at once
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);  // Ctrl-C: finish the step, write a checkpoint, exit

    TrainRun run;
    parse_flags(args, run);
    check_writable(run.out_path);
    omp_set_num_threads(run.threads);
    prepare_tokens(run);
    prepare_model(run);
    if (g_interrupted && run.resume_path.empty()) fail("interrupted before the first step, nothing to save");
    print_summary(run);
    return train_steps(run);
}

}  // namespace lm
