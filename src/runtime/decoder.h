// Decoder: runs SmallThinker's forward pass over a KV cache.
//
// Forward() evaluates one token and reads like the paper (spec §4): for each layer, the router on
// the raw layer input picks the experts first (the prefetch point), then attention, then the sparse
// ReGLU experts; finally the norm and the (predicted) LM head. One helper per block, each in its
// own file. Prefill() evaluates a prompt in batches with the same arithmetic (prefill.cc): its
// logits are bit-identical to calling Forward() token by token.
//
// Threads split every step by output rows, heads, tokens or block-aligned column ranges, never
// inside one reduction, so results do not depend on the thread count.
//
// Thread-compatible: one Decoder per conversation; it owns its KV cache and scratch buffers and
// borrows the immutable Model.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
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

// Which LM head runs for generated tokens. kExact: every vocabulary row. kPredicted: the
// lm_head_profiler's low-rank predictor picks the rows (spec §5.2); unselected logits are -inf, so
// sampling never picks them. Positions whose full distribution is needed (Prefill with all logits,
// perplexity, --dump-logits) always use the exact head.
enum class LmHeadMode { kExact, kPredicted };

struct DecoderOptions {
  uint32_t n_ctx = 4096;         // context length; 0 = the model's training context
  KvType kv_type = KvType::kF16;
  int n_threads = 1;
  // Steps that stream fewer weight bytes than this run on one thread (tests use 0 to split all).
  uint64_t min_parallel_bytes = ThreadPool::kDefaultMinParallelBytes;
  uint32_t batch_size = 256;     // prompt tokens per batch in Prefill (-ub)
  // Predicted when the file has a profiler, unless exact is asked for.
  bool exact_lm_head = false;
  // Compute every up and down row of the selected experts instead of only the active neurons'
  // (the dense baseline the sparse kernels are measured against; same logits).
  bool dense_experts = false;
  // --memory-limit in bytes (0 = none). When the model does not fit, experts are offloaded: read
  // from disk into a cache of what the budget leaves after the resident parts (memory_plan.h).
  uint64_t memory_limit = 0;
  OffloadOptions offload;        // cache policy, reader, expert file (cache_bytes comes from the plan)
  bool lookahead = true;         // offloaded: also prefetch the next layer's likely experts
  // Offloaded: start expert reads at the prefetch point (before attention, the paper's design) or
  // only when the experts are needed (after attention: no overlap; the ablation baseline).
  bool prefetch = true;
  // Forces offloading with a cache of this many experts, whatever the budget (ablations, tests);
  // 0 = decide from memory_limit.
  uint64_t expert_cache_experts = 0;
};

// Running counters, for reports and benchmarks.
struct DecoderStats {
  uint64_t tokens = 0;                 // positions evaluated
  uint64_t expert_neurons = 0;         // neurons of selected experts evaluated (gate rows)
  uint64_t expert_neurons_active = 0;  // of which ReLU(gate) > 0
  uint64_t lm_head_calls = 0;          // LM heads computed
  uint64_t lm_head_rows = 0;           // vocabulary rows computed by them
  uint64_t lm_head_selected = 0;       // rows the predictor selected (predicted heads only)
  uint64_t lm_head_fallbacks = 0;      // predicted heads that selected nothing and ran exact
  uint64_t weight_bytes = 0;           // weight bytes the kernels read (rows actually used)
};

class Decoder {
 public:
  static Result<std::unique_ptr<Decoder>> Create(const Model& model, const DecoderOptions& options);
  ~Decoder();

  // Evaluates `token` at position `pos` and returns the logits [V] (valid until the next call), or
  // nullptr when `want_logits` is false (a prompt token whose prediction nobody reads).
  // Positions 0..pos-1 must have been evaluated already; evaluating pos forgets any later ones
  // (so pos = 0 starts a new sequence, and a smaller pos rewinds). Errors: token out of range,
  // context full, an expert read that failed.
  Result<const float*> Forward(int32_t token, uint32_t pos, bool want_logits = true);

  // Evaluates tokens at positions pos0, pos0+1, ... in batches of batch_size and returns the logits
  // of the last one ([V], exact head). With `all_logits`, also appends every position's logits
  // ([n][V], exact head) to it.
  Result<const float*> Prefill(std::span<const int32_t> tokens, uint32_t pos0, std::vector<float>* all_logits = nullptr);

  LmHeadMode lm_head_mode() const { return lm_head_mode_; }
  const ModelConfig& config() const { return config_; }
  const KvCache& kv_cache() const { return kv_; }
  const DecoderStats& stats() const { return stats_; }
  uint32_t n_ctx() const { return kv_.n_ctx(); }
  int n_threads() const { return pool_->size(); }
  const KernelTable& kernels() const { return kernels_; }
  const MemoryPlan& memory_plan() const { return plan_; }
  const ExpertSource& experts() const { return *experts_; }

 private:
  struct BatchState;  // prefill.cc

  Decoder(const Model& model, const DecoderOptions& options, uint32_t n_ctx);
  Status Plan(const DecoderOptions& options);
  Status CheckTokenAndPosition(int32_t token, uint32_t pos) const;

  // The blocks of one layer, in the order Forward calls them.
  void Route(uint32_t il);                    // decoder.cc: x -> selection_
  void PrefetchExperts(uint32_t il);          // decoder.cc: the prefetch point, before attention
  void Attention(uint32_t il, uint32_t pos);  // attention.cc: x += Attn(RMSNorm(x))
  Status MoeFfn(uint32_t il);                 // moe_ffn.cc: x += sum_j w_j * Expert_j(RMSNorm(x))
  void LmHead(LmHeadMode mode);               // lm_head.cc: logits_ = W_out · RMSNorm(x)

  // Shared by Forward and Prefill (attention.cc): q [H] rotated, the cache holding positions up to
  // pos; writes the head outputs out [Hv] for heads [h0, h1). scores: [n_ctx] scratch.
  void AttendHeads(uint32_t il, uint32_t pos, const float* q, int64_t h0, int64_t h1, float* scores, float* out) const;
  // Applies RoPE (on RoPE layers) to q [H] and k [K] of position pos.
  void RotateQK(uint32_t il, uint32_t pos, float* q, float* k) const;
  // The LM head over `x_normed` [E] into logits [V] with the exact or predicted rows (lm_head.cc).
  void ComputeLmHead(const float* x_normed, LmHeadMode mode, float* logits);

  const Model& model_;
  const ModelConfig& config_;
  const ModelWeights& w_;
  const KernelTable& kernels_;
  std::unique_ptr<ThreadPool> pool_;
  KvCache kv_;
  DecoderStats stats_;
  MemoryPlan plan_;
  std::unique_ptr<ExpertSource> experts_;
  LmHeadMode lm_head_mode_ = LmHeadMode::kExact;
  uint32_t batch_size_;
  bool dense_experts_ = false;
  bool prefetch_ = true;
  bool lookahead_ = false;
  ExpertSelection selection_;            // [k] experts and weights of the current layer
  ExpertSelection lookahead_selection_;  // the next layer's likely experts

  // Scratch, sized once. Shapes in the glossary of model_config.h.
  std::vector<float> x_;          // [E] residual stream
  std::vector<float> xn_;         // [E] normalized input of the current block
  std::vector<float> qkv_;        // [H + K + Kv] q, k, v of the current token
  std::vector<float> attn_;       // [Hv] concatenated head outputs
  std::vector<float> proj_;       // [E] attention output projection
  std::vector<float> scores_;     // [threads][n_ctx] attention scores, one row per thread
  std::vector<float> router_logits_;  // [X]
  std::vector<float> gate_;       // [k][F] gate pre-activations of the selected experts
  std::vector<float> up_;         // [k][F] up outputs of active neurons, compact per expert
  std::vector<float> coef_;       // [k][F] transposed down: w_j * ReLU(gate) * up per active neuron;
                                  //        normal down: the dense hidden vector ReLU(gate) * up
  std::vector<std::vector<int32_t>> active_;  // [k] active neuron ids per selected expert
  std::vector<float> expert_out_; // [k][E] normal down: each expert's output
  std::vector<float> moe_out_;    // [E]
  std::vector<float> lm_z_;       // [P] predictor hidden
  std::vector<float> lm_scores_;  // [V] predictor scores
  std::vector<int32_t> lm_rows_;  // selected vocabulary rows
  std::vector<float> lm_selected_;  // [selected] their logits
  std::vector<float> logits_;     // [V]
  std::unique_ptr<BatchState> batch_;
};

}  // namespace st
