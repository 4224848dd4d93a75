// Decoder: runs SmallThinker's forward pass one token at a time over a KV cache.
//
// Forward() reads like the paper (spec §4): for each layer, the router on the raw layer input
// picks the experts first (the prefetch point), then attention, then the sparse ReGLU experts;
// finally the norm and the LM head. One helper per block, each in its own file.
//
// Thread-compatible: one Decoder per conversation; it owns its KV cache and scratch buffers and
// borrows the immutable Model.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/kernel_table.h"
#include "model/model.h"
#include "offload/expert_source.h"
#include "offload/memory_plan.h"
#include "offload/offloaded_experts.h"
#include "runtime/kv_cache.h"
#include "runtime/router.h"
#include "smallthinker/status.h"
#include "util/thread_pool.h"

namespace st {

struct DecoderOptions {
  uint32_t n_ctx = 4096;         // context length; 0 = the model's training context
  KvType kv_type = KvType::kF16;
  int n_threads = 1;
  // --memory-limit in bytes (0 = none). When the model does not fit, experts are offloaded: read
  // from disk into a cache of what the budget leaves after the resident parts (memory_plan.h).
  uint64_t memory_limit = 0;
  OffloadOptions offload;        // cache policy, reader, expert file (cache_bytes comes from the plan)
  bool lookahead = true;         // offloaded: also prefetch the next layer's likely experts
  // Forces offloading with a cache of this many experts, whatever the budget (ablations, tests);
  // 0 = decide from memory_limit.
  uint64_t expert_cache_experts = 0;
};

// Running counters, for reports and benchmarks.
struct DecoderStats {
  uint64_t tokens = 0;
  uint64_t expert_neurons = 0;         // neurons of selected experts evaluated (gate rows)
  uint64_t expert_neurons_active = 0;  // of which ReLU(gate) > 0
  uint64_t lm_head_rows = 0;           // LM-head rows computed
};

class Decoder {
 public:
  static Result<std::unique_ptr<Decoder>> Create(const Model& model, const DecoderOptions& options);

  // Evaluates `token` at position `pos` and returns the logits [V] (valid until the next call).
  // Positions 0..pos-1 must have been evaluated already; evaluating pos forgets any later ones
  // (so pos = 0 starts a new sequence, and a smaller pos rewinds). Errors: token out of range,
  // context full.
  Result<const float*> Forward(int32_t token, uint32_t pos);

  const ModelConfig& config() const { return config_; }
  const KvCache& kv_cache() const { return kv_; }
  const DecoderStats& stats() const { return stats_; }
  uint32_t n_ctx() const { return kv_.n_ctx(); }
  const KernelTable& kernels() const { return kernels_; }
  const MemoryPlan& memory_plan() const { return plan_; }
  const ExpertSource& experts() const { return *experts_; }

 private:
  Decoder(const Model& model, const DecoderOptions& options, uint32_t n_ctx);
  Status Plan(const DecoderOptions& options);

  // The blocks of one layer, in the order Forward calls them.
  void Route(uint32_t il);                 // router.cc:  x -> selection_
  void PrefetchExperts(uint32_t il);       // the prefetch point (experts are known before attention)
  void Attention(uint32_t il, uint32_t pos);  // attention.cc: x += Attn(RMSNorm(x))
  Status MoeFfn(uint32_t il);              // moe_ffn.cc: x += sum_j w_j * Expert_j(RMSNorm(x))
  void LmHead();                           // lm_head.cc: logits_ = W_out · RMSNorm(x)

  const Model& model_;
  const ModelConfig& config_;
  const ModelWeights& w_;
  const KernelTable& kernels_;
  std::unique_ptr<ThreadPool> pool_;
  KvCache kv_;
  DecoderStats stats_;
  MemoryPlan plan_;
  std::unique_ptr<ExpertSource> experts_;
  bool lookahead_ = false;
  ExpertSelection lookahead_selection_;  // the next layer's likely experts

  // Scratch, sized once. Shapes in the glossary of model_config.h.
  std::vector<float> x_;          // [E] residual stream
  std::vector<float> xn_;         // [E] normalized input of the current block
  std::vector<float> q_;          // [H]
  std::vector<float> k_;          // [K]
  std::vector<float> v_;          // [Kv]
  std::vector<float> attn_;       // [Hv] concatenated head outputs
  std::vector<float> scores_;     // [n_head][n_ctx] attention scores
  std::vector<float> kbuf_;       // [K] one cached key position, as f32
  std::vector<float> vbuf_;       // [Kv] one cached value position, as f32
  std::vector<float> rope_cos_;   // [Dh/2]
  std::vector<float> rope_sin_;   // [Dh/2]
  std::vector<float> router_logits_;  // [X]
  ExpertSelection selection_;         // [k] experts and weights of the current layer
  std::vector<float> gate_;       // [F]
  std::vector<float> up_;         // [F]
  std::vector<float> hidden_;     // [F] ReLU(gate) * up
  std::vector<float> expert_out_; // [E]
  std::vector<float> moe_out_;    // [E]
  std::vector<float> logits_;     // [V]
};

}  // namespace st
