// KvCache: keys and values of every layer for up to n_seq independent sequences, F16 (default, as
// llama.cpp), F32 or Q8_0.
//
// Every sequence has its own rows. Global layers keep the whole context (slot = position).
// Sliding-window layers keep a ring of `capacity` slots (position p in slot p % capacity), with
// capacity = window + batch_size - 1 so that a batch's keys can all be stored before any of its
// queries attend (the last token's store never overwrites a key the first token still sees), or the
// whole context with `swa_full`.
//
// A ring slot is tagged with the position it holds. That is what makes rewinding exact: after a
// sequence has run past the window, its ring no longer holds the keys that a shorter prefix needs;
// Truncate refuses such a rewind with an error and KeepablePrefix says how much of a sequence can be
// kept (the caller re-evaluates the rest), so attention never reads keys of discarded tokens.
//
// Memory is reserved up front but becomes resident only as positions are written.
// Not thread-safe for writes; concurrent reads are fine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/ggml_type.h"
#include "kernels/kernel_table.h"
#include "model/model_config.h"
#include "smallthinker/status.h"
#include "util/anon_buffer.h"

namespace st {

enum class KvType { kF16, kF32, kQ8_0 };
const char* KvTypeName(KvType t);
// "f16", "f32", "q8_0" -> KvType; InvalidArgument otherwise.
Result<KvType> ParseKvType(const std::string& name);

struct KvCacheOptions {
  uint32_t n_ctx = 4096;      // positions per sequence
  KvType type = KvType::kF16;
  uint32_t n_seq = 1;         // independent sequences
  uint32_t batch_size = 256;  // most tokens of one sequence in one batch (sizes the sliding rings)
  bool swa_full = false;      // sliding layers keep the whole context (every rewind is exact)
};

class KvCache {
 public:
  // Checks the options against the model (Q8_0 needs head dims that are multiples of 32).
  static Result<KvCache> Create(const ModelConfig& config, const KvCacheOptions& options, const KernelTable& kernels);
  KvCache(KvCache&&) = default;
  KvCache& operator=(KvCache&&) = default;
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  uint32_t n_ctx() const { return n_ctx_; }
  uint32_t n_seq() const { return n_seq_; }
  KvType type() const { return type_; }
  GgmlType storage_type() const;
  // Slots of layer il: n_ctx, or the ring's capacity on sliding layers.
  uint32_t Capacity(uint32_t il) const { return layers_[il].sliding ? ring_capacity_ : n_ctx_; }
  // The sliding window in positions (0: no sliding layers).
  uint32_t window() const { return window_; }
  // First position a query at `pos` may attend to on layer il.
  uint32_t FirstVisible(uint32_t il, uint32_t pos) const;

  // ---- sequences ----
  // Positions [0, SeqLength) of seq hold evaluated tokens.
  uint32_t SeqLength(uint32_t seq) const { return seqs_[seq].length; }
  // The largest m <= n such that Truncate(seq, m) succeeds: n when every sliding ring still holds
  // the window before position n (always without sliding layers or with swa_full), else 0.
  uint32_t KeepablePrefix(uint32_t seq, uint32_t n) const;
  // Forgets positions >= n of seq. FailedPrecondition (and nothing changes) when a sliding ring no
  // longer holds the keys that position n would attend to; n > SeqLength is InvalidArgument.
  Status Truncate(uint32_t seq, uint32_t n);
  // Positions [p0, p0 + count) of seq are about to be written (layer by layer): the ring slots are
  // tagged with them and the sequence grows. REQUIRES p0 == SeqLength(seq), p0 + count <= n_ctx,
  // count <= batch_size. If the evaluation then fails, AbortWrite forgets them (their ring slots
  // become empty: the positions they held before are gone from some layers already).
  void BeginWrite(uint32_t seq, uint32_t p0, uint32_t count);
  void AbortWrite(uint32_t seq, uint32_t p0, uint32_t count);

  // ---- rows ----
  // Stores k [K] and v [Kv] of (seq, pos) on layer il, converted to the storage type.
  void Store(uint32_t il, uint32_t seq, uint32_t pos, const float* k, const float* v);
  // Slot of position pos on layer il.
  uint32_t Slot(uint32_t il, uint32_t pos) const { return layers_[il].sliding ? pos % ring_capacity_ : pos; }
  // Raw rows for the attention kernels. Each KV head has its own contiguous rows, head-major
  // ([seq][head][slot][Dh]), so scoring one head streams one block of memory: slot s of KV head h
  // of (layer il, seq) holds Dh key (resp. Dv value) elements in the storage type at KeyAt (resp.
  // ValueAt); consecutive slots are key_stride() (resp. value_stride()) bytes apart.
  const uint8_t* KeyAt(uint32_t il, uint32_t seq, uint32_t h, uint32_t slot) const {
    return layers_[il].k.data() + ((static_cast<uint64_t>(seq) * n_head_kv_ + h) * Capacity(il) + slot) * key_stride_;
  }
  const uint8_t* ValueAt(uint32_t il, uint32_t seq, uint32_t h, uint32_t slot) const {
    return layers_[il].v.data() + ((static_cast<uint64_t>(seq) * n_head_kv_ + h) * Capacity(il) + slot) * value_stride_;
  }
  uint64_t key_stride() const { return key_stride_; }
  uint64_t value_stride() const { return value_stride_; }

  // Positions [first, last] of layer il as at most two runs of consecutive slots, in position
  // order (a ring wraps at most once). REQUIRES last - first < Capacity(il).
  struct SlotRun {
    uint32_t first_slot = 0;
    uint32_t count = 0;
  };
  int Runs(uint32_t il, uint32_t first, uint32_t last, SlotRun runs[2]) const;

  uint64_t bytes() const;
  std::string Describe() const;  // "KV cache: 24.0 MiB (f16; 8 global layers x 4096 positions, ...)"

 private:
  KvCache() = default;
  struct Layer {
    bool masked = false;   // a sliding-window layer of the model
    bool sliding = false;  // ...stored in a ring (not with swa_full or a context within the ring)
    AnonymousBuffer k;  // [n_seq][n_head_kv][capacity][Dh] in storage type
    AnonymousBuffer v;  // [n_seq][n_head_kv][capacity][Dv]
  };
  struct Seq {
    uint32_t length = 0;
    std::vector<int64_t> ring_pos;  // [ring capacity] position each ring slot holds, -1 = none
  };
  // True when every sliding ring of seq holds positions [max(0, n - window + 1), n).
  bool HoldsWindowBefore(const Seq& s, uint32_t n) const;

  const KernelTable* kernels_ = nullptr;
  uint32_t n_ctx_ = 0, n_seq_ = 0, window_ = 0, ring_capacity_ = 0;
  bool has_sliding_ = false;
  KvType type_ = KvType::kF16;
  uint32_t n_head_kv_ = 0, head_dim_ = 0, value_dim_ = 0;
  uint64_t key_stride_ = 0, value_stride_ = 0;  // bytes of one head's key / value
  std::vector<Layer> layers_;
  std::vector<Seq> seqs_;
};

}  // namespace st
