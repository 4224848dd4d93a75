// ModelWeights: typed, shape-checked views of every SmallThinker tensor in a GgufFile.
//
// Views point into the file mapping; they are valid as long as the Model that owns the file.
// Binding checks every tensor's presence, type and shape against the config and names the tensor
// in any error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "format/gguf_file.h"
#include "kernels/ggml_type.h"
#include "model/model_config.h"
#include "smallthinker/status.h"

namespace st {

// A 2-D weight matrix: `rows` rows of `cols` elements, row r at data + r * row_bytes.
struct WeightMatrix {
  GgmlType type = GgmlType::kF32;
  int64_t cols = 0;            // elements per row (the input dimension)
  int64_t rows = 0;            // output dimension
  uint64_t row_bytes = 0;
  const uint8_t* data = nullptr;
  uint64_t file_offset = 0;    // absolute offset of data in the model file

  const uint8_t* Row(int64_t r) const { return data + static_cast<uint64_t>(r) * row_bytes; }
  uint64_t bytes() const { return row_bytes * static_cast<uint64_t>(rows); }
};

// X matrices of identical shape stacked along the slowest dimension (ffn_*_exps).
struct ExpertStack {
  GgmlType type = GgmlType::kF32;
  int64_t cols = 0;
  int64_t rows = 0;
  int64_t count = 0;           // X
  uint64_t row_bytes = 0;
  const uint8_t* data = nullptr;
  uint64_t file_offset = 0;

  uint64_t expert_bytes() const { return row_bytes * static_cast<uint64_t>(rows); }
  WeightMatrix Expert(int64_t x) const {
    return WeightMatrix{type, cols, rows, row_bytes, data + static_cast<uint64_t>(x) * expert_bytes(),
                        file_offset + static_cast<uint64_t>(x) * expert_bytes()};
  }
};

// The down projection's layout. Normal: ne {F, E, X} (E rows of F, y = Down · h). Transposed
// (FORK .powerinfer.gguf): ne {E, F, X} (F rows of E, y = sum_n h[n] * DownT[n]).
enum class DownLayout { kNormal, kTransposed };

struct LayerWeights {
  std::vector<float> attn_norm;  // [E] (converted to f32 at load)
  WeightMatrix attn_q;           // rows H,  cols E
  WeightMatrix attn_k;           // rows K,  cols E
  WeightMatrix attn_v;           // rows Kv, cols E
  WeightMatrix attn_output;      // rows E,  cols Hv
  std::vector<float> ffn_norm;   // [E]
  WeightMatrix router;           // rows X,  cols E (ffn_gate_inp; a float type, never quantized)
  ExpertStack gate_exps;         // X x (rows F, cols E)
  ExpertStack up_exps;           // X x (rows F, cols E)
  ExpertStack down_exps;         // normal: X x (rows E, cols F); transposed: X x (rows F, cols E)
};

// The LM-head predictor of spec §5.2: z = W1 · x (P), s = W2 · z (V); row v is computed iff s_v > 0.
struct LmHeadPredictor {
  WeightMatrix w1;  // rows P, cols E
  WeightMatrix w2;  // rows V, cols P
};

struct ModelWeights {
  WeightMatrix token_embd;                  // rows V, cols E
  std::vector<float> output_norm;           // [E]
  WeightMatrix output;                      // rows V, cols E (token_embd when tied)
  bool tied_output = false;
  std::optional<LmHeadPredictor> predictor;
  DownLayout down_layout = DownLayout::kNormal;
  std::vector<LayerWeights> layers;
};

// Binds and checks all tensors. Unknown extra tensors are reported in `warnings`, not errors.
Result<ModelWeights> BindModelWeights(const GgufFile& file, const ModelConfig& config,
                                      std::vector<std::string>* warnings);

}  // namespace st
