// ExpertSource: where the decoder gets expert weights from.
//
// The decoder's contract, per layer: Prefetch(il, selected) at the prefetch point (right after the
// router, before attention), then for each selected expert Acquire(il, e) ... use ... Release(il, e).
// Prefetch reserves (pins) the experts; Release gives each back. Lookahead(il, likely) may be
// called for a later layer: it loads without reserving.
//
// InMemoryExperts serves the memory-mapped file (nothing to load). OffloadedExperts
// (offloaded_experts.h) serves a byte-budgeted cache filled from disk by an asynchronous reader.
//
// Thread-compatible: one decoder drives one source.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"
#include "smallthinker/status.h"

namespace st {

struct ExpertWeights {
  WeightMatrix gate;  // rows F, cols E
  WeightMatrix up;    // rows F, cols E
  WeightMatrix down;  // normal: rows E, cols F; transposed: rows F, cols E
};

// What the expert cache and reader did, for the end-of-run report and --json.
struct OffloadStats {
  uint64_t requests = 0;        // experts the layers asked for
  uint64_t hits = 0;            // already resident (or already being read) when asked for
  uint64_t reads = 0;           // read requests issued
  uint64_t bytes_read = 0;
  uint64_t evictions = 0;
  uint64_t stall_ns = 0;        // time Acquire waited for reads
  uint64_t lookahead_issued = 0;   // experts read because of a lookahead guess
  uint64_t lookahead_used = 0;     // ... that a layer then asked for
  uint64_t lookahead_skipped = 0;  // guesses not read because no slot was free
};

class ExpertSource {
 public:
  virtual ~ExpertSource() = default;
  virtual void Prefetch(uint32_t il, const std::vector<int32_t>& experts) = 0;
  virtual void Lookahead(uint32_t il, const std::vector<int32_t>& experts) = 0;
  // Blocks until expert (il, e) is loaded. REQUIRES: e was in the last Prefetch of layer il and has
  // not been released since. The weights stay valid until Release(il, e). A read error is returned
  // here (and generation should stop).
  virtual Result<ExpertWeights> Acquire(uint32_t il, int32_t e) = 0;
  virtual void Release(uint32_t il, int32_t e) = 0;
  virtual bool offloaded() const = 0;
  virtual OffloadStats stats() const { return {}; }
  virtual std::string Describe() const = 0;
};

// Serves the experts straight from the model's mapping.
class InMemoryExperts final : public ExpertSource {
 public:
  explicit InMemoryExperts(const Model& model) : w_(model.weights()) {}
  void Prefetch(uint32_t, const std::vector<int32_t>&) override {}
  void Lookahead(uint32_t, const std::vector<int32_t>&) override {}
  Result<ExpertWeights> Acquire(uint32_t il, int32_t e) override {
    const LayerWeights& L = w_.layers[il];
    return ExpertWeights{L.gate_exps.Expert(e), L.up_exps.Expert(e), L.down_exps.Expert(e)};
  }
  void Release(uint32_t, int32_t) override {}
  bool offloaded() const override { return false; }
  std::string Describe() const override { return "experts: in memory (memory-mapped)"; }

 private:
  const ModelWeights& w_;
};

}  // namespace st
