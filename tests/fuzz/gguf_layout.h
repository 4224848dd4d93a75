// GgufLayout: where every structural piece of a VALID GGUF v3 file lies, found by walking its bytes
// independently of GgufFile, so tests can cut or patch a file exactly at (or inside) a boundary.
// Only for files the tests generated themselves: the walk trusts the bytes (it is not a validator).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "format/gguf_value.h"

namespace st::testing {

// One metadata key/value: [start, key_end) the key string (u64 length + bytes), [key_end,
// type_end) the u32 value type, [type_end, end) the value.
struct KvSpan {
  std::string key;
  GgufType type;
  uint64_t start = 0, key_end = 0, type_end = 0, end = 0;
};

// One tensor info: [start, name_end) the name string, then u32 n_dims at name_end, the dims,
// u32 type at type_at, u64 offset at offset_at; end is one past the offset.
struct TensorSpan {
  std::string name;
  uint32_t n_dims = 0;
  uint64_t start = 0, name_end = 0, dims_at = 0, type_at = 0, offset_at = 0, end = 0;
};

struct GgufLayout {
  static constexpr uint64_t kTensorCountAt = 8;
  static constexpr uint64_t kKvCountAt = 16;
  static constexpr uint64_t kHeaderEnd = 24;
  std::vector<KvSpan> kvs;
  std::vector<TensorSpan> tensors;
  uint64_t directory_end = 0;  // end of the last tensor info (before alignment padding)

  const KvSpan* Kv(const std::string& key) const {
    for (const auto& kv : kvs) {
      if (kv.key == key) return &kv;
    }
    return nullptr;
  }
  const TensorSpan* Tensor(const std::string& name) const {
    for (const auto& t : tensors) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }
};

namespace layout_internal {

template <typename T>
T Get(const std::string& b, uint64_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof(T));
  return v;
}

inline uint64_t SkipValue(const std::string& b, GgufType t, uint64_t at) {
  if (t == GgufType::kString) return at + 8 + Get<uint64_t>(b, at);
  if (t == GgufType::kArray) {
    const auto elem = static_cast<GgufType>(Get<uint32_t>(b, at));
    const uint64_t n = Get<uint64_t>(b, at + 4);
    at += 12;
    for (uint64_t i = 0; i < n; ++i) at = SkipValue(b, elem, at);
    return at;
  }
  return at + GgufScalarSize(t);
}

}  // namespace layout_internal

// REQUIRES: `b` holds a valid GGUF v3 file.
inline GgufLayout ScanGgufLayout(const std::string& b) {
  using layout_internal::Get;
  GgufLayout l;
  const uint64_t n_tensors = Get<uint64_t>(b, GgufLayout::kTensorCountAt);
  const uint64_t n_kv = Get<uint64_t>(b, GgufLayout::kKvCountAt);
  uint64_t at = GgufLayout::kHeaderEnd;
  for (uint64_t i = 0; i < n_kv; ++i) {
    KvSpan kv;
    kv.start = at;
    const uint64_t len = Get<uint64_t>(b, at);
    kv.key = b.substr(at + 8, len);
    kv.key_end = at + 8 + len;
    kv.type = static_cast<GgufType>(Get<uint32_t>(b, kv.key_end));
    kv.type_end = kv.key_end + 4;
    kv.end = layout_internal::SkipValue(b, kv.type, kv.type_end);
    at = kv.end;
    l.kvs.push_back(kv);
  }
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorSpan t;
    t.start = at;
    const uint64_t len = Get<uint64_t>(b, at);
    t.name = b.substr(at + 8, len);
    t.name_end = at + 8 + len;
    t.n_dims = Get<uint32_t>(b, t.name_end);
    t.dims_at = t.name_end + 4;
    t.type_at = t.dims_at + 8ull * t.n_dims;
    t.offset_at = t.type_at + 4;
    t.end = t.offset_at + 8;
    at = t.end;
    l.tensors.push_back(t);
  }
  l.directory_end = at;
  return l;
}

// Overwrites sizeof(T) bytes of `b` at `at` with `v` (little-endian host).
template <typename T>
void Poke(std::string& b, uint64_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof(T));
}

}  // namespace st::testing
