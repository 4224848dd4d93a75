// Overflow-checked arithmetic for sizes that come from untrusted files.
#pragma once

#include <cstdint>
#include <optional>

namespace st {

// a + b, or nullopt if it does not fit in uint64_t.
inline std::optional<uint64_t> CheckedAdd(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// a * b, or nullopt if it does not fit in uint64_t.
inline std::optional<uint64_t> CheckedMul(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// Rounds `v` up to a multiple of `align` (align > 0), or nullopt on overflow.
inline std::optional<uint64_t> CheckedAlignUp(uint64_t v, uint64_t align) {
  const uint64_t rem = v % align;
  if (rem == 0) return v;
  return CheckedAdd(v, align - rem);
}

}  // namespace st
