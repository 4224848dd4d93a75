// A GGUF metadata value: any scalar type, a string, or an array (arrays may nest).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace st {

// Value type ids, fixed by the GGUF format.
enum class GgufType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};
inline constexpr uint32_t kGgufTypeCount = 13;

const char* GgufTypeName(GgufType t);
bool IsUnsignedType(GgufType t);
bool IsSignedType(GgufType t);
inline bool IsIntegerType(GgufType t) { return IsUnsignedType(t) || IsSignedType(t); }
inline bool IsFloatType(GgufType t) { return t == GgufType::kFloat32 || t == GgufType::kFloat64; }
// Bytes of a scalar of this type in the file (0 for string and array).
uint32_t GgufScalarSize(GgufType t);

class GgufValue {
 public:
  // An array, stored compactly: scalar elements packed as in the file (so a crafted file cannot
  // make the parser allocate many times its own size), strings as strings, nested arrays as values.
  class Array {
   public:
    GgufType elem_type = GgufType::kUint8;

    size_t size() const;
    // Element i as a value (a copy). REQUIRES: i < size().
    GgufValue At(size_t i) const;
    // Typed element access. REQUIRES: i < size() and the matching elem_type.
    const std::string& StringAt(size_t i) const { return strings_[i]; }
    const GgufValue& ArrayAt(size_t i) const { return arrays_[i]; }
    int64_t IntAt(size_t i) const;    // signed integer types
    uint64_t UintAt(size_t i) const;  // unsigned integer types
    double FloatAt(size_t i) const;   // f32, f64
    bool BoolAt(size_t i) const { return raw_[i] != 0; }

    // Building (the parser and the writer's callers).
    static Array Make(GgufType elem_type, const std::vector<GgufValue>& items);
    void AppendRaw(const uint8_t* bytes, size_t n) { raw_.insert(raw_.end(), bytes, bytes + n); }
    void AppendString(std::string s) { strings_.push_back(std::move(s)); }
    void AppendArray(GgufValue v) { arrays_.push_back(std::move(v)); }
    void Reserve(size_t n);
    const std::vector<uint8_t>& raw() const { return raw_; }  // packed scalar elements

   private:
    std::vector<uint8_t> raw_;
    std::vector<std::string> strings_;
    std::vector<GgufValue> arrays_;
  };

  GgufValue() : type_(GgufType::kUint8), v_(uint64_t{0}) {}

  static GgufValue Uint(GgufType t, uint64_t v) { return GgufValue(t, v); }  // kUint8..kUint64
  static GgufValue Int(GgufType t, int64_t v) { return GgufValue(t, v); }    // kInt8..kInt64
  static GgufValue U32(uint32_t v) { return GgufValue(GgufType::kUint32, uint64_t{v}); }
  static GgufValue I32(int32_t v) { return GgufValue(GgufType::kInt32, int64_t{v}); }
  static GgufValue U64(uint64_t v) { return GgufValue(GgufType::kUint64, v); }
  static GgufValue F32(float v) { return GgufValue(GgufType::kFloat32, double{v}); }
  static GgufValue F64(double v) { return GgufValue(GgufType::kFloat64, v); }
  static GgufValue Bool(bool v) { return GgufValue(GgufType::kBool, v); }
  static GgufValue Str(std::string v) { return GgufValue(GgufType::kString, std::move(v)); }
  static GgufValue Arr(GgufType elem_type, const std::vector<GgufValue>& items) {
    return GgufValue(GgufType::kArray, Array::Make(elem_type, items));
  }
  static GgufValue FromArray(Array a) { return GgufValue(GgufType::kArray, std::move(a)); }
  static GgufValue StrArray(const std::vector<std::string>& items);
  static GgufValue I32Array(const std::vector<int32_t>& items);
  static GgufValue F32Array(const std::vector<float>& items);

  GgufType type() const { return type_; }
  // Accessors REQUIRE the matching kind (callers check type() first; GgufFile's getters do).
  uint64_t as_uint() const { return std::get<uint64_t>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  bool as_bool() const { return std::get<bool>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }

  // A short human description for errors and dumps: `u32 42`, `string "qwen2"`, `array<string>[151936]`.
  std::string Describe() const;

 private:
  using Storage = std::variant<uint64_t, int64_t, double, bool, std::string, Array>;
  GgufValue(GgufType t, Storage v) : type_(t), v_(std::move(v)) {}
  GgufType type_;
  Storage v_;
};

}  // namespace st
