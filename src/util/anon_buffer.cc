#include "util/anon_buffer.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>

namespace st {

AnonymousBuffer::AnonymousBuffer(size_t bytes) : size_(bytes) {
  if (bytes == 0) return;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::fprintf(stderr, "fatal: cannot reserve %zu bytes of memory\n", bytes);
    std::abort();
  }
  data_ = static_cast<uint8_t*>(p);
}

AnonymousBuffer::~AnonymousBuffer() {
  if (data_ != nullptr) munmap(data_, size_);
}

AnonymousBuffer& AnonymousBuffer::operator=(AnonymousBuffer&& o) noexcept {
  if (this != &o) {
    if (data_ != nullptr) munmap(data_, size_);
    data_ = o.data_;
    size_ = o.size_;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

}  // namespace st
