// Generator: evaluates prompts and samples tokens on sequence 0 of a Context, and remembers the token sequence
// the KV cache holds, so a conversation can continue where it stopped (or rewind to a prefix).
//
// Not thread-safe (one per Context). Borrows the context, tokenizer and sampler, which must
// outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "cli/cli_args.h"
#include "cli/report.h"
#include "smallthinker/context.h"
#include "smallthinker/status.h"
#include "smallthinker/sampler.h"
#include "text/tokenizer.h"

namespace st {

enum class StopReason {
  kEog,          // an end-of-generation token was sampled (it is not evaluated)
  kLength,       // -n tokens were generated
  kContext,      // the context is full
  kInterrupted,  // Ctrl-C
  kOutput,       // the caller's output failed (GenerateOptions::output_failed: a closed pipe, a full disk)
};
// "eog", "length", "context", "interrupted", "output" (the batch results' stop_reason).
const char* StopReasonName(StopReason r);

// The logits to sample from: `logits`, or a copy in *work with the --logit-bias biases added and
// (ignore_eos) the end-of-generation tokens at -inf.
std::span<const float> BiasedLogits(std::span<const float> logits, const std::vector<LogitBias>& biases,
                                    bool ignore_eos, const Tokenizer& tokenizer, std::vector<float>* work);

struct GenerateOptions {
  int32_t n_predict = -1;       // -1: until end of generation or a full context
  bool ignore_eos = false;      // end-of-generation tokens get -inf (never sampled)
  bool render_special = false;  // on_text gets control tokens' text too
  // Checked after each token's text is passed on: true stops the generation (kOutput), so a reader
  // that went away (`| head -c1`) does not cost the rest of -n tokens of compute.
  std::function<bool()> output_failed;
};

struct Generation {
  std::vector<int32_t> tokens;  // the sampled tokens; the end-of-generation token last when stop == kEog
  StopReason stop = StopReason::kLength;
  RunTimings timings;           // this generation's predicted_n / predicted_ms

  // The tokens without a final end-of-generation token.
  std::span<const int32_t> content_tokens() const {
    return {tokens.data(), tokens.size() - (stop == StopReason::kEog && !tokens.empty() ? 1 : 0)};
  }
};

class Generator {
 public:
  // batch_size: prompt tokens per Prefill call (a Ctrl-C is noticed between calls).
  Generator(smallthinker::Context& context, const Tokenizer& tokenizer, std::vector<LogitBias> biases, uint32_t batch_size);

  // The sampler for what follows (borrowed; prompt tokens are accepted into it for the penalties).
  void set_sampler(Sampler* sampler) { sampler_ = sampler; }

  // Makes the cache hold evaluated()[0, pos0) followed by `tokens` and computes the next-token
  // logits. Where the cache cannot rewind to pos0 exactly (a sliding window passed since), the
  // kept prefix is evaluated again from the longest prefix it still holds. REQUIRES: pos0 <= evaluated().size(), !tokens.empty(), a sampler is set.
  // Errors: pos0 + tokens.size() > n_ctx (OutOfRange; the cache is unchanged), Ctrl-C between
  // batches (Cancelled; evaluated() holds what was evaluated), decoder errors.
  Status Evaluate(std::span<const int32_t> tokens, uint32_t pos0);

  // Samples tokens after the last Evaluate/Generate, streaming their text to on_text (UTF-8
  // characters kept whole). Stops at an end-of-generation token, after n_predict tokens, when the
  // context is full, or on Ctrl-C. The last sampled token is not evaluated. REQUIRES: a successful
  // Evaluate first.
  Result<Generation> Generate(const GenerateOptions& options, const std::function<void(const std::string&)>& on_text);

  // The next-token logits [V] after the last Evaluate/Generate (empty before, or after an error).
  std::span<const float> logits() const {
    return logits_ ? std::span<const float>(logits_, context_.n_vocab()) : std::span<const float>();
  }
  // The tokens whose keys and values the cache holds, positions 0.. in order.
  const std::vector<int32_t>& evaluated() const { return evaluated_; }
  uint32_t n_ctx() const { return context_.n_ctx(); }
  // Totals over every Evaluate and Generate.
  const RunTimings& timings() const { return timings_; }
  // The last Evaluate's prompt_n / prompt_ms.
  const RunTimings& last_evaluate() const { return last_evaluate_; }
  // Tokens evaluated again because a rewind went past what the sliding-window cache holds.
  uint64_t reevaluated() const { return reevaluated_; }

 private:
  // The logits to sample from: the context's, or a copy with the biases applied.
  std::span<const float> SamplingLogits(bool ignore_eos);

  smallthinker::Context& context_;
  const Tokenizer& tokenizer_;
  std::vector<LogitBias> biases_;
  uint32_t batch_size_;
  Sampler* sampler_ = nullptr;
  std::vector<int32_t> evaluated_;
  const float* logits_ = nullptr;  // [V] after the last evaluated token
  std::vector<float> work_;        // [V] biased copy
  RunTimings timings_;
  RunTimings last_evaluate_;
  uint64_t reevaluated_ = 0;
};

}  // namespace st
