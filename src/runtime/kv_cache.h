// KvCache: keys and values of every layer, F16 (default, as llama.cpp) or F32.
//
// Global layers keep the whole context (n_ctx positions). Sliding-window layers keep only the last
// `window` positions in a ring buffer: position p lives in slot p % capacity. Memory is reserved up
// front but becomes resident only as positions are written.
//
// Not thread-safe for writes; concurrent reads are fine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/ggml_type.h"
#include "model/model_config.h"
#include "util/anon_buffer.h"

namespace st {

enum class KvType { kF16, kF32 };
const char* KvTypeName(KvType t);

class KvCache {
 public:
  KvCache(const ModelConfig& config, uint32_t n_ctx, KvType type);
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  uint32_t n_ctx() const { return n_ctx_; }
  KvType type() const { return type_; }
  GgmlType storage_type() const { return type_ == KvType::kF16 ? GgmlType::kF16 : GgmlType::kF32; }
  // Positions layer il can hold: n_ctx, or min(window, n_ctx) on sliding layers.
  uint32_t Capacity(uint32_t il) const { return layers_[il].capacity; }
  // First position a query at `pos` may attend to on layer il.
  uint32_t FirstVisible(uint32_t il, uint32_t pos) const;

  // Stores k [K] and v [Kv] of position `pos` (converted to the storage type).
  void Store(uint32_t il, uint32_t pos, const float* k, const float* v);

  // Raw rows for the attention kernels: slot s of layer il holds K (resp. Kv) elements at
  // KeyRow(il, s) (resp. ValueRow); consecutive slots are key_row_bytes() apart.
  const uint8_t* KeyRow(uint32_t il, uint32_t slot) const { return layers_[il].k.data() + slot * key_row_bytes_; }
  const uint8_t* ValueRow(uint32_t il, uint32_t slot) const { return layers_[il].v.data() + slot * value_row_bytes_; }
  uint64_t key_row_bytes() const { return key_row_bytes_; }
  uint64_t value_row_bytes() const { return value_row_bytes_; }

  // The positions [first, pos] a query at `pos` sees, as at most two runs of consecutive slots, in
  // position order (a ring buffer wraps once).
  struct SlotRun {
    uint32_t first_slot = 0;
    uint32_t count = 0;
  };
  int VisibleRuns(uint32_t il, uint32_t pos, SlotRun runs[2]) const;

  uint64_t bytes() const;
  std::string Describe() const;  // "KV cache: 24.0 MiB (f16; 8 global layers x 4096, 24 sliding x 512)"

 private:
  struct Layer {
    uint32_t capacity = 0;
    bool sliding = false;
    AnonymousBuffer k;  // [capacity][K] in storage type
    AnonymousBuffer v;  // [capacity][Kv]
  };
  uint32_t n_ctx_;
  KvType type_;
  uint32_t k_dim_, v_dim_;
  uint64_t key_row_bytes_, value_row_bytes_;
  std::vector<Layer> layers_;
};

}  // namespace st
