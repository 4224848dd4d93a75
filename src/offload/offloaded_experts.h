// OffloadedExperts: experts live on disk; a byte-budgeted cache in memory holds the recently or
// frequently used ones; an asynchronous reader fills it.
//
// At the prefetch point the decoder names the experts layer il will use; missing ones are read at
// once (O_DIRECT, io_uring or reader threads) while attention runs, and Acquire waits only for what
// has not arrived yet (the stall). Duplicate requests merge: an expert already resident or in flight
// is never read twice. A failed, short or refused read is kept with the expert and returned by
// Acquire, which stops generation with that error; so is a read that does not arrive within
// acquire_timeout. After a failed read the slot is dropped on Release, so a later request retries.
//
// Thread-safety: the decoder calls from one thread; the reader completes on its own threads. All
// shared state is guarded by mu_.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "offload/expert_cache.h"
#include "offload/expert_layout.h"
#include "offload/expert_source.h"
#include "offload/io_engine.h"

namespace st {

struct OffloadOptions {
  uint64_t cache_bytes = 0;  // the expert cache's budget; Create fits as many slots as it can
  // LFU with aging: with skewed expert popularity it keeps the hot experts through bursts of cold
  // ones (benchmarks/results/offload.md: 19 vs 47 MiB read per token with a 25% cache).
  CachePolicy policy = CachePolicy::kLfu;
  IoEngineOptions io;
  std::string expert_file;   // read from this laid-out expert file instead of the GGUF
  bool direct_io = true;     // O_DIRECT (falls back to buffered reads where unsupported)
  // How long Acquire waits for an expert's reads before it reports the disk stalled (an error, so
  // a hung device stops generation instead of hanging it). Tests shorten it.
  std::chrono::milliseconds acquire_timeout{30000};
};

class OffloadedExperts final : public ExpertSource {
 public:
  static Result<std::unique_ptr<OffloadedExperts>> Create(const Model& model, const OffloadOptions& options);
  ~OffloadedExperts() override;

  // Bytes one cache slot takes for this model and source (for planning).
  static uint64_t SlotBytes(const ExpertLayout& layout);

  void Prefetch(uint32_t il, const std::vector<int32_t>& experts) override;
  void Lookahead(uint32_t il, const std::vector<int32_t>& experts) override;
  Result<ExpertWeights> Acquire(uint32_t il, int32_t e) override;
  void Release(uint32_t il, int32_t e) override;
  bool offloaded() const override { return true; }
  OffloadStats stats() const override;
  std::string Describe() const override;

  uint64_t n_slots() const { return cache_->n_slots(); }

 private:
  enum class State { kEmpty, kLoading, kReady, kError };
  struct SlotState {
    State state = State::kEmpty;
    int reads_pending = 0;
    Status error;
    bool from_lookahead = false;  // loaded on a guess, not yet asked for
  };

  OffloadedExperts(const Model& model, const OffloadOptions& options);
  Status Open();
  // Starts reading `key` into `slot`. REQUIRES: mu_ held.
  void StartReadLocked(int64_t slot, ExpertKey key);
  // Finds or loads `key`, returning its slot (kNone if the cache is full of pinned experts).
  // REQUIRES: mu_ held.
  int64_t EnsureLocked(ExpertKey key, bool lookahead);
  void OnReadDone(uint64_t tag, const Status& status);
  uint8_t* SlotData(int64_t slot) const { return pool_ + static_cast<uint64_t>(slot) * slot_bytes_; }

  const Model& model_;
  OffloadOptions options_;
  ExpertLayout layout_;
  std::string path_;
  int fd_ = -1;
  bool direct_ = false;
  uint64_t slot_bytes_ = 0;
  std::array<uint64_t, 3> region_{};  // offset of each matrix's read buffer inside a slot
  uint8_t* pool_ = nullptr;
  uint64_t pool_bytes_ = 0;

  mutable std::mutex mu_;
  std::condition_variable ready_cv_;
  std::unique_ptr<ExpertCache> cache_;
  std::vector<SlotState> slots_;
  OffloadStats stats_;
  std::unique_ptr<IoEngine> io_;  // last member: destroyed first, draining reads into pool_
};

}  // namespace st
