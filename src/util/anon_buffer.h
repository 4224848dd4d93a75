// AnonymousBuffer: a zero-filled, page-aligned block of anonymous memory whose pages become
// resident only when first written. Large buffers that fill gradually (the KV cache, the expert
// cache) then cost resident memory only for what is used. Move-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "smallthinker/status.h"

namespace st {

class AnonymousBuffer {
 public:
  AnonymousBuffer() = default;
  // Reserves `bytes` (0 gives an empty buffer). Errors: the address space cannot be reserved
  // (ResourceExhausted; the message gives the size asked for and the machine's memory). A size
  // from a user's -c or --parallel can be anything, so this is an error, not an abort.
  static Result<AnonymousBuffer> Allocate(size_t bytes);
  ~AnonymousBuffer();
  AnonymousBuffer(AnonymousBuffer&& o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  AnonymousBuffer& operator=(AnonymousBuffer&& o) noexcept;
  AnonymousBuffer(const AnonymousBuffer&) = delete;
  AnonymousBuffer& operator=(const AnonymousBuffer&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// The machine's physical memory in bytes (/proc/meminfo's MemTotal, else sysconf), 0 if unknown.
uint64_t MachineMemoryBytes();

// "1.5 GiB", "512.0 MiB", "3.0 KiB", "17 bytes": sizes in error messages.
std::string HumanBytes(uint64_t bytes);

}  // namespace st
