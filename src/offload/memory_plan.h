// MemoryPlan: how a --memory-limit is spent. Non-expert weights, the KV cache, scratch buffers and
// the process's own baseline stay resident; what is left becomes the expert cache, and experts are
// read from disk on demand. A limit too small for the resident part is an error that states the
// minimum.
#pragma once

#include <cstdint>
#include <string>

#include "smallthinker/status.h"

namespace st {

struct MemoryPlanInput {
  uint64_t limit = 0;               // bytes; 0 = no limit
  uint64_t non_expert_weights = 0;  // resident through the mapping once touched
  uint64_t expert_weights = 0;      // all experts of all layers
  uint64_t kv_cache = 0;
  uint64_t scratch = 0;             // decoder buffers kept between steps (their reserved capacity)
  uint64_t transient = 0;           // buffers of one step (activation copies), at their largest
  uint64_t caller = 0;              // what the caller holds besides (DecoderOptions::caller_logit_rows)
  uint64_t baseline = 0;            // the process's resident memory before the model's weights (measured)
  uint64_t margin = 24ull << 20;    // allocator slack, thread stacks, reader queues
  uint64_t slot_bytes = 0;          // one expert in the cache
  uint64_t total_experts = 0;       // n_layer * n_expert
  uint64_t min_slots = 0;           // experts the cache must hold at least (2k: a layer plus lookahead)
};

struct MemoryPlan {
  bool offload = false;
  uint64_t limit = 0;
  uint64_t resident = 0;            // everything but the expert cache
  uint64_t expert_cache_bytes = 0;  // offload only
  uint64_t n_slots = 0;             // experts the cache holds
  MemoryPlanInput input;

  std::string Describe() const;     // multi-line, for the start of a run
};

Result<MemoryPlan> PlanMemory(const MemoryPlanInput& in);

// Everything but the expert cache: baseline + margin + non-expert weights + KV + scratch +
// transient + caller.
uint64_t ResidentBytes(const MemoryPlanInput& in);

// Parses "1G", "512M", "1.5GiB", "1048576" (K/M/G/T, optional "iB"/"B", binary units).
Result<uint64_t> ParseByteSize(const std::string& text);
std::string FormatBytes(uint64_t bytes);  // "1.50 GiB"

// The process's current and peak resident set size, in bytes (from /proc/self/status).
uint64_t CurrentRss();
uint64_t PeakRss();

}  // namespace st
