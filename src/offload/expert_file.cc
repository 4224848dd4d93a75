#include "offload/expert_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace st {
namespace {

constexpr char kMagic[8] = {'S', 'T', 'E', 'X', 'P', 'R', 'T', '1'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kHeaderBytes = 4096;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t n_layer;
  uint32_t n_expert;
  uint32_t reserved;
  uint64_t matrix_bytes[3];
  uint64_t block_bytes;
  uint64_t data_offset;
  uint64_t model_size;
  uint64_t fingerprint;
};

uint64_t Fnv(uint64_t h, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

// Identifies the model's experts without reading them all: the expert tensors' directory entries
// and their first 64 bytes.
uint64_t Fingerprint(const Model& model) {
  uint64_t h = 1469598103934665603ull;
  for (const auto& t : model.file().tensors()) {
    if (t.name.find("_exps.weight") == std::string::npos) continue;
    h = Fnv(h, t.name.data(), t.name.size());
    h = Fnv(h, &t.type, sizeof(t.type));
    h = Fnv(h, t.ne.data(), sizeof(t.ne));
    h = Fnv(h, &t.offset, sizeof(t.offset));
    h = Fnv(h, t.data, std::min<uint64_t>(64, t.nbytes));
  }
  return h;
}

Header MakeHeader(const Model& model, const ExpertLayout& layout) {
  Header hd{};
  std::memcpy(hd.magic, kMagic, 8);
  hd.version = kVersion;
  hd.n_layer = layout.n_layer();
  hd.n_expert = layout.n_expert();
  for (int m = 0; m < 3; ++m) hd.matrix_bytes[m] = layout.MatrixBytes(m);
  hd.block_bytes = layout.ExpertFileBlockBytes();
  hd.data_offset = kHeaderBytes;
  hd.model_size = model.file().file_size();
  hd.fingerprint = Fingerprint(model);
  return hd;
}

Status PreadAll(int fd, uint8_t* dst, uint64_t size, uint64_t offset, const std::string& path) {
  uint64_t done = 0;
  while (done < size) {
    const ssize_t n = pread(fd, dst + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return IoError(fmt::format("'{}': read of {} bytes at offset {} failed: {}", path, size, offset,
                                 n < 0 ? std::strerror(errno) : "unexpected end of file"));
    }
    done += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Status WriteExpertFile(const Model& model, const std::string& path) {
  const ExpertLayout layout = ExpertLayout::FromGguf(model);
  const Header hd = MakeHeader(model, layout);
  const std::string tmp = path + ".tmp";
  const std::string& src_path = model.file().path();
  const int src = ::open(src_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) return IoError(fmt::format("'{}': cannot open: {}", src_path, std::strerror(errno)));
  std::FILE* out = std::fopen(tmp.c_str(), "wb");
  if (out == nullptr) {
    ::close(src);
    return IoError(fmt::format("'{}': cannot create: {}", tmp, std::strerror(errno)));
  }
  Status status;
  std::vector<uint8_t> block(hd.block_bytes);
  std::vector<uint8_t> header(kHeaderBytes, 0);
  std::memcpy(header.data(), &hd, sizeof(hd));
  if (std::fwrite(header.data(), 1, header.size(), out) != header.size()) status = IoError(fmt::format("'{}': write failed: {}", tmp, std::strerror(errno)));
  for (uint32_t il = 0; il < hd.n_layer && status.ok(); ++il) {
    for (uint32_t e = 0; e < hd.n_expert && status.ok(); ++e) {
      std::fill(block.begin(), block.end(), 0);
      const auto ranges = layout.Ranges(il, e);
      for (int m = 0; m < 3 && status.ok(); ++m) {
        status = PreadAll(src, block.data() + layout.ExpertFileMatrixOffset(m), ranges[m].size, ranges[m].offset, src_path);
      }
      if (status.ok() && std::fwrite(block.data(), 1, block.size(), out) != block.size()) {
        status = IoError(fmt::format("'{}': write failed: {}", tmp, std::strerror(errno)));
      }
    }
    // Do not leave the whole model in the page cache behind us.
    posix_fadvise(src, 0, 0, POSIX_FADV_DONTNEED);
  }
  ::close(src);
  if (std::fflush(out) != 0 || fsync(fileno(out)) != 0) {
    if (status.ok()) status = IoError(fmt::format("'{}': flush failed: {}", tmp, std::strerror(errno)));
  }
  posix_fadvise(fileno(out), 0, 0, POSIX_FADV_DONTNEED);
  if (std::fclose(out) != 0 && status.ok()) status = IoError(fmt::format("'{}': close failed: {}", tmp, std::strerror(errno)));
  if (status.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    status = IoError(fmt::format("cannot rename '{}' to '{}': {}", tmp, path, std::strerror(errno)));
  }
  if (!status.ok()) std::remove(tmp.c_str());
  return status;
}

Result<uint64_t> ValidateExpertFile(const Model& model, const ExpertLayout& layout, const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound(fmt::format("expert file '{}' does not exist", path));
    return IoError(fmt::format("expert file '{}': cannot open: {}", path, std::strerror(errno)));
  }
  struct stat sb {};
  fstat(fd, &sb);
  Header got{};
  const ssize_t n = pread(fd, &got, sizeof(got), 0);
  ::close(fd);
  if (n != static_cast<ssize_t>(sizeof(got)) || std::memcmp(got.magic, kMagic, 8) != 0) {
    return InvalidFile(fmt::format("'{}' is not a smallthinker expert file (bad magic)", path));
  }
  if (got.version != kVersion) {
    return Unsupported(fmt::format("expert file '{}' has version {}, expected {}; delete it to rebuild", path, got.version, kVersion));
  }
  const Header want = MakeHeader(model, layout);
  if (got.n_layer != want.n_layer || got.n_expert != want.n_expert || got.block_bytes != want.block_bytes ||
      got.model_size != want.model_size || got.fingerprint != want.fingerprint ||
      std::memcmp(got.matrix_bytes, want.matrix_bytes, sizeof(want.matrix_bytes)) != 0 || got.data_offset != kHeaderBytes) {
    return InvalidFile(fmt::format("expert file '{}' was made for a different model than '{}' (fingerprint {:016x}, expected "
                                   "{:016x}); delete it to rebuild", path, model.file().path(), got.fingerprint, want.fingerprint));
  }
  const uint64_t expected = kHeaderBytes + static_cast<uint64_t>(want.n_layer) * want.n_expert * want.block_bytes;
  if (static_cast<uint64_t>(sb.st_size) != expected) {
    return InvalidFile(fmt::format("expert file '{}' has {} bytes, expected {} (truncated?); delete it to rebuild", path,
                                   static_cast<uint64_t>(sb.st_size), expected));
  }
  return kHeaderBytes;
}

}  // namespace st
