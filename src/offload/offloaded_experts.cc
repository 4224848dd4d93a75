#include "offload/offloaded_experts.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "offload/expert_file.h"

namespace st {
namespace {

constexpr uint64_t kPage = kDirectIoAlignment;
uint64_t AlignDown(uint64_t v) { return v / kPage * kPage; }
uint64_t AlignUp(uint64_t v) { return (v + kPage - 1) / kPage * kPage; }

}  // namespace

uint64_t OffloadedExperts::SlotBytes(const ExpertLayout& layout) {
  if (layout.in_expert_file()) return layout.ExpertFileBlockBytes();
  // A matrix slice of the GGUF starts anywhere: its aligned read may need one extra page.
  uint64_t n = 0;
  for (int m = 0; m < 3; ++m) n += AlignUp(layout.MatrixBytes(m)) + kPage;
  return n;
}

OffloadedExperts::OffloadedExperts(const Model& model, const OffloadOptions& options)
    : model_(model), options_(options), layout_(ExpertLayout::FromGguf(model)) {}

OffloadedExperts::~OffloadedExperts() {
  io_.reset();  // drain before the buffers go away
  if (pool_ != nullptr) munmap(pool_, pool_bytes_);
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<OffloadedExperts>> OffloadedExperts::Create(const Model& model, const OffloadOptions& options) {
  std::unique_ptr<OffloadedExperts> o(new OffloadedExperts(model, options));
  ST_RETURN_IF_ERROR(o->Open());
  return o;
}

Status OffloadedExperts::Open() {
  path_ = model_.file().path();
  if (!options_.expert_file.empty()) {
    ST_ASSIGN_OR_RETURN(uint64_t data_offset, ValidateExpertFile(model_, layout_, options_.expert_file));
    layout_.UseExpertFile(data_offset);
    path_ = options_.expert_file;
  }
  slot_bytes_ = SlotBytes(layout_);
  uint64_t off = 0;
  for (int m = 0; m < 3; ++m) {
    region_[m] = layout_.in_expert_file() ? layout_.ExpertFileMatrixOffset(m) : off;
    off += AlignUp(layout_.MatrixBytes(m)) + kPage;
  }
  const uint64_t n_slots = options_.cache_bytes / slot_bytes_;
  if (n_slots == 0) {
    return ResourceExhausted(fmt::format("expert cache of {} bytes cannot hold one expert ({} bytes)",
                                         options_.cache_bytes, slot_bytes_));
  }
  const uint64_t max_slots = static_cast<uint64_t>(layout_.n_layer()) * layout_.n_expert();
  cache_ = std::make_unique<ExpertCache>(layout_.n_layer(), layout_.n_expert(), std::min(n_slots, max_slots),
                                         options_.policy);
  slots_.resize(cache_->n_slots());

  // Anonymous memory: pages become resident only as slots fill, and are page-aligned for O_DIRECT.
  pool_bytes_ = cache_->n_slots() * slot_bytes_;
  void* p = mmap(nullptr, pool_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    pool_bytes_ = 0;
    return ResourceExhausted(fmt::format("cannot reserve {} bytes for the expert cache: {}", pool_bytes_, std::strerror(errno)));
  }
  pool_ = static_cast<uint8_t*>(p);

  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | (options_.direct_io ? O_DIRECT : 0));
  direct_ = options_.direct_io && fd_ >= 0;
  if (fd_ < 0 && options_.direct_io && errno == EINVAL) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);  // e.g. tmpfs has no O_DIRECT
  }
  if (fd_ < 0) return IoError(fmt::format("'{}': cannot open for expert reads: {}", path_, std::strerror(errno)));

  IoEngineOptions io = options_.io;
  io.file_name = path_;
  ST_ASSIGN_OR_RETURN(io_, MakeIoEngine(io, [this](uint64_t tag, Status s) { OnReadDone(tag, s); }));
  return Status::Ok();
}

void OffloadedExperts::StartReadLocked(int64_t slot, ExpertKey key) {
  SlotState& st = slots_[slot];
  st.state = State::kLoading;
  st.error = Status::Ok();
  cache_->SetLoading(slot, true);
  const auto ranges = layout_.Ranges(key.layer, key.expert);
  std::vector<ReadRequest> reqs;
  if (layout_.in_expert_file()) {
    // One contiguous, aligned block per expert.
    const uint64_t block = layout_.ExpertFileBlockBytes();
    reqs.push_back({fd_, ranges[0].offset, block, 0, SlotData(slot), static_cast<uint64_t>(slot) * 4});
  } else {
    for (int m = 0; m < 3; ++m) {
      const uint64_t begin = AlignDown(ranges[m].offset);
      const uint64_t end = AlignUp(ranges[m].offset + ranges[m].size);
      const uint64_t need = ranges[m].offset + ranges[m].size - begin;
      reqs.push_back({fd_, begin, end - begin, need, SlotData(slot) + region_[m], static_cast<uint64_t>(slot) * 4 + m});
    }
  }
  st.reads_pending = static_cast<int>(reqs.size());
  for (const ReadRequest& r : reqs) {
    ++stats_.reads;
    stats_.bytes_read += r.size;
    Status s = io_->Submit(r);
    if (s.ok()) continue;
    // Refused: no callback will come for it, so account for it here as a failed read.
    if (st.error.ok()) st.error = std::move(s);
    if (--st.reads_pending == 0) {
      st.state = State::kError;
      cache_->SetLoading(slot, false);
    }
  }
}

void OffloadedExperts::OnReadDone(uint64_t tag, const Status& status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t slot = static_cast<int64_t>(tag / 4);
    SlotState& st = slots_[slot];
    if (!status.ok() && st.error.ok()) st.error = status;
    if (--st.reads_pending > 0) return;
    st.state = st.error.ok() ? State::kReady : State::kError;
    cache_->SetLoading(slot, false);
  }
  ready_cv_.notify_all();
}

int64_t OffloadedExperts::EnsureLocked(ExpertKey key, bool lookahead) {
  int64_t slot = cache_->Find(key);
  if (slot != ExpertCache::kNone) return slot;
  bool evicted = false;
  ExpertKey old;
  slot = cache_->Insert(key, &evicted, &old);
  if (slot == ExpertCache::kNone) return slot;
  if (evicted) ++stats_.evictions;
  slots_[slot] = SlotState{};
  slots_[slot].from_lookahead = lookahead;
  StartReadLocked(slot, key);
  return slot;
}

void OffloadedExperts::Prefetch(uint32_t il, const std::vector<int32_t>& experts) {
  std::lock_guard<std::mutex> lock(mu_);
  for (int32_t e : experts) {
    const ExpertKey key{il, static_cast<uint32_t>(e)};
    ++stats_.requests;
    int64_t slot = cache_->Find(key);
    if (slot != ExpertCache::kNone) {
      ++stats_.hits;
      if (slots_[slot].from_lookahead) {
        ++stats_.lookahead_used;
        slots_[slot].from_lookahead = false;
      }
    } else {
      slot = EnsureLocked(key, /*lookahead=*/false);
      if (slot == ExpertCache::kNone) continue;  // Acquire reports that the cache is too small
    }
    cache_->Touch(slot);
    cache_->Pin(slot);
  }
}

void OffloadedExperts::Lookahead(uint32_t il, const std::vector<int32_t>& experts) {
  std::lock_guard<std::mutex> lock(mu_);
  for (int32_t e : experts) {
    const ExpertKey key{il, static_cast<uint32_t>(e)};
    if (cache_->Find(key) != ExpertCache::kNone) continue;
    if (EnsureLocked(key, /*lookahead=*/true) == ExpertCache::kNone) {
      ++stats_.lookahead_skipped;
    } else {
      ++stats_.lookahead_issued;
    }
  }
}

Result<ExpertWeights> OffloadedExperts::Acquire(uint32_t il, int32_t e) {
  const ExpertKey key{il, static_cast<uint32_t>(e)};
  std::unique_lock<std::mutex> lock(mu_);
  const int64_t slot = cache_->Find(key);
  if (slot == ExpertCache::kNone || cache_->pins(slot) == 0) {
    return ResourceExhausted(fmt::format("expert cache too small: no free slot for expert {} of layer {} ({} slots, all in use)",
                                         e, il, cache_->n_slots()));
  }
  if (slots_[slot].state == State::kLoading) {
    const auto t0 = std::chrono::steady_clock::now();
    const bool arrived =
        ready_cv_.wait_for(lock, options_.acquire_timeout, [&] { return slots_[slot].state != State::kLoading; });
    stats_.stall_ns += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
    if (!arrived) {
      // The slot stays loading (its buffer belongs to the read until that completes); Release
      // unpins it and a late completion still makes it ready.
      return IoError(fmt::format("loading expert {} of layer {}: its read from '{}' at offset {} did not complete "
                                 "within {:.1f} s (reader {}); the disk or the reader is stalled",
                                 e, il, path_, layout_.Ranges(il, static_cast<uint32_t>(e))[0].offset,
                                 options_.acquire_timeout.count() / 1000.0, io_->name()));
    }
  }
  if (slots_[slot].state == State::kError) {
    Status err = slots_[slot].error;
    return err.WithContext(fmt::format("loading expert {} of layer {}", e, il));
  }
  const auto ranges = layout_.Ranges(il, static_cast<uint32_t>(e));
  uint8_t* base = SlotData(slot);
  auto matrix = [&](int m) {
    const uint64_t skew = layout_.in_expert_file() ? 0 : ranges[m].offset - AlignDown(ranges[m].offset);
    return layout_.Matrix(m, base + region_[m] + skew);
  };
  return ExpertWeights{matrix(kGateMatrix), matrix(kUpMatrix), matrix(kDownMatrix)};
}

void OffloadedExperts::Release(uint32_t il, int32_t e) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t slot = cache_->Find({il, static_cast<uint32_t>(e)});
  if (slot == ExpertCache::kNone || cache_->pins(slot) == 0) return;
  cache_->Unpin(slot);
  if (slots_[slot].state == State::kError && cache_->pins(slot) == 0) {
    cache_->Drop(slot);  // let a later request try the read again
    slots_[slot] = SlotState{};
  }
}

OffloadStats OffloadedExperts::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::string OffloadedExperts::Describe() const {
  const uint64_t total = static_cast<uint64_t>(layout_.n_layer()) * layout_.n_expert();
  return fmt::format("experts: offloaded from '{}' ({}, {}), cache {} of {} experts ({:.0f}%, {:.1f} MiB, {} eviction), "
                     "reader {}",
                     path_, layout_.in_expert_file() ? "expert file" : "GGUF slices", direct_ ? "O_DIRECT" : "buffered",
                     cache_->n_slots(), total, 100.0 * cache_->n_slots() / total, pool_bytes_ / 1048576.0,
                     CachePolicyName(cache_->policy()), io_->name());
}

}  // namespace st
