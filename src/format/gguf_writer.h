// GgufWriter: writes GGUF v3 files, streaming tensor data so that multi-GB models never sit in
// memory. Usage: set metadata, declare every tensor, WriteHeader(), then WriteTensorData() for
// each tensor in declaration order, then Finish().
//
// Not thread-safe. The writer trusts its caller (it writes what it is told, even a wrongly typed
// key), which is what tests need to build malformed files on purpose.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "format/gguf_value.h"
#include "kernels/ggml_type.h"
#include "smallthinker/status.h"
#include "util/output_file.h"

namespace st {

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t alignment = 32) : alignment_(alignment) {}
  ~GgufWriter();
  GgufWriter(const GgufWriter&) = delete;
  GgufWriter& operator=(const GgufWriter&) = delete;

  // Sets (or replaces) a metadata value; keys keep their first insertion order.
  void Set(const std::string& key, GgufValue value);
  void Remove(const std::string& key);

  // Declares a tensor. `ne` is fastest-varying first (PyTorch [out, in] -> {in, out}).
  void AddTensor(const std::string& name, GgmlType type, std::vector<uint64_t> ne);

  // Starts `path` and writes header, metadata and tensor directory. The file is written to a
  // temporary beside `path` and renamed over it by Finish, so a failed or abandoned write (an error,
  // a full disk, an exception) never leaves a truncated GGUF or empties an existing one.
  Status WriteHeader(const std::string& path);
  // Writes the next declared tensor's bytes; `size` must equal its byte size.
  Status WriteTensorData(const void* data, uint64_t size);
  // Checks every tensor was written, flushes, closes and renames the temporary onto the path.
  Status Finish();

  // Bytes of a declared tensor (for callers that build data incrementally).
  uint64_t TensorBytes(size_t index) const;
  size_t tensor_count() const { return tensors_.size(); }

 private:
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<uint64_t> ne;
    uint64_t offset = 0;
  };
  Status Write(const void* p, uint64_t n);
  Status Pad();
  void WriteValue(std::vector<uint8_t>& out, const GgufValue& v) const;

  uint32_t alignment_;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Tensor> tensors_;
  size_t next_tensor_ = 0;
  uint64_t written_ = 0;
  uint64_t data_start_ = 0;
  OutputFile out_;   // the temporary until Finish commits it (discarded by the destructor)
  std::string path_;
};

}  // namespace st
