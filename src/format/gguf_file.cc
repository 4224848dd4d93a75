#include "format/gguf_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "util/checked_math.h"

namespace st {
namespace {

// Reads little-endian values from [pos, end) of the file. Every read is bounds-checked; a failed
// read returns an error that names what was being read and at which offset.
class Cursor {
 public:
  Cursor(const uint8_t* base, uint64_t size) : base_(base), size_(size) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  const uint8_t* Peek() const { return base_ + pos_; }
  void Skip(uint64_t n) { pos_ += n; }  // REQUIRES: Need(n) succeeded

  Status Need(uint64_t n, const std::string& what) const {
    if (n > remaining()) {
      return InvalidFile(fmt::format("truncated file: reading {} at offset {} needs {} bytes, only {} left",
                                     what, pos_, n, remaining()));
    }
    return Status::Ok();
  }

  template <typename T>
  Status Read(T* out, const std::string& what) {
    ST_RETURN_IF_ERROR(Need(sizeof(T), what));
    std::memcpy(out, base_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::Ok();
  }

  // A GGUF string: u64 length, then that many bytes (not NUL-terminated).
  Status ReadString(std::string* out, const std::string& what, uint64_t max_len) {
    uint64_t len = 0;
    ST_RETURN_IF_ERROR(Read(&len, what + " length"));
    if (len > remaining()) {
      return InvalidFile(fmt::format("{}: string length {} at offset {} runs past the end of the file ({} bytes left)",
                                     what, len, pos_ - 8, remaining()));
    }
    if (len > max_len) {
      return InvalidFile(fmt::format("{}: string length {} exceeds the limit of {}", what, len, max_len));
    }
    out->assign(reinterpret_cast<const char*>(base_ + pos_), len);
    pos_ += len;
    return Status::Ok();
  }

 private:
  const uint8_t* base_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

// Smallest number of bytes a value of type `t` can occupy in the file; used to check element
// counts against the remaining bytes before allocating anything.
uint64_t MinEncodedSize(GgufType t) {
  if (t == GgufType::kString) return 8;
  if (t == GgufType::kArray) return 12;  // elem type + count
  return GgufScalarSize(t);
}

Status ReadValue(Cursor& c, GgufType type, const std::string& what, uint32_t depth, GgufValue* out);

Status ReadScalar(Cursor& c, GgufType type, const std::string& what, GgufValue* out) {
  switch (type) {
    case GgufType::kUint8: { uint8_t v; ST_RETURN_IF_ERROR(c.Read(&v, what)); *out = GgufValue::Uint(type, v); return Status::Ok(); }
    case GgufType::kUint16: { uint16_t v; ST_RETURN_IF_ERROR(c.Read(&v, what)); *out = GgufValue::Uint(type, v); return Status::Ok(); }
    case GgufType::kUint32: { uint32_t v; ST_RETURN_IF_ERROR(c.Read(&v, what)); *out = GgufValue::Uint(type, v); return Status::Ok(); }
    case GgufType::kUint64: { uint64_t v; ST_RETURN_IF_ERROR(c.Read(&v, what)); *out = GgufValue::Uint(type, v); return Status::Ok(); }
    case GgufType::kInt8: { int8_t v; ST_RETURN_IF_ERROR(c.Read(&v, what)); *out = GgufValue::Int(type, v); return Status::Ok(); }
    case GgufType::kInt16: { int16_t v; ST_RETURN_IF_ERROR(c.Read(&v, what)); *out = GgufValue::Int(type, v); return Status::Ok(); }
    case GgufType::kInt32: { int32_t v; ST_RETURN_IF_ERROR(c.Read(&v, what)); *out = GgufValue::Int(type, v); return Status::Ok(); }
    case GgufType::kInt64: { int64_t v; ST_RETURN_IF_ERROR(c.Read(&v, what)); *out = GgufValue::Int(type, v); return Status::Ok(); }
    case GgufType::kFloat32: { float v; ST_RETURN_IF_ERROR(c.Read(&v, what)); *out = GgufValue::F32(v); return Status::Ok(); }
    case GgufType::kFloat64: { double v; ST_RETURN_IF_ERROR(c.Read(&v, what)); *out = GgufValue::F64(v); return Status::Ok(); }
    case GgufType::kBool: {
      uint8_t v;
      ST_RETURN_IF_ERROR(c.Read(&v, what));
      if (v > 1) return InvalidFile(fmt::format("{}: bool value must be 0 or 1, got {}", what, v));
      *out = GgufValue::Bool(v != 0);
      return Status::Ok();
    }
    case GgufType::kString: {
      std::string s;
      ST_RETURN_IF_ERROR(c.ReadString(&s, what, std::numeric_limits<uint64_t>::max()));
      *out = GgufValue::Str(std::move(s));
      return Status::Ok();
    }
    case GgufType::kArray:
      break;
  }
  return Internal("ReadScalar on array");
}

Status ReadArray(Cursor& c, const std::string& what, uint32_t depth, GgufValue* out) {
  if (depth >= kGgufMaxArrayDepth) {
    return InvalidFile(fmt::format("{}: arrays nested deeper than {} levels", what, kGgufMaxArrayDepth));
  }
  uint32_t elem_raw = 0;
  ST_RETURN_IF_ERROR(c.Read(&elem_raw, what + " element type"));
  if (elem_raw >= kGgufTypeCount) {
    return InvalidFile(fmt::format("{}: unknown array element type {} (valid: 0..{})", what, elem_raw, kGgufTypeCount - 1));
  }
  const auto elem = static_cast<GgufType>(elem_raw);
  uint64_t count = 0;
  ST_RETURN_IF_ERROR(c.Read(&count, what + " element count"));
  const uint64_t min_size = MinEncodedSize(elem);
  if (count > c.remaining() / min_size) {
    const auto need = CheckedMul(count, min_size);
    return InvalidFile(fmt::format("{}: array of {} {} elements at offset {} needs {} bytes, only {} left in the file "
                                   "(truncated file or corrupt count)",
                                   what, count, GgufTypeName(elem), c.pos() - 12,
                                   need ? fmt::format("at least {}", *need) : std::string("more than 2^64"),
                                   c.remaining()));
  }
  GgufValue::Array arr;
  arr.elem_type = elem;
  if (elem == GgufType::kString) {
    arr.Reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      std::string str;
      ST_RETURN_IF_ERROR(c.ReadString(&str, what, std::numeric_limits<uint64_t>::max()));
      arr.AppendString(std::move(str));
    }
  } else if (elem == GgufType::kArray) {
    arr.Reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      GgufValue v;
      ST_RETURN_IF_ERROR(ReadArray(c, what, depth + 1, &v));
      arr.AppendArray(std::move(v));
    }
  } else {
    // Scalars: copied as they are (the count was checked against the bytes left above).
    const uint64_t bytes = count * min_size;
    ST_RETURN_IF_ERROR(c.Need(bytes, what + " elements"));
    const uint8_t* p = c.Peek();
    if (elem == GgufType::kBool) {
      for (uint64_t i = 0; i < count; ++i) {
        if (p[i] > 1) return InvalidFile(fmt::format("{}: bool element {} must be 0 or 1, got {}", what, i, p[i]));
      }
    }
    arr.AppendRaw(p, bytes);
    c.Skip(bytes);
  }
  *out = GgufValue::FromArray(std::move(arr));
  return Status::Ok();
}

Status ReadValue(Cursor& c, GgufType type, const std::string& what, uint32_t depth, GgufValue* out) {
  if (type == GgufType::kArray) return ReadArray(c, what, depth, out);
  return ReadScalar(c, type, what, out);
}

}  // namespace

std::string GgufTensorInfo::ShapeString() const {
  std::string s = "{";
  for (uint32_t i = 0; i < n_dims; ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "}";
}

Result<GgufFile> GgufFile::Open(const std::string& path) {
  ST_ASSIGN_OR_RETURN(MappedFile m, MappedFile::Open(path));
  GgufFile f;
  f.name_ = path;
  f.mapping_ = std::make_unique<MappedFile>(std::move(m));
  f.base_ = f.mapping_->data();
  f.size_ = f.mapping_->size();
  Status s = f.Parse();
  if (!s.ok()) return s.WithContext("'" + path + "'");
  return f;
}

Result<GgufFile> GgufFile::FromBytes(const uint8_t* data, uint64_t size, const std::string& name) {
  GgufFile f;
  f.name_ = name;
  f.owned_ = std::make_unique<std::vector<uint8_t>>(data, data + size);
  f.base_ = f.owned_->data();
  f.size_ = size;
  Status s = f.Parse();
  if (!s.ok()) return s.WithContext("'" + name + "'");
  return f;
}

Status GgufFile::Parse() {
  Cursor c(base_, size_);

  // Header: magic, version, counts.
  uint32_t magic = 0;
  ST_RETURN_IF_ERROR(c.Read(&magic, "magic"));
  if (magic != kGgufMagic) {
    char shown[5] = {0, 0, 0, 0, 0};
    std::memcpy(shown, &magic, 4);
    for (char& ch : shown) {
      if (ch != 0 && (ch < 32 || ch > 126)) ch = '?';
    }
    return InvalidFile(fmt::format("not a GGUF file: magic is 0x{:08x} (\"{}\"), expected 0x{:08x} (\"GGUF\")",
                                   magic, shown, kGgufMagic));
  }
  ST_RETURN_IF_ERROR(c.Read(&version_, "version"));
  if (version_ != 0 && (version_ & 0xffff) == 0) {
    // A big-endian writer stores 3 as 0x03000000; no little-endian version has zero low bits.
    return Unsupported(fmt::format("big-endian GGUF file (version field 0x{:08x}); only little-endian files are supported",
                                   version_));
  }
  if (version_ == 1 || version_ == 2) {
    return Unsupported(fmt::format("GGUF version {} is not supported; expected version {} (re-convert the model with a current converter)",
                                   version_, kGgufVersion));
  }
  if (version_ != kGgufVersion) {
    return Unsupported(fmt::format("GGUF version {} is not supported; expected version {}", version_, kGgufVersion));
  }
  uint64_t n_tensors = 0, n_kv = 0;
  ST_RETURN_IF_ERROR(c.Read(&n_tensors, "tensor count"));
  ST_RETURN_IF_ERROR(c.Read(&n_kv, "metadata key/value count"));
  // Each KV needs at least a key length (8), a type (4) and a 1-byte value; each tensor info at
  // least a name length (8), n_dims (4), one dim (8), a type (4) and an offset (8).
  if (n_kv > c.remaining() / 13) {
    return InvalidFile(fmt::format("metadata key/value count {} is impossible: the rest of the file ({} bytes) can hold at most {} "
                                   "(truncated file or corrupt count)",
                                   n_kv, c.remaining(), c.remaining() / 13));
  }
  if (n_tensors > c.remaining() / 32) {
    return InvalidFile(fmt::format("tensor count {} is impossible: the rest of the file ({} bytes) can hold at most {} "
                                   "(truncated file or corrupt count)",
                                   n_tensors, c.remaining(), c.remaining() / 32));
  }

  // Metadata.
  kv_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key;
    ST_RETURN_IF_ERROR(c.ReadString(&key, fmt::format("key #{}", i), 65535));
    if (key.empty()) return InvalidFile(fmt::format("key #{} is an empty string", i));
    if (kv_index_.count(key)) return InvalidFile(fmt::format("duplicate metadata key '{}' (key #{})", key, i));
    uint32_t type_raw = 0;
    ST_RETURN_IF_ERROR(c.Read(&type_raw, "type of key '" + key + "'"));
    if (type_raw >= kGgufTypeCount) {
      return InvalidFile(fmt::format("key '{}': unknown value type {} (valid: 0..{})", key, type_raw, kGgufTypeCount - 1));
    }
    GgufValue v;
    ST_RETURN_IF_ERROR(ReadValue(c, static_cast<GgufType>(type_raw), "key '" + key + "'", 0, &v));
    kv_index_[key] = kv_.size();
    kv_.emplace_back(std::move(key), std::move(v));
  }

  // Alignment.
  if (const GgufValue* a = Find("general.alignment")) {
    if (!IsIntegerType(a->type())) {
      return InvalidFile(fmt::format("key 'general.alignment': expected u32, got {}", GgufTypeName(a->type())));
    }
    const uint64_t al = IsUnsignedType(a->type()) ? a->as_uint() : static_cast<uint64_t>(a->as_int());
    if (al == 0 || (al & (al - 1)) != 0 || al > (1u << 20)) {
      return InvalidFile(fmt::format("key 'general.alignment': {} is not a power of two in 1..1048576", a->Describe()));
    }
    alignment_ = static_cast<uint32_t>(al);
  }

  // Tensor directory.
  tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    ST_RETURN_IF_ERROR(c.ReadString(&t.name, fmt::format("name of tensor #{}", i), kGgufMaxTensorName));
    if (t.name.empty()) return InvalidFile(fmt::format("tensor #{} has an empty name", i));
    const std::string what = "tensor '" + t.name + "'";
    if (tensor_index_.count(t.name)) return InvalidFile(fmt::format("duplicate tensor name '{}' (tensor #{})", t.name, i));
    ST_RETURN_IF_ERROR(c.Read(&t.n_dims, what + " n_dims"));
    if (t.n_dims == 0 || t.n_dims > kGgufMaxDims) {
      return InvalidFile(fmt::format("{}: n_dims is {}, expected 1..{}", what, t.n_dims, kGgufMaxDims));
    }
    for (uint32_t d = 0; d < t.n_dims; ++d) {
      ST_RETURN_IF_ERROR(c.Read(&t.ne[d], what + " dims"));
      if (t.ne[d] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return InvalidFile(fmt::format("{}: dimension {} is {}, which does not fit in int64", what, d, t.ne[d]));
      }
    }
    uint32_t type_raw = 0;
    ST_RETURN_IF_ERROR(c.Read(&type_raw, what + " type"));
    const auto traits = GgmlTypeTraitsOf(type_raw);
    if (!traits) return InvalidFile(fmt::format("{}: unknown tensor type {}", what, type_raw));
    t.type = static_cast<GgmlType>(type_raw);
    ST_RETURN_IF_ERROR(c.Read(&t.offset, what + " offset"));

    // Size, overflow-checked.
    std::optional<uint64_t> n = t.ne[0];
    for (uint32_t d = 1; d < kGgufMaxDims && n; ++d) n = CheckedMul(*n, t.ne[d]);
    if (!n || *n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return InvalidFile(fmt::format("{}: shape {} has more elements than fit in int64", what, t.ShapeString()));
    }
    if (t.ne[0] % traits->block_size != 0) {
      return InvalidFile(fmt::format("{}: first dimension {} is not a multiple of the {} block size {}",
                                     what, t.ne[0], traits->name, traits->block_size));
    }
    const auto bytes = CheckedMul(*n / traits->block_size, traits->type_size);
    if (!bytes) return InvalidFile(fmt::format("{}: byte size of shape {} overflows", what, t.ShapeString()));
    t.nbytes = *bytes;
    tensor_index_[t.name] = tensors_.size();
    tensors_.push_back(std::move(t));
  }

  // Data section: starts at the next multiple of the alignment.
  const auto data_off = CheckedAlignUp(c.pos(), alignment_);
  if (!data_off || *data_off > size_) {
    if (n_tensors == 0 && c.pos() == size_) {  // a metadata-only file may end without padding
      data_offset_ = size_;
      return Status::Ok();
    }
    return InvalidFile(fmt::format("truncated file: the data section should start at offset {} (alignment {}), but the file has {} bytes",
                                   data_off.value_or(0), alignment_, size_));
  }
  data_offset_ = *data_off;
  const uint64_t data_size = size_ - data_offset_;
  for (GgufTensorInfo& t : tensors_) {
    const std::string what = "tensor '" + t.name + "'";
    if (t.offset % alignment_ != 0) {
      return InvalidFile(fmt::format("{}: data offset {} is not a multiple of the alignment {}", what, t.offset, alignment_));
    }
    const auto end = CheckedAdd(t.offset, t.nbytes);
    if (!end || *end > data_size) {
      return InvalidFile(fmt::format("{}: data [{}, {}) lies outside the data section of {} bytes (file truncated or offset corrupt)",
                                     what, t.offset, end ? std::to_string(*end) : std::string("overflow"), data_size));
    }
    t.file_offset = data_offset_ + t.offset;
    t.data = base_ + t.file_offset;
  }
  // No two tensors may share bytes.
  std::vector<const GgufTensorInfo*> by_off;
  by_off.reserve(tensors_.size());
  for (const auto& t : tensors_) by_off.push_back(&t);
  std::sort(by_off.begin(), by_off.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_off.size(); ++i) {
    const auto* prev = by_off[i - 1];
    if (prev->nbytes > 0 && by_off[i]->offset < prev->offset + prev->nbytes) {
      return InvalidFile(fmt::format("tensor '{}' (offset {}) overlaps tensor '{}' (offset {}, {} bytes)",
                                     by_off[i]->name, by_off[i]->offset, prev->name, prev->offset, prev->nbytes));
    }
  }
  return Status::Ok();
}

const GgufValue* GgufFile::Find(const std::string& key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const GgufTensorInfo* GgufFile::FindTensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

Status MissingKey(const std::string& key) { return NotFound(fmt::format("missing required key '{}'", key)); }

Status WrongType(const std::string& key, const char* expected, const GgufValue& v) {
  return InvalidFile(fmt::format("key '{}': expected {}, got {}", key, expected, v.Describe()));
}

Result<uint64_t> AsUint(const std::string& key, const GgufValue& v) {
  if (IsUnsignedType(v.type())) return v.as_uint();
  if (IsSignedType(v.type())) {
    if (v.as_int() < 0) return InvalidFile(fmt::format("key '{}': expected a non-negative integer, got {}", key, v.Describe()));
    return static_cast<uint64_t>(v.as_int());
  }
  return WrongType(key, "an unsigned integer", v);
}

Result<double> AsFloat(const std::string& key, const GgufValue& v) {
  if (IsFloatType(v.type())) return v.as_float();
  return WrongType(key, "a float (f32)", v);
}

}  // namespace

Result<uint64_t> GgufFile::GetUint(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return MissingKey(key);
  return AsUint(key, *v);
}

Result<int64_t> GgufFile::GetInt(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return MissingKey(key);
  if (IsSignedType(v->type())) return v->as_int();
  if (IsUnsignedType(v->type())) {
    if (v->as_uint() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return InvalidFile(fmt::format("key '{}': value {} does not fit in int64", key, v->as_uint()));
    }
    return static_cast<int64_t>(v->as_uint());
  }
  return WrongType(key, "an integer", *v);
}

Result<double> GgufFile::GetFloat(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return MissingKey(key);
  return AsFloat(key, *v);
}

Result<bool> GgufFile::GetBool(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return MissingKey(key);
  if (v->type() != GgufType::kBool) return WrongType(key, "bool", *v);
  return v->as_bool();
}

Result<std::string> GgufFile::GetString(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return MissingKey(key);
  if (v->type() != GgufType::kString) return WrongType(key, "string", *v);
  return v->as_string();
}

Result<const GgufValue::Array*> GgufFile::GetArray(const std::string& key, GgufType elem_type) const {
  const GgufValue* v = Find(key);
  if (!v) return MissingKey(key);
  if (v->type() != GgufType::kArray || v->as_array().elem_type != elem_type) {
    return WrongType(key, fmt::format("array<{}>", GgufTypeName(elem_type)).c_str(), *v);
  }
  return &v->as_array();
}

Result<std::optional<uint64_t>> GgufFile::GetOptionalUint(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return std::optional<uint64_t>();
  ST_ASSIGN_OR_RETURN(uint64_t u, AsUint(key, *v));
  return std::optional<uint64_t>(u);
}

Result<std::optional<double>> GgufFile::GetOptionalFloat(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return std::optional<double>();
  ST_ASSIGN_OR_RETURN(double f, AsFloat(key, *v));
  return std::optional<double>(f);
}

Result<std::optional<bool>> GgufFile::GetOptionalBool(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return std::optional<bool>();
  if (v->type() != GgufType::kBool) return WrongType(key, "bool", *v);
  return std::optional<bool>(v->as_bool());
}

Result<std::optional<std::string>> GgufFile::GetOptionalString(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return std::optional<std::string>();
  if (v->type() != GgufType::kString) return WrongType(key, "string", *v);
  return std::optional<std::string>(v->as_string());
}

}  // namespace st
