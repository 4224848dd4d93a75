// Tensor element types of the GGUF/ggml world: ids, block sizes, byte sizes.
//
// The ids are fixed by the file format. The table knows every type ggml has defined so that the
// GGUF reader can size any tensor; which ones the engine can compute with is a separate question
// (IsComputeType).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace st {

enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
};

inline constexpr uint32_t kGgmlTypeIdLimit = 40;  // ids are < this

struct GgmlTypeTraits {
  const char* name;     // "q4_0"
  uint32_t block_size;  // elements per block (1 for plain types)
  uint32_t type_size;   // bytes per block
};

// Traits of a type id read from a file, or nullopt for an id ggml never defined.
std::optional<GgmlTypeTraits> GgmlTypeTraitsOf(uint32_t type_id);

// Traits of a known type. REQUIRES: `t` is a defined enumerator.
const GgmlTypeTraits& TraitsOf(GgmlType t);

inline const char* GgmlTypeName(GgmlType t) { return TraitsOf(t).name; }

// Parses "q4_0", "Q4_0", "f16", "bf16", ... (any known name).
std::optional<GgmlType> ParseGgmlType(const std::string& name);

// Bytes of one row of `n` elements. REQUIRES: n % block_size == 0.
inline uint64_t RowBytes(GgmlType t, uint64_t n) {
  const GgmlTypeTraits& tr = TraitsOf(t);
  return n / tr.block_size * tr.type_size;
}

// Whether the engine has kernels for weights of this type.
bool IsComputeType(GgmlType t);

}  // namespace st
