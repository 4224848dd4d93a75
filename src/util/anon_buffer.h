// AnonymousBuffer: a zero-filled, page-aligned block of anonymous memory whose pages become
// resident only when first written. Large buffers that fill gradually (the KV cache, the expert
// cache) then cost resident memory only for what is used. Move-only.
#pragma once

#include <cstddef>
#include <cstdint>

namespace st {

class AnonymousBuffer {
 public:
  AnonymousBuffer() = default;
  // Aborts if the address space cannot be reserved (the size was planned beforehand).
  explicit AnonymousBuffer(size_t bytes);
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

}  // namespace st
