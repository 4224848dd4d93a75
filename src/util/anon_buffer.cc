#include "util/anon_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

namespace st {

Result<AnonymousBuffer> AnonymousBuffer::Allocate(size_t bytes) {
  AnonymousBuffer b;
  if (bytes == 0) return b;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    const int err = errno;
    const uint64_t total = MachineMemoryBytes();
    return ResourceExhausted(fmt::format("cannot reserve {} ({} bytes) of memory: {}; the machine has {}", HumanBytes(bytes),
                                         bytes, std::strerror(err),
                                         total > 0 ? HumanBytes(total) + " (MemTotal)" : std::string("an unknown amount")));
  }
  b.data_ = static_cast<uint8_t*>(p);
  b.size_ = bytes;
  return b;
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

uint64_t MachineMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  while (in >> key >> kib) {
    if (key == "MemTotal:") return kib * 1024;
    in.ignore(1 << 10, '\n');
  }
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return fmt::format("{} bytes", bytes);
  double v = static_cast<double>(bytes) / 1024;
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, kUnits[u]);
}

}  // namespace st
