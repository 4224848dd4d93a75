#include "util/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>

namespace st {

// ---- a truncated file under a live mapping ----
// Reading a page of a mapping past the end of its (since shrunk) file raises SIGBUS. The handler
// turns that into one clear line and exit code 4 instead of a crash. It only uses
// async-signal-safe calls; mappings register their ranges in a fixed table.
namespace {

constexpr int kMaxRegions = 64;
struct Region {
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};
  char path[512] = {};
};
Region g_regions[kMaxRegions];

void WriteAll(const char* s, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

void WriteStr(const char* s) { WriteAll(s, std::strlen(s)); }

void WriteNumber(uint64_t v) {
  char buf[24];
  int i = sizeof(buf);
  do {
    buf[--i] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0 && i > 0);
  WriteAll(buf + i, sizeof(buf) - i);
}

void OnBusError(int sig, siginfo_t* info, void*) {
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (const Region& r : g_regions) {
    const uintptr_t b = r.begin.load(std::memory_order_acquire), e = r.end.load(std::memory_order_acquire);
    if (b != 0 && addr >= b && addr < e) {
      WriteStr("error: the file '");
      WriteStr(r.path);
      WriteStr("' was truncated or replaced while in use (read past its end at offset ");
      WriteNumber(addr - b);
      WriteStr("); stopping\n");
      _exit(4);  // the engine's I/O error exit code
    }
  }
  // Not one of our mappings: the default action (a core dump, as without this handler).
  signal(sig, SIG_DFL);
  raise(sig);
}

void InstallBusHandlerOnce() {
  static const bool installed = [] {
    struct sigaction sa {};
    sa.sa_sigaction = OnBusError;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, nullptr);
    return true;
  }();
  (void)installed;
}

void RegisterRegion(const uint8_t* data, uint64_t size, const std::string& path) {
  InstallBusHandlerOnce();
  for (Region& r : g_regions) {
    uintptr_t expected = 0;
    if (r.begin.load() == 0 && r.end.load() == 0) {
      std::strncpy(r.path, path.c_str(), sizeof(r.path) - 1);
      r.end.store(reinterpret_cast<uintptr_t>(data) + size, std::memory_order_release);
      if (r.begin.compare_exchange_strong(expected, reinterpret_cast<uintptr_t>(data))) return;
      r.end.store(0);
    }
  }
  // Table full: that mapping is simply not covered (the default SIGBUS action applies).
}

void UnregisterRegion(const uint8_t* data) {
  for (Region& r : g_regions) {
    if (r.begin.load() == reinterpret_cast<uintptr_t>(data)) {
      r.begin.store(0, std::memory_order_release);
      r.end.store(0, std::memory_order_release);
    }
  }
}

}  // namespace

MappedFile::~MappedFile() { Reset(); }

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(other.data_), size_(other.size_), path_(std::move(other.path_)) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = other.data_;
    size_ = other.size_;
    path_ = std::move(other.path_);
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void MappedFile::Reset() {
  if (data_ != nullptr) {
    UnregisterRegion(data_);
    munmap(const_cast<uint8_t*>(data_), size_);
  }
  data_ = nullptr;
  size_ = 0;
}

Result<MappedFile> MappedFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return NotFound("'" + path + "': no such file");
    return IoError("'" + path + "': cannot open: " + std::strerror(err));
  }
  struct stat sb {};
  if (fstat(fd, &sb) != 0) {
    const int err = errno;
    ::close(fd);
    return IoError("'" + path + "': cannot stat: " + std::strerror(err));
  }
  if (S_ISDIR(sb.st_mode)) {
    ::close(fd);
    return InvalidArgument("'" + path + "' is a directory, not a file");
  }
  if (!S_ISREG(sb.st_mode)) {
    ::close(fd);
    return InvalidArgument("'" + path + "' is not a regular file");
  }
  if (sb.st_size == 0) {
    ::close(fd);
    return InvalidFile("'" + path + "' is empty (0 bytes)");
  }
  const uint64_t size = static_cast<uint64_t>(sb.st_size);
  void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);
  if (p == MAP_FAILED) return IoError("'" + path + "': mmap failed: " + std::strerror(err));
  MappedFile f;
  f.data_ = static_cast<const uint8_t*>(p);
  f.size_ = size;
  f.path_ = path;
  RegisterRegion(f.data_, size, path);
  return f;
}

void MappedFile::WillNeed(uint64_t offset, uint64_t len) const {
  if (data_ == nullptr || offset >= size_) return;
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t start = offset / page * page;
  const uint64_t end = std::min<uint64_t>(size_, offset + len);
  madvise(const_cast<uint8_t*>(data_) + start, end - start, MADV_WILLNEED);
}

void MappedFile::DontNeed(uint64_t offset, uint64_t len) const {
  if (data_ == nullptr || offset >= size_) return;
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t start = offset / page * page;
  const uint64_t end = std::min<uint64_t>(size_, offset + len);
  madvise(const_cast<uint8_t*>(data_) + start, end - start, MADV_DONTNEED);
}

}  // namespace st
