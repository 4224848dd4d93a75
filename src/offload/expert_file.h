// The expert file: every expert of a model laid out for fast reads — one contiguous block per
// expert (gate, up, down, each padded to 4 KiB), blocks in layer-major order after a 4 KiB header.
// One aligned read fetches a whole expert. Written once (by `smallthinker-experts` or on the first
// run with --expert-file), validated against the model on every open.
//
// Header (little-endian): magic "STEXPRT1", u32 version (1), u32 n_layer, u32 n_expert,
// u64 matrix_bytes[3], u64 block_bytes, u64 data_offset (4096), u64 model file size,
// u64 fingerprint (FNV-1a of the model's expert tensor directory and first data bytes).
#pragma once

#include <string>

#include "model/model.h"
#include "offload/expert_layout.h"
#include "smallthinker/status.h"

namespace st {

// Writes the expert file for `model` to `path` (through a temporary file renamed at the end).
Status WriteExpertFile(const Model& model, const std::string& path);

// Checks `path` against the model and returns the offset of its first block. Errors say what
// differs (another model, a truncated file, a different version).
Result<uint64_t> ValidateExpertFile(const Model& model, const ExpertLayout& layout, const std::string& path);

}  // namespace st
