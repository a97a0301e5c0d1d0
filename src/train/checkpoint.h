// Training checkpoints as GGUF files: the model config and run state as metadata, and three F32
// tensors per parameter tensor, NAME, adam_m.NAME and adam_v.NAME (lm's internal names, so the
// RNN is covered too). Written through write_gguf (temporary file + rename: a crash never
// leaves a partial checkpoint); train.checksum over every tensor byte catches a corrupted file.
#pragma once
#include <string>

#include "src/train/model.h"
#include "weights/metadata.h"

namespace lm {

// `run` holds the caller's state (step, data position, generator, tokenizer ...); its keys are
// stored as given and must not start with "lmtrain.".
void train_save_checkpoint(const std::string& path, const TrainModel& model, const Metadata& run);

// Allocates `model` for B x T from the checkpoint's config and restores parameters, AdamW
// moments and step count; returns the caller's metadata. Throws lm::Error naming the file
// when it is not a checkpoint, is truncated or corrupted, or disagrees with itself.
Metadata train_load_checkpoint(const std::string& path, TrainModel& model, int B, int T);

}  // namespace lm
