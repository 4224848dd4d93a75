// smallthinker::Context: an inference session over a Model: the KV cache of up to n_seq
// independent sequences, the expert cache when offloaded, threads and scratch.
//
// One call, Decode(), evaluates a batch of tokens from any sequences: a prompt is a batch of many
// tokens of one sequence, decoding a batch of one, several conversations the batch of their
// current tokens (each expert's weights are then read once for all of them). A sequence's logits
// never depend on what else is in the batch: they equal, bit for bit, what it gets alone.
//
//   smallthinker::ContextParams cp;
//   cp.n_seq = 2;
//   auto ctx = smallthinker::Context::Create(*model, cp);
//   std::vector<smallthinker::Token> batch = {{id_a, 0, /*seq=*/0, smallthinker::Output::kLogits},
//                                             {id_b, 0, /*seq=*/1, smallthinker::Output::kLogits}};
//   if (Status s = (*ctx)->Decode(batch); !s.ok()) ...
//   std::span<const float> next_a = (*ctx)->Logits(0);   // [n_vocab]
//
// Rewinding: Truncate(seq, n) forgets positions >= n. Sliding-window layers keep only the window
// (plus one batch), so after a sequence has run past it a rewind may need keys the cache no longer
// has: Truncate then refuses (FailedPrecondition) and KeepablePrefix says how much can be kept; the
// caller evaluates the rest again. With swa_full every rewind is possible.
//
// Thread-compatible: one thread at a time per Context (it runs its own worker threads).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "smallthinker/model.h"

namespace st {
class Decoder;
}  // namespace st

namespace smallthinker {

struct ContextParams {
  uint32_t n_ctx = 4096;          // positions per sequence; 0 = the model's training context
  uint32_t n_seq = 1;             // sequences held at once (llama.cpp's -np)
  int n_threads = 0;              // 0 = every CPU this process may use
  uint32_t batch_size = 256;      // most tokens per Decode call (-ub); Prefill splits longer prompts
  // Most tokens one Decode may ask logits for (0 = n_seq: one per sequence, what generation
  // needs); their buffer is reserved up front and counted in the memory plan. Prefill with
  // all_logits evaluates pieces of at most this many tokens (same bits). Perplexity: batch_size.
  uint32_t max_outputs = 0;
  // Rows of [n_vocab] logits the caller keeps while it runs (Prefill's all_logits: perplexity
  // keeps a chunk's), counted in the memory plan so the expert cache leaves room; at most n_ctx
  // rows are counted.
  uint32_t caller_logit_rows = 0;
  std::string kv_type = "f16";    // KV cache storage: f16, f32 or q8_0
  bool swa_full = false;          // sliding layers keep the whole context (every rewind exact)
  std::string lm_head = "auto";   // generated tokens: auto (predicted when the file can), exact, predicted
  // Offloading: a memory budget in bytes (0 = none); experts that do not fit are read from disk
  // into an expert cache. Or a fixed cache of this many experts (ablations; excludes the budget).
  uint64_t memory_limit = 0;
  uint64_t expert_cache_experts = 0;
  std::string cache_policy = "lfu";  // lfu or lru
  std::string io_engine = "uring";   // uring or threads
  std::string expert_file;           // laid-out expert file to read from ("" = the GGUF)
  bool lookahead = true;             // offloaded: prefetch the next layer's likely experts too
  bool prefetch = true;              // offloaded: start reads before attention (the paper's design)
  bool dense_experts = false;        // compute every up/down row (the dense baseline; same logits)
  uint64_t min_parallel_bytes = 256 * 1024;  // steps streaming less run on one thread
};

enum class Output : uint8_t {
  kNone,    // a prompt token whose prediction nobody reads
  kLogits,  // the context's LM head for generated tokens (predicted when the file has a predictor)
  kExact,   // every vocabulary row (prompt logits, perplexity)
};

// One token of a batch: token `id` at position `pos` of sequence `seq`.
struct Token {
  int32_t id = 0;
  uint32_t pos = 0;
  uint32_t seq = 0;
  Output output = Output::kNone;
};

// Running totals, for reports and benchmarks.
struct ContextStats {
  uint64_t tokens = 0;                 // positions evaluated
  uint64_t forwards = 0;               // forward passes
  uint64_t weight_bytes = 0;           // weight bytes the kernels read (rows actually used)
  uint64_t kv_bytes = 0;               // KV cache bytes attention read
  uint64_t expert_neurons = 0;         // neurons of selected experts evaluated
  uint64_t expert_neurons_active = 0;  // of which ReLU(gate) > 0
  uint64_t lm_head_calls = 0, lm_head_rows = 0, lm_head_selected = 0, lm_head_fallbacks = 0;
  // Offloaded only.
  uint64_t expert_requests = 0, expert_hits = 0, expert_reads = 0, bytes_read = 0, evictions = 0;
  uint64_t stall_ns = 0, lookahead_issued = 0, lookahead_used = 0, lookahead_skipped = 0;
};

class Context {
 public:
  // Errors: bad params (InvalidArgument), a memory_limit below what the resident part needs
  // (ResourceExhausted, with the minimum), an unusable expert file (IoError).
  static Result<std::unique_ptr<Context>> Create(const Model& model, const ContextParams& params);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Evaluates at most batch_size() tokens. Each sequence's tokens come in increasing, consecutive
  // positions continuing it (the first at SeqLength(seq)). Nothing of a failed batch is kept.
  // Errors: token id, sequence or position out of range (InvalidArgument), context full
  // (OutOfRange), a failed expert read (IoError).
  Status Decode(std::span<const Token> batch);
  // Logits [n_vocab] of token i of the last Decode (empty if it asked for none). With the predicted
  // head, rows the predictor skipped are -inf.
  std::span<const float> Logits(size_t i) const;

  // Evaluates `tokens` at positions pos0.. of `seq` in batches (rewinding first when pos0 <
  // SeqLength; an error if the cache cannot, see Truncate) and returns the last one's logits (exact
  // head). With all_logits, appends every position's logits [n][V].
  Result<std::span<const float>> Prefill(uint32_t seq, std::span<const int32_t> tokens, uint32_t pos0,
                                         std::vector<float>* all_logits = nullptr);

  uint32_t SeqLength(uint32_t seq) const;
  uint32_t KeepablePrefix(uint32_t seq, uint32_t n) const;
  Status Truncate(uint32_t seq, uint32_t n);

  uint32_t n_ctx() const;
  uint32_t n_seq() const;
  uint32_t batch_size() const;
  uint32_t n_vocab() const;
  int n_threads() const;
  bool predicted_head() const;  // generated tokens use the LM-head predictor
  bool offloaded() const;
  const char* kernels_name() const;  // the instruction set the kernels use ("avx512_vnni", ...)
  ContextStats stats() const;
  // One line: "KV cache: 24.0 MiB (f16; ...)".
  std::string DescribeKvCache() const;
  // The memory plan, multi-line ("" without a budget and in memory).
  std::string DescribeMemoryPlan() const;
  std::string DescribeExperts() const;  // "experts: in memory (memory-mapped)" or the cache
  bool has_memory_plan() const;

  // The engine's decoder, for the engine's own benchmark and tests.
  const st::Decoder& impl() const { return *impl_; }

 private:
  Context();
  std::unique_ptr<st::Decoder> impl_;
  uint32_t n_vocab_ = 0;
};

// "1G", "512M", "1.5GiB", "1048576" (K/M/G/T, binary units) in bytes, for memory_limit.
Result<uint64_t> ParseByteSize(const std::string& text);
// The process's peak resident set size in bytes (from /proc/self/status).
uint64_t PeakRssBytes();

}  // namespace smallthinker
