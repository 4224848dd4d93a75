#include "ggml_type.h"

#include <array>
#include <cctype>
#include <cstdlib>

namespace st {
namespace {

struct Entry {
  bool defined;
  GgmlTypeTraits traits;
};

constexpr std::array<Entry, kGgmlTypeIdLimit> MakeTable() {
  std::array<Entry, kGgmlTypeIdLimit> t{};
  auto set = [&t](GgmlType id, const char* name, uint32_t bs, uint32_t ts) {
    t[static_cast<uint32_t>(id)] = Entry{true, GgmlTypeTraits{name, bs, ts}};
  };
  set(GgmlType::kF32, "f32", 1, 4);
  set(GgmlType::kF16, "f16", 1, 2);
  set(GgmlType::kQ4_0, "q4_0", 32, 18);
  set(GgmlType::kQ4_1, "q4_1", 32, 20);
  set(GgmlType::kQ5_0, "q5_0", 32, 22);
  set(GgmlType::kQ5_1, "q5_1", 32, 24);
  set(GgmlType::kQ8_0, "q8_0", 32, 34);
  set(GgmlType::kQ8_1, "q8_1", 32, 36);
  set(GgmlType::kQ2_K, "q2_k", 256, 84);
  set(GgmlType::kQ3_K, "q3_k", 256, 110);
  set(GgmlType::kQ4_K, "q4_k", 256, 144);
  set(GgmlType::kQ5_K, "q5_k", 256, 176);
  set(GgmlType::kQ6_K, "q6_k", 256, 210);
  set(GgmlType::kQ8_K, "q8_k", 256, 292);
  set(GgmlType::kIQ2_XXS, "iq2_xxs", 256, 66);
  set(GgmlType::kIQ2_XS, "iq2_xs", 256, 74);
  set(GgmlType::kIQ3_XXS, "iq3_xxs", 256, 98);
  set(GgmlType::kIQ1_S, "iq1_s", 256, 50);
  set(GgmlType::kIQ4_NL, "iq4_nl", 32, 18);
  set(GgmlType::kIQ3_S, "iq3_s", 256, 110);
  set(GgmlType::kIQ2_S, "iq2_s", 256, 82);
  set(GgmlType::kIQ4_XS, "iq4_xs", 256, 136);
  set(GgmlType::kI8, "i8", 1, 1);
  set(GgmlType::kI16, "i16", 1, 2);
  set(GgmlType::kI32, "i32", 1, 4);
  set(GgmlType::kI64, "i64", 1, 8);
  set(GgmlType::kF64, "f64", 1, 8);
  set(GgmlType::kIQ1_M, "iq1_m", 256, 56);
  set(GgmlType::kBF16, "bf16", 1, 2);
  set(GgmlType::kTQ1_0, "tq1_0", 256, 54);
  set(GgmlType::kTQ2_0, "tq2_0", 256, 66);
  set(GgmlType::kMXFP4, "mxfp4", 32, 17);
  return t;
}

constexpr std::array<Entry, kGgmlTypeIdLimit> kTable = MakeTable();

}  // namespace

std::optional<GgmlTypeTraits> GgmlTypeTraitsOf(uint32_t type_id) {
  if (type_id >= kGgmlTypeIdLimit || !kTable[type_id].defined) return std::nullopt;
  return kTable[type_id].traits;
}

const GgmlTypeTraits& TraitsOf(GgmlType t) {
  const uint32_t id = static_cast<uint32_t>(t);
  if (id >= kGgmlTypeIdLimit || !kTable[id].defined) std::abort();
  return kTable[id].traits;
}

std::optional<GgmlType> ParseGgmlType(const std::string& name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (uint32_t id = 0; id < kGgmlTypeIdLimit; ++id) {
    if (kTable[id].defined && lower == kTable[id].traits.name) return static_cast<GgmlType>(id);
  }
  return std::nullopt;
}

bool IsComputeType(GgmlType t) {
  switch (t) {
    case GgmlType::kF32:
    case GgmlType::kF16:
    case GgmlType::kBF16:
    case GgmlType::kQ8_0:
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
    case GgmlType::kQ6_K:
      return true;
    default:
      return false;
  }
}

}  // namespace st
