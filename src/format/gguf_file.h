// GgufFile: a parsed, validated GGUF v3 file (little-endian), memory-mapped.
//
// Open() checks everything before anything is used: every count and string length against the
// bytes left, every array nesting level, every tensor's dims, type, size and byte range against the
// data section, alignment, duplicate keys and names, and overlapping tensors. Errors name the key or
// tensor, with the expected and actual values. GGUF v1/v2 and big-endian files are refused.
//
// Immutable after Open: thread-compatible, safe to read from many threads.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "format/gguf_value.h"
#include "kernels/ggml_type.h"
#include "smallthinker/status.h"
#include "util/mapped_file.h"

namespace st {

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as little-endian u32
inline constexpr uint32_t kGgufVersion = 3;
inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr uint32_t kGgufMaxDims = 4;
inline constexpr uint32_t kGgufMaxArrayDepth = 8;     // nesting limit for arrays of arrays
inline constexpr uint64_t kGgufMaxTensorName = 256;   // bytes; ggml itself allows 63

struct GgufTensorInfo {
  std::string name;
  uint32_t n_dims = 0;
  std::array<uint64_t, kGgufMaxDims> ne{1, 1, 1, 1};  // fastest-varying first; unused dims are 1
  GgmlType type = GgmlType::kF32;
  uint64_t offset = 0;         // relative to the data section
  uint64_t nbytes = 0;         // validated: offset + nbytes <= data section size
  uint64_t file_offset = 0;    // absolute offset in the file
  const uint8_t* data = nullptr;  // into the mapping

  uint64_t NumElements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  std::string ShapeString() const;  // "{1536, 151936}"
};

class GgufFile {
 public:
  GgufFile(GgufFile&&) noexcept = default;
  GgufFile& operator=(GgufFile&&) noexcept = default;

  // Maps and parses `path`. Errors are prefixed with the path.
  static Result<GgufFile> Open(const std::string& path);
  // Parses bytes held in memory (copied); `name` is used in errors. For tests and the fuzzer.
  static Result<GgufFile> FromBytes(const uint8_t* data, uint64_t size, const std::string& name);

  const std::string& path() const { return name_; }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return size_; }
  const uint8_t* base() const { return base_; }
  const MappedFile* mapping() const { return mapping_.get(); }

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* Find(const std::string& key) const;
  bool Has(const std::string& key) const { return Find(key) != nullptr; }

  // Typed getters. Missing key: NotFound naming the key. Wrong type: InvalidFile naming the key,
  // the expected and the actual type. Integers of any width are accepted when the value fits.
  Result<uint64_t> GetUint(const std::string& key) const;
  Result<int64_t> GetInt(const std::string& key) const;
  Result<double> GetFloat(const std::string& key) const;  // f32 or f64
  Result<bool> GetBool(const std::string& key) const;
  Result<std::string> GetString(const std::string& key) const;
  // The array under `key`, whose elements must have type `elem_type`.
  Result<const GgufValue::Array*> GetArray(const std::string& key, GgufType elem_type) const;
  // Optional keys: nullopt if absent, an error if present with the wrong type.
  Result<std::optional<uint64_t>> GetOptionalUint(const std::string& key) const;
  Result<std::optional<double>> GetOptionalFloat(const std::string& key) const;
  Result<std::optional<bool>> GetOptionalBool(const std::string& key) const;
  Result<std::optional<std::string>> GetOptionalString(const std::string& key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* FindTensor(const std::string& name) const;

 private:
  GgufFile() = default;
  Status Parse();

  std::string name_;
  std::unique_ptr<MappedFile> mapping_;        // when opened from a path
  std::unique_ptr<std::vector<uint8_t>> owned_;  // when built from bytes
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  uint32_t version_ = 0;
  uint32_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace st
