// Engine: continuous batching of completion requests over the sequences ("slots") of one Context.
//
// One thread owns the Context. Each step is one forward pass over the current token of every
// decoding slot plus prompt tokens of starting ones (up to the context's batch size), so each
// expert's weights are read once per step for all requests; a finished request's slot takes the
// next queued request at once. A request's tokens are those it gets alone (the forward pass is
// batch-invariant), so answers do not depend on what else runs.
//
// Prompt cache: a slot keeps the tokens its sequence holds after a request ends. A new request
// goes to the free slot sharing the longest prefix with its prompt (ties: the least recently
// used) and evaluates only the rest. Where a sliding-window layer has lost keys of that prefix,
// the slot keeps what Context::KeepablePrefix allows and evaluates the remainder again, so a
// reused prefix answers exactly as a fresh evaluation does.
//
// Queue: requests wait in a bounded FIFO while every slot is busy; Submit refuses beyond it.
// Cancellation: a cancelled request leaves its slot before the next step.
//
// Thread-safe: Submit, Stats and Shutdown from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "server/request.h"
#include "server/text_stream.h"
#include "smallthinker/context.h"
#include "smallthinker/model.h"
#include "smallthinker/sampler.h"

namespace st {

struct EngineOptions {
  size_t max_queued = 64;  // requests waiting for a slot
};

// Totals since start, for /metrics and /health (a consistent snapshot).
struct EngineStats {
  uint32_t slots_total = 0, slots_busy = 0;
  size_t queued = 0;
  uint64_t requests_started = 0, requests_finished = 0, requests_cancelled = 0, requests_failed = 0,
           requests_rejected = 0;
  uint64_t prompt_tokens = 0;      // prompt tokens evaluated
  uint64_t cached_tokens = 0;      // prompt tokens reused from a slot's cache
  uint64_t predicted_tokens = 0;   // tokens generated
  double prompt_seconds = 0;       // time steps spent with prompt tokens in them
  double decode_seconds = 0;       // time steps spent with only decoding tokens
  uint64_t steps = 0;
  smallthinker::ContextStats context;
  bool offloaded = false;
};

class Engine {
 public:
  Engine(smallthinker::Context& context, const smallthinker::Tokenizer& tokenizer, EngineOptions options);
  ~Engine();  // Shutdown()
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a request. Errors: the queue is full (ResourceExhausted), shutting down (Cancelled), a
  // prompt that is empty or does not fit the context with max_tokens (InvalidArgument / OutOfRange).
  Result<std::shared_ptr<Request>> Submit(CompletionParams params);

  // Cancels every queued and running request (they end with an error event) and stops the thread.
  void Shutdown();

  EngineStats Stats() const;
  uint32_t n_ctx() const { return n_ctx_; }

 private:
  struct Slot;
  void Loop();
  // Queued requests to free slots (prompt-cache aware). Called with mu_ held.
  void AssignLocked();
  void Start(uint32_t s, std::shared_ptr<Request> req);
  // One forward pass over every busy slot.
  void Step();
  void Sample(uint32_t s, std::span<const float> logits);
  void Finish(uint32_t s, FinishReason reason, std::string error = {}, int status = 500);

  smallthinker::Context& context_;
  const smallthinker::Tokenizer& tokenizer_;
  const EngineOptions options_;
  const uint32_t n_ctx_;
  std::vector<std::unique_ptr<Slot>> slots_;  // touched by the engine thread only (and Start)
  std::vector<float> work_;                   // [V] logits copy when ignore_eos

  mutable std::mutex mu_;  // guards the queue, stats_, stopping_, the busy flags
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Request>> queue_;
  std::vector<bool> busy_;
  EngineStats stats_;
  bool stopping_ = false;
  uint64_t use_counter_ = 0;
  std::thread thread_;
};

}  // namespace st
