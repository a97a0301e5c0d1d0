// Between a TrainModel and model files: the trained parameters as tensor views under the
// names and shapes llama.cpp (and lm's own src/models/llama, src/models/gpt2) read, the architecture
// metadata that goes with them, and loading such a file's weights back for fine-tuning.
// The packed layouts of model.h split without copying: wq | wk | wv are consecutive
// row blocks of qkvw, w1 (ffn_gate) | w3 (ffn_up) of fcw.
#pragma once
#include <string>
#include <vector>

#include "src/models/config.h"
#include "src/train/model.h"
#include "weights/metadata.h"
#include "weights/model_file.h"

namespace lm {

// F32 views into model.params, in file order. Throws for the RNN, which no GGUF reader runs.
std::vector<Tensor> train_tensor_views(const TrainModel& model);

// general.architecture and the ARCH.* hyperparameter keys (not the tokenizer's).
void train_architecture_metadata(const TrainModel& model, Metadata& meta);

// Copies the tokenizer.ggml.* keys of `tokenizer` (a Tokenizer's metadata: trained by
// tokenizer/bpe_train, or read from the file being fine-tuned) into meta.
void train_tokenizer_metadata(const Metadata& tokenizer, Metadata& meta);

// Writes the model as a standard GGUF (architecture and tokenizer metadata, general.name
// `name`) through write_gguf (atomic). type F32, or F16 for the matrices and embeddings,
// norms and biases staying F32 as llama.cpp's converter stores them. A BERT classifier's
// label names go to bert.classifier.output_labels.
void train_write_gguf(const std::string& path, const TrainModel& model, const Metadata& tokenizer,
                      const std::string& name, DType type, const std::vector<std::string>& labels = {});

// The training config of a llama, gpt2 or bert file (read_config; tied when it has no
// output.weight; a bert's head from its head tensors, masked-LM when it has none), for
// fine-tuning it.
TrainConfig train_config_from(const ModelFile& file);

// Copies (dequantizing as needed) every tensor of train_tensor_views from the file into
// model.params. Throws naming the file and tensor when one is missing or has another shape;
// a bert's classifier or span head may be missing (fine-tuning adds it).
void train_load_weights(TrainModel& model, const ModelFile& file);

}  // namespace lm
