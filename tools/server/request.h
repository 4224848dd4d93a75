// Request: one completion in the server, shared by the HTTP thread that asked for it and the
// engine thread that computes it.
//
// The engine appends events (text pieces with their tokens, then one final event); the HTTP
// thread takes them as they come (streaming) or waits for the final one. Either side may end it
// early: the client by Cancel() (it went away), the engine by finishing or failing it.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "smallthinker/sampler.h"

namespace st {

// What a client asked for, in tokens (the HTTP layer has rendered and tokenized it).
struct CompletionParams {
  std::vector<int32_t> prompt;
  SamplerParams sampling;
  int32_t max_tokens = -1;          // -1: until end of generation or a full context
  std::vector<std::string> stop;    // stop strings
  bool ignore_eos = false;
  bool logprobs = false;            // each generated token's log-probability ...
  int32_t n_probs = 0;              // ... and the n most likely alternatives
  bool cache_prompt = true;         // reuse a slot's cached prefix (false: evaluate everything)
};

struct TokenProb {
  int32_t id = 0;
  float logprob = 0;
};

// The log-probabilities of one generated token (n_probs > 0).
struct TokenLogprobs {
  TokenProb chosen;
  std::vector<TokenProb> top;  // best first
};

enum class FinishReason { kStop, kLength, kCancelled, kError };
const char* FinishReasonName(FinishReason r);  // "stop", "length", "cancelled", "error"

struct CompletionResult {
  FinishReason finish = FinishReason::kStop;
  std::string error;                // kError: why (also a shutdown)
  int error_status = 500;           // the HTTP status for kError
  uint32_t prompt_tokens = 0;
  uint32_t cached_tokens = 0;       // prompt tokens reused from the slot's cache
  uint32_t completion_tokens = 0;
  double prompt_ms = 0, predicted_ms = 0, queued_ms = 0;
  int slot = -1;
};

// One step of the answer: text that became final (maybe empty while a character or a stop string
// is undecided) and the tokens sampled for it, or the end.
struct CompletionEvent {
  std::string text;
  std::vector<int32_t> tokens;
  std::vector<TokenLogprobs> logprobs;   // one per token when params.logprobs
  std::optional<CompletionResult> final;  // set on the last event
};

class Request {
 public:
  explicit Request(CompletionParams params) : params_(std::move(params)), created_(Clock::now()) {}

  const CompletionParams& params() const { return params_; }

  // HTTP side. Waits up to `timeout` for events; moves them into *out. False once the final event
  // has been taken (nothing more will come).
  bool Wait(std::vector<CompletionEvent>* out, std::chrono::milliseconds timeout);
  // The client went away or gave up: the engine frees its slot at the next step.
  void Cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

  // Engine side.
  void Push(CompletionEvent event);
  bool finished() const;

  using Clock = std::chrono::steady_clock;
  Clock::time_point created() const { return created_; }

 private:
  const CompletionParams params_;
  const Clock::time_point created_;
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<CompletionEvent> events_;
  bool final_pushed_ = false, final_taken_ = false;
};

}  // namespace st
