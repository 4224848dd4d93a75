// ExpertCache: which expert lives in which slot of a fixed pool, and which slot to evict.
//
// Shared by all layers; keyed by (layer, expert). Slots hold pin counts: a pinned slot (in use by
// the current layer, or reserved by its prefetch) and a slot whose read is still in flight are
// never evicted. Two eviction policies: LRU, and LFU with aging (frequency counts halved every
// `n_slots` insertions, ties broken by recency), for skewed expert popularity.
//
// Not thread-safe: the owner (OffloadedExperts) serializes access with its mutex.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace st {

enum class CachePolicy { kLru, kLfu };
const char* CachePolicyName(CachePolicy p);

struct ExpertKey {
  uint32_t layer = 0;
  uint32_t expert = 0;
  bool operator==(const ExpertKey&) const = default;
};

class ExpertCache {
 public:
  static constexpr int64_t kNone = -1;

  ExpertCache(uint32_t n_layer, uint32_t n_expert, uint64_t n_slots, CachePolicy policy);

  uint64_t n_slots() const { return slots_.size(); }
  CachePolicy policy() const { return policy_; }

  // The slot holding `key`, or kNone.
  int64_t Find(ExpertKey key) const { return index_[Index(key)]; }
  // Assigns a slot to `key` (REQUIRES: absent): an empty slot, else the policy's victim among
  // evictable slots. Returns kNone if every slot is pinned or loading. `*evicted` tells whether a
  // resident expert was dropped (and which).
  int64_t Insert(ExpertKey key, bool* evicted, ExpertKey* evicted_key);
  // Forgets the expert in `slot` (after a failed read), leaving the slot empty.
  void Drop(int64_t slot);

  void Pin(int64_t slot) { ++slots_[slot].pins; }
  void Unpin(int64_t slot) { --slots_[slot].pins; }
  int pins(int64_t slot) const { return slots_[slot].pins; }
  void SetLoading(int64_t slot, bool loading) { slots_[slot].loading = loading; }
  // Records a use (request) of the expert in `slot` for the policy.
  void Touch(int64_t slot);

  ExpertKey KeyOf(int64_t slot) const { return slots_[slot].key; }

 private:
  struct Slot {
    ExpertKey key;
    bool used = false;     // holds an expert
    bool loading = false;
    int pins = 0;
    uint64_t last_use = 0;  // logical clock
    uint32_t freq = 0;
    int64_t prev = kNone, next = kNone;  // LRU list (most recent at head)
  };
  size_t Index(ExpertKey k) const { return static_cast<size_t>(k.layer) * n_expert_ + k.expert; }
  bool Evictable(const Slot& s) const { return s.pins == 0 && !s.loading; }
  void Unlink(int64_t i);
  void PushFront(int64_t i);
  int64_t Victim() const;
  void Age();

  uint32_t n_expert_;
  CachePolicy policy_;
  std::vector<Slot> slots_;
  std::vector<int64_t> index_;     // (layer, expert) -> slot
  std::vector<int64_t> free_;      // empty slots
  int64_t head_ = kNone, tail_ = kNone;
  uint64_t clock_ = 0;
  uint64_t inserts_since_aging_ = 0;
};

}  // namespace st
