// ModelConfig: the hyperparameters of a SmallThinker model, read from GGUF metadata and checked.
//
// Dimension glossary (used in shape comments throughout the engine):
//   E  = embedding_length (hidden size)          V  = vocabulary size (rows of token_embd)
//   Dh = attention.key_length (head dim)          Dv = attention.value_length
//   H  = n_head * Dh (query width)                K  = n_head_kv * Dh (key width)
//   Hv = n_head * Dv (attention output width)     Kv = n_head_kv * Dv (value width)
//   F  = expert_feed_forward_length               X  = expert_count      k = expert_used_count
// GGUF shapes are written fastest-varying first: a PyTorch weight [out, in] is ne {in, out}.
#pragma once

#include <cstdint>
#include <string>

#include "format/gguf_file.h"
#include "smallthinker/status.h"

namespace st {

enum class RouterGating { kSoftmax, kSigmoid };
// What the user asked for with --router-gating.
enum class GatingOverride { kAuto, kSoftmax, kSigmoid };

const char* RouterGatingName(RouterGating g);

struct ModelConfig {
  std::string arch;               // "smallthinker"
  std::string name;               // general.name, if present
  uint32_t n_layer = 0;
  uint32_t n_ctx_train = 0;
  uint32_t n_embd = 0;            // E
  uint32_t n_ff_exp = 0;          // F
  uint32_t n_head = 0;
  uint32_t n_head_kv = 0;
  uint32_t head_dim = 0;          // Dh
  uint32_t value_dim = 0;         // Dv
  uint32_t n_expert = 0;          // X
  uint32_t n_expert_used = 0;     // k
  uint32_t n_vocab = 0;           // V, from token_embd's shape
  float rope_freq_base = 10000.0f;
  float rms_eps = 1e-6f;
  uint32_t sliding_window = 0;    // 0: no sliding layers
  RouterGating gating = RouterGating::kSigmoid;
  bool gating_in_file = false;    // expert_gating_func was present

  uint32_t q_dim() const { return n_head * head_dim; }       // H
  uint32_t k_dim() const { return n_head_kv * head_dim; }    // K
  uint32_t v_dim() const { return n_head_kv * value_dim; }   // Kv
  uint32_t attn_out_dim() const { return n_head * value_dim; }  // Hv
  // With a sliding window, layers il % 4 == 0 are NoPE + global, the others RoPE + sliding.
  // Without one, every layer is RoPE + global.
  bool IsSlidingLayer(uint32_t il) const { return sliding_window > 0 && il % 4 != 0; }
  bool UsesRope(uint32_t il) const { return sliding_window == 0 || il % 4 != 0; }

  // One line per fact, for -v and the model dump.
  std::string Describe() const;
};

// Reads and validates the `smallthinker.*` hyperparameters. `override` forces the router gating.
Result<ModelConfig> ReadModelConfig(const GgufFile& file, GatingOverride override = GatingOverride::kAuto);

}  // namespace st
