// A read-only memory map of a whole file. Move-only; unmaps on destruction.
//
// Thread-compatible: the mapping is immutable after Open, so concurrent reads are safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "smallthinker/status.h"

namespace st {

class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Maps `path` read-only. Errors name the path: missing, a directory, unreadable, empty.
  static Result<MappedFile> Open(const std::string& path);

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Advises the kernel that [offset, offset+len) will be needed soon / not needed any more.
  void WillNeed(uint64_t offset, uint64_t len) const;
  void DontNeed(uint64_t offset, uint64_t len) const;

 private:
  void Reset();
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  std::string path_;
};

}  // namespace st
