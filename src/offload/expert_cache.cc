#include "offload/expert_cache.h"

namespace st {

const char* CachePolicyName(CachePolicy p) { return p == CachePolicy::kLru ? "lru" : "lfu"; }

ExpertCache::ExpertCache(uint32_t n_layer, uint32_t n_expert, uint64_t n_slots, CachePolicy policy)
    : n_expert_(n_expert), policy_(policy), slots_(n_slots), index_(static_cast<size_t>(n_layer) * n_expert, kNone) {
  for (int64_t i = static_cast<int64_t>(n_slots) - 1; i >= 0; --i) free_.push_back(i);
}

void ExpertCache::Unlink(int64_t i) {
  Slot& s = slots_[i];
  if (s.prev != kNone) slots_[s.prev].next = s.next; else head_ = s.next;
  if (s.next != kNone) slots_[s.next].prev = s.prev; else tail_ = s.prev;
  s.prev = s.next = kNone;
}

void ExpertCache::PushFront(int64_t i) {
  Slot& s = slots_[i];
  s.prev = kNone;
  s.next = head_;
  if (head_ != kNone) slots_[head_].prev = i;
  head_ = i;
  if (tail_ == kNone) tail_ = i;
}

void ExpertCache::Touch(int64_t slot) {
  Slot& s = slots_[slot];
  s.last_use = ++clock_;
  if (s.freq < UINT32_MAX) ++s.freq;
  Unlink(slot);
  PushFront(slot);
}

int64_t ExpertCache::Victim() const {
  if (policy_ == CachePolicy::kLru) {
    for (int64_t i = tail_; i != kNone; i = slots_[i].prev) {
      if (Evictable(slots_[i])) return i;
    }
    return kNone;
  }
  // LFU with aging: the lowest frequency, the least recently used among equals.
  int64_t best = kNone;
  for (int64_t i = tail_; i != kNone; i = slots_[i].prev) {
    const Slot& s = slots_[i];
    if (!Evictable(s)) continue;
    if (best == kNone || s.freq < slots_[best].freq) best = i;
  }
  return best;
}

void ExpertCache::Age() {
  for (Slot& s : slots_) s.freq /= 2;
}

int64_t ExpertCache::Insert(ExpertKey key, bool* evicted, ExpertKey* evicted_key) {
  *evicted = false;
  int64_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = Victim();
    if (slot == kNone) return kNone;
    Slot& v = slots_[slot];
    *evicted = true;
    *evicted_key = v.key;
    index_[Index(v.key)] = kNone;
    Unlink(slot);
  }
  Slot& s = slots_[slot];
  s.key = key;
  s.used = true;
  s.loading = false;
  s.pins = 0;
  s.freq = 0;
  s.last_use = ++clock_;
  index_[Index(key)] = slot;
  PushFront(slot);
  if (policy_ == CachePolicy::kLfu && ++inserts_since_aging_ >= slots_.size()) {
    Age();
    inserts_since_aging_ = 0;
  }
  return slot;
}

void ExpertCache::Drop(int64_t slot) {
  Slot& s = slots_[slot];
  if (!s.used) return;
  index_[Index(s.key)] = kNone;
  Unlink(slot);
  s = Slot{};
  free_.push_back(slot);
}

}  // namespace st
