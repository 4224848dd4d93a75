// ModelGenerator: writes synthetic SmallThinker GGUF files of any shape, deterministically from a
// seed, in every layout variant and weight type the engine loads.
//
// Random weights, but with the structure later work needs:
//  * a constant "bias channel": embedding dimension 0 holds the same value c for every token, and
//    no layer writes to it (row 0 of attn_output and of every down projection is zero), so x[0] = c
//    at every layer. Weights that read dimension 0 then act as biases;
//  * ReGLU sparsity: gate rows get a bias through the channel so that a chosen fraction of neurons
//    has gate <= 0;
//  * expert popularity skew: router rows get biases so that a quarter of the experts of each layer
//    are "hot" (chosen on a target fraction of tokens) and the rest are rarely chosen, as in the
//    paper's Figure 4 (70-80% of experts on < 14% of tokens, 20-30% on 40-60%);
//  * a meaningful LM-head predictor: the output matrix is low-rank plus noise, and the profiler
//    holds that low-rank factorization with a threshold (through the bias channel) so that it
//    selects the rows with the largest logits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/ggml_type.h"
#include "model/model_weights.h"
#include "smallthinker/status.h"
#include "text/vocab.h"

namespace st {

enum class GatingKey { kAbsent, kSoftmax, kSigmoid };

struct GeneratorSpec {
  // Shape (see the glossary in src/model/model_config.h).
  uint32_t n_layer = 8;
  uint32_t n_embd = 64;        // E
  uint32_t n_ff_exp = 96;      // F
  uint32_t n_head = 4;
  uint32_t n_head_kv = 2;
  uint32_t head_dim = 16;      // Dh = Dv
  uint32_t n_expert = 8;       // X
  uint32_t n_expert_used = 2;  // k
  uint32_t n_vocab = 0;        // V; 0 = the vocabulary's size
  uint32_t n_ctx = 512;
  float rope_theta = 10000.0f;
  float rms_eps = 1e-6f;
  uint32_t sliding_window = 0;  // 0 = key absent (every layer RoPE + global)
  GatingKey gating = GatingKey::kSigmoid;

  // Layout variants.
  GgmlType weight_type = GgmlType::kF32;  // attention, experts, embeddings, output, profiler
  bool tied_output = true;
  DownLayout down_layout = DownLayout::kNormal;
  uint32_t profiler_rank = 0;  // P; 0 = no lm_head_profiler

  // Structure knobs.
  uint64_t seed = 1;
  float sparsity = 0.5f;        // target fraction of ReGLU neurons with gate <= 0 (0.5 = no bias)
  float hot_expert_rate = 0.0f;  // target firing rate of the hot quarter of experts (0 = uniform)
  float profiler_select = 0.05f;  // target fraction of vocabulary rows the predictor selects

  // Vocabulary: a vocab-only (or any) GGUF whose tokenizer keys are copied; empty = built-in tiny
  // byte-level BPE vocabulary. Padded with "[PAD<i>]" to n_vocab when that is larger.
  std::string vocab_gguf;
  std::string name = "synthetic";
};

// Named shapes: "tiny" (tests), "4b" (SmallThinker-4BA0.6B), "21b" (SmallThinker-21BA3B).
Result<GeneratorSpec> PresetSpec(const std::string& preset);

// The built-in tiny vocabulary: 256 byte tokens, merges learned from a built-in English text,
// the ChatML special tokens; `n_tokens` in total (>= 259 + merges wanted).
Vocab TinyVocab(uint32_t n_tokens);

// Writes the model to `path`. Uses `n_threads` threads; the file is identical for any count.
Status GenerateModel(const GeneratorSpec& spec, const std::string& path, int n_threads);

}  // namespace st
