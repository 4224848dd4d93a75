#include "format/gguf_value.h"

#include <fmt/format.h>

namespace st {

const char* GgufTypeName(GgufType t) {
  switch (t) {
    case GgufType::kUint8: return "u8";
    case GgufType::kInt8: return "i8";
    case GgufType::kUint16: return "u16";
    case GgufType::kInt16: return "i16";
    case GgufType::kUint32: return "u32";
    case GgufType::kInt32: return "i32";
    case GgufType::kFloat32: return "f32";
    case GgufType::kBool: return "bool";
    case GgufType::kString: return "string";
    case GgufType::kArray: return "array";
    case GgufType::kUint64: return "u64";
    case GgufType::kInt64: return "i64";
    case GgufType::kFloat64: return "f64";
  }
  return "unknown";
}

bool IsUnsignedType(GgufType t) {
  return t == GgufType::kUint8 || t == GgufType::kUint16 || t == GgufType::kUint32 ||
         t == GgufType::kUint64;
}

bool IsSignedType(GgufType t) {
  return t == GgufType::kInt8 || t == GgufType::kInt16 || t == GgufType::kInt32 ||
         t == GgufType::kInt64;
}

uint32_t GgufScalarSize(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool:
      return 1;
    case GgufType::kUint16:
    case GgufType::kInt16:
      return 2;
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kFloat32:
      return 4;
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kFloat64:
      return 8;
    case GgufType::kString:
    case GgufType::kArray:
      return 0;
  }
  return 0;
}

GgufValue GgufValue::StrArray(const std::vector<std::string>& items) {
  std::vector<GgufValue> v;
  v.reserve(items.size());
  for (const auto& s : items) v.push_back(Str(s));
  return Arr(GgufType::kString, std::move(v));
}

GgufValue GgufValue::I32Array(const std::vector<int32_t>& items) {
  std::vector<GgufValue> v;
  v.reserve(items.size());
  for (int32_t x : items) v.push_back(I32(x));
  return Arr(GgufType::kInt32, std::move(v));
}

GgufValue GgufValue::F32Array(const std::vector<float>& items) {
  std::vector<GgufValue> v;
  v.reserve(items.size());
  for (float x : items) v.push_back(F32(x));
  return Arr(GgufType::kFloat32, std::move(v));
}

std::string GgufValue::Describe() const {
  const char* tn = GgufTypeName(type_);
  if (IsUnsignedType(type_)) return fmt::format("{} {}", tn, as_uint());
  if (IsSignedType(type_)) return fmt::format("{} {}", tn, as_int());
  if (IsFloatType(type_)) return fmt::format("{} {}", tn, as_float());
  if (type_ == GgufType::kBool) return fmt::format("bool {}", as_bool());
  if (type_ == GgufType::kString) {
    const std::string& s = as_string();
    if (s.size() > 60) return fmt::format("string \"{}...\" ({} bytes)", s.substr(0, 60), s.size());
    return fmt::format("string \"{}\"", s);
  }
  const Array& a = as_array();
  return fmt::format("array<{}>[{}]", GgufTypeName(a.elem_type), a.items.size());
}

}  // namespace st
