// Decoder: runs SmallThinker's forward pass over a batch of tokens from any sequences.
//
// One implementation serves every case (gemma.cpp's TransformerLayer(num_tokens) is the model):
// decoding is a batch of one token, a prompt is a batch of many tokens of one sequence, several
// conversations are a batch of their current tokens. Forward() reads like the paper (spec §4): for
// each layer, the router on the raw layer input picks every token's experts first (the prefetch
// point), then attention, then the sparse ReGLU experts; finally the norm and the (predicted) LM
// head. One helper per block, each in its own file.
//
// A token's logits do not depend on what else is in its batch: every kernel gives each token the
// bits of its single-token call (kernels/kernel_table.h), experts are added in ascending id order,
// and threads split work by rows, heads, tokens or block-aligned column ranges, never inside one
// reduction. So a prompt evaluated at once equals the same tokens decoded one by one, bit for bit,
// and 1 and 2 threads agree.
//
// Thread-compatible: one Decoder per engine instance; it owns the KV cache of its sequences and its
// scratch buffers, and borrows the immutable Model.
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
// sampling never picks them. Positions whose full distribution is needed (prompt logits,
// perplexity, --dump-logits) always use the exact head.
enum class LmHeadMode { kExact, kPredicted };

struct DecoderOptions {
  uint32_t n_ctx = 4096;         // context length of each sequence; 0 = the model's training context
  KvType kv_type = KvType::kF16;
  uint32_t n_seq = 1;            // sequences the KV cache holds (--parallel)
  bool swa_full = false;         // sliding layers keep the whole context (every rewind exact)
  int n_threads = 1;
  // Steps that stream fewer weight bytes than this run on one thread (tests use 0 to split all).
  uint64_t min_parallel_bytes = ThreadPool::kDefaultMinParallelBytes;
  uint32_t batch_size = 256;     // most tokens in one forward pass (-ub); longer prompts are split
  // Most logit rows one forward pass returns (0 = n_seq: one per sequence, what generation needs).
  // Their buffer is reserved and counted in the memory plan; Prefill with all_logits evaluates in
  // pieces of at most this many tokens (the same bits: the kernels are batch-invariant).
  uint32_t max_outputs = 0;
  // Rows of [V] logits the caller keeps while it runs (every position's, for perplexity), counted
  // in the memory plan so the expert cache leaves room for them; at most n_ctx rows count.
  uint32_t caller_logit_rows = 0;
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
  uint64_t forwards = 0;               // forward passes (batches)
  uint64_t expert_neurons = 0;         // neurons of selected experts evaluated (gate rows)
  uint64_t expert_neurons_active = 0;  // of which ReLU(gate) > 0
  uint64_t lm_head_calls = 0;          // LM heads computed
  uint64_t lm_head_rows = 0;           // vocabulary rows computed by them
  uint64_t lm_head_selected = 0;       // rows the predictor selected (predicted heads only)
  uint64_t lm_head_fallbacks = 0;      // predicted heads that selected nothing and ran exact
  uint64_t weight_bytes = 0;           // weight bytes the kernels read (rows actually used)
  uint64_t kv_bytes = 0;               // KV cache bytes attention read
};

// What a token of a batch wants back.
enum class TokenOutput : uint8_t {
  kNone,    // a prompt token whose prediction nobody reads
  kLogits,  // the decoder's LM head (predicted when the file has a profiler)
  kExact,   // every vocabulary row
};

// One token of a batch: `token` at position `pos` of sequence `seq`.
struct BatchToken {
  int32_t token = 0;
  uint32_t pos = 0;
  uint32_t seq = 0;
  TokenOutput output = TokenOutput::kNone;
};

class Decoder {
 public:
  static Result<std::unique_ptr<Decoder>> Create(const Model& model, const DecoderOptions& options);
  ~Decoder();

  // Evaluates a batch of at most batch_size tokens. Each sequence's tokens appear in increasing,
  // consecutive positions starting at SeqLength(seq) (rewind first with Truncate). Afterwards
  // Logits(i) holds the logits [V] of token i if it asked for them (valid until the next call).
  // Errors (nothing of the batch is kept): token id out of range, bad sequence or position, context
  // full, an expert read that failed.
  Status Forward(std::span<const BatchToken> batch);
  const float* Logits(size_t i) const;

  // ---- sequences ----
  uint32_t n_seq() const { return kv_.n_seq(); }
  uint32_t SeqLength(uint32_t seq) const { return kv_.SeqLength(seq); }
  // See KvCache: the longest prefix of [0, n) the cache can continue from exactly, and the rewind.
  uint32_t KeepablePrefix(uint32_t seq, uint32_t n) const { return kv_.KeepablePrefix(seq, n); }
  Status Truncate(uint32_t seq, uint32_t n) { return kv_.Truncate(seq, n); }

  // ---- one sequence (sequence `seq`, default 0) ----
  // Evaluates `token` at `pos` and returns its logits [V] (the decoder's head), or nullptr when
  // want_logits is false. pos < SeqLength rewinds first (an error if the cache cannot; see
  // Truncate); pos > SeqLength is an error.
  Result<const float*> Forward(int32_t token, uint32_t pos, bool want_logits = true, uint32_t seq = 0);
  // Evaluates tokens at positions pos0, pos0+1, ... in batches of batch_size and returns the logits
  // of the last one ([V], exact head). With `all_logits`, also appends every position's logits
  // ([n][V], exact head) to it. Rewinds like Forward.
  Result<const float*> Prefill(std::span<const int32_t> tokens, uint32_t pos0, std::vector<float>* all_logits = nullptr,
                               uint32_t seq = 0);

  LmHeadMode lm_head_mode() const { return lm_head_mode_; }
  const ModelConfig& config() const { return config_; }
  const KvCache& kv_cache() const { return kv_; }
  const DecoderStats& stats() const { return stats_; }
  uint32_t n_ctx() const { return kv_.n_ctx(); }
  uint32_t batch_size() const { return batch_size_; }
  int n_threads() const { return pool_->size(); }
  const KernelTable& kernels() const { return kernels_; }
  const MemoryPlan& memory_plan() const { return plan_; }
  uint32_t max_outputs() const { return max_outputs_; }
  // Bytes the scratch buffers hold now (their capacities; the plan counts this at creation, when
  // every buffer is reserved for the largest batch, and a forward pass never grows it).
  uint64_t ScratchBytes() const;
  const ExpertSource& experts() const { return *experts_; }

 private:
  struct Batch;  // runtime/batch.h: the batch's scratch buffers and expert grouping

  Decoder(const Model& model, const DecoderOptions& options, KvCache kv);
  Status Plan(const DecoderOptions& options);
  Status CheckBatch(std::span<const BatchToken> batch) const;
  // Forward over [b, e) of a checked batch whose expert union fits the cache.
  Status ForwardTokens(std::span<const BatchToken> batch);

  // The blocks of one layer, in the order Forward calls them, over every token of the batch.
  void Route(uint32_t il);            // decoder.cc: x -> each token's experts, grouped by expert
  void PrefetchExperts(uint32_t il);  // decoder.cc: the prefetch point, before attention
  void Attention(uint32_t il);        // attention.cc: x += Attn(RMSNorm(x))
  Status MoeFfn(uint32_t il);         // moe_ffn.cc: x += sum_j w_j * Expert_j(RMSNorm(x))
  void LmHead();                      // lm_head.cc: logits = W_out · RMSNorm(x) for the tokens asking

  // Applies RoPE (on RoPE layers) to q [H] and k [K] of position pos.
  void RotateQK(uint32_t il, uint32_t pos, float* q, float* k) const;

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
  uint32_t max_outputs_;
  uint32_t max_union_tokens_ = 0;  // offloaded: most tokens whose experts the cache holds at once
  bool dense_experts_ = false;
  bool prefetch_ = true;
  bool lookahead_ = false;
  std::unique_ptr<Batch> b_;
  std::vector<int32_t> out_row_;   // [batch] row of logits_ for token i, -1 if none
  std::vector<float> logits_;      // [outputs][V]
};

}  // namespace st
