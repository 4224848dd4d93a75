// KvCache: keys and values of every layer, F16 (default, as llama.cpp) or F32.
//
// Global layers keep the whole context (n_ctx positions). Sliding-window layers keep only the last
// `window` positions in a ring buffer: position p lives in slot p % capacity. Not thread-safe for
// writes; concurrent reads of distinct layers are fine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/model_config.h"

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
  // Positions layer il can hold: n_ctx, or min(window, n_ctx) on sliding layers.
  uint32_t Capacity(uint32_t il) const { return layers_[il].capacity; }
  // First position a query at `pos` may attend to on layer il.
  uint32_t FirstVisible(uint32_t il, uint32_t pos) const;

  // Stores k [K] and v [Kv] of position `pos` (converted to the storage type).
  void Store(uint32_t il, uint32_t pos, const float* k, const float* v);
  // Reads back the keys [K] / values [Kv] of position `pos`, as f32.
  void LoadKey(uint32_t il, uint32_t pos, float* k) const;
  void LoadValue(uint32_t il, uint32_t pos, float* v) const;

  uint64_t bytes() const;
  std::string Describe() const;  // "KV cache: 24.0 MiB (f16; 8 global layers x 4096, 24 sliding x 512)"

 private:
  struct Layer {
    uint32_t capacity = 0;
    bool sliding = false;
    std::vector<uint8_t> k;  // [capacity][K] in storage type
    std::vector<uint8_t> v;  // [capacity][Kv]
  };
  uint32_t n_ctx_;
  KvType type_;
  uint32_t k_dim_, v_dim_;
  std::vector<Layer> layers_;
};

}  // namespace st
