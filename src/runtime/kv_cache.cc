#include "runtime/kv_cache.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "util/half.h"

namespace st {

const char* KvTypeName(KvType t) { return t == KvType::kF16 ? "f16" : "f32"; }

namespace {

size_t ElemBytes(KvType t) { return t == KvType::kF16 ? 2 : 4; }

void Put(KvType t, const float* src, size_t n, uint8_t* dst) {
  if (t == KvType::kF32) {
    std::memcpy(dst, src, n * 4);
    return;
  }
  auto* d = reinterpret_cast<uint16_t*>(dst);
  for (size_t i = 0; i < n; ++i) d[i] = FloatToHalf(src[i]);
}

}  // namespace

KvCache::KvCache(const ModelConfig& c, uint32_t n_ctx, KvType type)
    : n_ctx_(n_ctx),
      type_(type),
      k_dim_(c.k_dim()),
      v_dim_(c.v_dim()),
      key_row_bytes_(c.k_dim() * ElemBytes(type)),
      value_row_bytes_(c.v_dim() * ElemBytes(type)),
      layers_(c.n_layer) {
  for (uint32_t il = 0; il < c.n_layer; ++il) {
    Layer& L = layers_[il];
    L.sliding = c.IsSlidingLayer(il);
    L.capacity = L.sliding ? std::min(c.sliding_window, n_ctx) : n_ctx;
    L.k = AnonymousBuffer(static_cast<size_t>(L.capacity) * key_row_bytes_);
    L.v = AnonymousBuffer(static_cast<size_t>(L.capacity) * value_row_bytes_);
  }
}

uint32_t KvCache::FirstVisible(uint32_t il, uint32_t pos) const {
  const Layer& L = layers_[il];
  if (!L.sliding) return 0;
  return pos + 1 >= L.capacity ? pos + 1 - L.capacity : 0;
}

void KvCache::Store(uint32_t il, uint32_t pos, const float* k, const float* v) {
  Layer& L = layers_[il];
  const size_t slot = pos % L.capacity;
  Put(type_, k, k_dim_, L.k.data() + slot * key_row_bytes_);
  Put(type_, v, v_dim_, L.v.data() + slot * value_row_bytes_);
}

int KvCache::VisibleRuns(uint32_t il, uint32_t pos, SlotRun runs[2]) const {
  const Layer& L = layers_[il];
  const uint32_t first = FirstVisible(il, pos);
  const uint32_t n = pos - first + 1;
  const uint32_t s0 = first % L.capacity;
  if (s0 + n <= L.capacity) {
    runs[0] = {s0, n};
    return 1;
  }
  runs[0] = {s0, L.capacity - s0};
  runs[1] = {0, n - (L.capacity - s0)};
  return 2;
}

uint64_t KvCache::bytes() const {
  uint64_t n = 0;
  for (const Layer& L : layers_) n += L.k.size() + L.v.size();
  return n;
}

std::string KvCache::Describe() const {
  uint32_t n_global = 0, n_sliding = 0, window = 0;
  for (const Layer& L : layers_) {
    if (L.sliding) {
      ++n_sliding;
      window = L.capacity;
    } else {
      ++n_global;
    }
  }
  std::string s = fmt::format("KV cache: {:.1f} MiB ({}; {} global layers x {} positions", bytes() / 1048576.0,
                              KvTypeName(type_), n_global, n_ctx_);
  if (n_sliding > 0) s += fmt::format(", {} sliding layers x {} (ring buffer)", n_sliding, window);
  return s + ")";
}

}  // namespace st
