#include "format/gguf_value.h"

#include <fmt/format.h>

#include <cstring>

#include "util/escape.h"

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

size_t GgufValue::Array::size() const {
  if (elem_type == GgufType::kString) return strings_.size();
  if (elem_type == GgufType::kArray) return arrays_.size();
  const uint32_t n = GgufScalarSize(elem_type);
  return n ? raw_.size() / n : 0;
}

void GgufValue::Array::Reserve(size_t n) {
  if (elem_type == GgufType::kString) {
    strings_.reserve(n);
  } else if (elem_type == GgufType::kArray) {
    arrays_.reserve(n);
  } else {
    raw_.reserve(n * GgufScalarSize(elem_type));
  }
}

namespace {
template <typename T>
T LoadAt(const std::vector<uint8_t>& raw, size_t i) {
  T v;
  std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
  return v;
}
}  // namespace

int64_t GgufValue::Array::IntAt(size_t i) const {
  switch (elem_type) {
    case GgufType::kInt8: return LoadAt<int8_t>(raw_, i);
    case GgufType::kInt16: return LoadAt<int16_t>(raw_, i);
    case GgufType::kInt32: return LoadAt<int32_t>(raw_, i);
    case GgufType::kInt64: return LoadAt<int64_t>(raw_, i);
    default: return 0;
  }
}

uint64_t GgufValue::Array::UintAt(size_t i) const {
  switch (elem_type) {
    case GgufType::kUint8: return LoadAt<uint8_t>(raw_, i);
    case GgufType::kUint16: return LoadAt<uint16_t>(raw_, i);
    case GgufType::kUint32: return LoadAt<uint32_t>(raw_, i);
    case GgufType::kUint64: return LoadAt<uint64_t>(raw_, i);
    default: return 0;
  }
}

double GgufValue::Array::FloatAt(size_t i) const {
  if (elem_type == GgufType::kFloat32) return LoadAt<float>(raw_, i);
  if (elem_type == GgufType::kFloat64) return LoadAt<double>(raw_, i);
  return 0.0;
}

GgufValue GgufValue::Array::At(size_t i) const {
  if (IsUnsignedType(elem_type)) return Uint(elem_type, UintAt(i));
  if (IsSignedType(elem_type)) return Int(elem_type, IntAt(i));
  if (elem_type == GgufType::kFloat32) return F32(static_cast<float>(FloatAt(i)));
  if (elem_type == GgufType::kFloat64) return F64(FloatAt(i));
  if (elem_type == GgufType::kBool) return Bool(BoolAt(i));
  if (elem_type == GgufType::kString) return Str(strings_[i]);
  return arrays_[i];
}

GgufValue::Array GgufValue::Array::Make(GgufType elem_type, const std::vector<GgufValue>& items) {
  Array a;
  a.elem_type = elem_type;
  a.Reserve(items.size());
  for (const GgufValue& v : items) {
    switch (elem_type) {
      case GgufType::kString: a.strings_.push_back(v.as_string()); break;
      case GgufType::kArray: a.arrays_.push_back(v); break;
      case GgufType::kBool: a.raw_.push_back(v.as_bool() ? 1 : 0); break;
      case GgufType::kFloat32: {
        const float f = static_cast<float>(v.as_float());
        a.AppendRaw(reinterpret_cast<const uint8_t*>(&f), 4);
        break;
      }
      case GgufType::kFloat64: {
        const double d = v.as_float();
        a.AppendRaw(reinterpret_cast<const uint8_t*>(&d), 8);
        break;
      }
      default: {
        // Integers: little-endian, truncated to the element width.
        const uint64_t u = IsSignedType(elem_type) ? static_cast<uint64_t>(v.as_int()) : v.as_uint();
        a.AppendRaw(reinterpret_cast<const uint8_t*>(&u), GgufScalarSize(elem_type));
        break;
      }
    }
  }
  return a;
}

GgufValue GgufValue::StrArray(const std::vector<std::string>& items) {
  Array a;
  a.elem_type = GgufType::kString;
  a.Reserve(items.size());
  for (const auto& s : items) a.AppendString(s);
  return FromArray(std::move(a));
}

GgufValue GgufValue::I32Array(const std::vector<int32_t>& items) {
  Array a;
  a.elem_type = GgufType::kInt32;
  a.AppendRaw(reinterpret_cast<const uint8_t*>(items.data()), items.size() * 4);
  return FromArray(std::move(a));
}

GgufValue GgufValue::F32Array(const std::vector<float>& items) {
  Array a;
  a.elem_type = GgufType::kFloat32;
  a.AppendRaw(reinterpret_cast<const uint8_t*>(items.data()), items.size() * 4);
  return FromArray(std::move(a));
}

std::string GgufValue::Describe() const {
  const char* tn = GgufTypeName(type_);
  if (IsUnsignedType(type_)) return fmt::format("{} {}", tn, as_uint());
  if (IsSignedType(type_)) return fmt::format("{} {}", tn, as_int());
  if (IsFloatType(type_)) return fmt::format("{} {}", tn, as_float());
  if (type_ == GgufType::kBool) return fmt::format("bool {}", as_bool());
  if (type_ == GgufType::kString) {
    const std::string& s = as_string();
    // A file's string: escaped, so that printing a value cannot send control sequences.
    if (s.size() > 60) return fmt::format("string \"{}...\" ({} bytes)", EscapeForDisplay(s.substr(0, 60)), s.size());
    return fmt::format("string \"{}\"", EscapeForDisplay(s));
  }
  const Array& a = as_array();
  return fmt::format("array<{}>[{}]", GgufTypeName(a.elem_type), a.size());
}

}  // namespace st
